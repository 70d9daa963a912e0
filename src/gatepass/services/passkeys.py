"""Passkeys (WebAuthn Level 2, https://www.w3.org/TR/webauthn-2/): registering one on the account page, and
logging in with one, as the second factor after a password or alone (passwordless, with user verification).

The ceremonies' cryptography is py_webauthn's. What is ours: each challenge is made here, kept as a digest,
bound to the browser that asked for it (the digest of a random cookie value), short-lived, and used once by
one conditional UPDATE, so a captured answer replayed is refused; the signature counter only moves forward
(WebAuthn §6.1.1), a counter that goes back is refused and audited; removed passkeys are kept as removed so
that a login under way with one is told what happened.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gatepass.protocol.oidc.authentication_context import AMR_MULTIPLE_FACTORS
from gatepass.protocol.tokens import token_digest
from gatepass.services import audit
from gatepass.services.accounts import AccountError, AccountService
from gatepass.services.crypto import InstanceKeys
from gatepass.services.second_factors import SecondFactorService
from gatepass.services.stores import NewPasskey, PasskeyRecord, PasskeyStore, UserRecord

if TYPE_CHECKING:
    from webauthn.helpers.structs import AuthenticationCredential, PublicKeyCredentialDescriptor


@functools.cache
def _lib() -> Any:
    """py_webauthn, imported at the first ceremony: it costs a worker 16 MiB that most deployments never use."""
    import webauthn
    from webauthn.helpers import bytes_to_base64url, parse_client_data_json
    from webauthn.helpers.exceptions import WebAuthnException
    from webauthn.helpers.parse_authentication_credential_json import parse_authentication_credential_json
    from webauthn.helpers.parse_registration_credential_json import parse_registration_credential_json
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        CredentialDeviceType,
        PublicKeyCredentialDescriptor,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    return SimpleNamespace(
        webauthn=webauthn,
        bytes_to_base64url=bytes_to_base64url,
        parse_client_data_json=parse_client_data_json,
        WebAuthnException=WebAuthnException,
        parse_authentication_credential_json=parse_authentication_credential_json,
        parse_registration_credential_json=parse_registration_credential_json,
        AuthenticatorSelectionCriteria=AuthenticatorSelectionCriteria,
        CredentialDeviceType=CredentialDeviceType,
        PublicKeyCredentialDescriptor=PublicKeyCredentialDescriptor,
        ResidentKeyRequirement=ResidentKeyRequirement,
        UserVerificationRequirement=UserVerificationRequirement,
    )


#: A ceremony's challenge lives this long: the browser's prompt, and a person finding their key.
CHALLENGE_SECONDS = 5 * 60
REGISTER, SECOND_FACTOR, PASSWORDLESS = "register", "second-factor", "passwordless"
NAME_MAX_LENGTH = 64
#: A passkey logs in without the password, so only a login this recent may add one from the account page: a
#: browser left logged in, or a stolen session, cannot give itself a lasting way in.
RECENT_LOGIN_SECONDS = 10 * 60
#: RFC 8176 §2: proof of possession of a hardware-bound key, or of a key that may leave the device (a passkey
#: synced by its provider says so by its backup-eligible flag).
AMR_HARDWARE_KEY, AMR_SOFTWARE_KEY = "hwk", "swk"

START_AGAIN = "Start again with the passkey button."
REPLAYED = "This passkey answer was used already: each one works once. " + START_AGAIN
UNKNOWN_CHALLENGE = "This passkey request is not known here or has expired. " + START_AGAIN
OTHER_BROWSER = "This passkey request was started in another browser or tab. " + START_AGAIN
UNKNOWN_PASSKEY = "This passkey is not registered here. Use another passkey, or log in with your password."
REMOVED_PASSKEY = "This passkey was removed from its account. Use another passkey, or log in with your password."
NOT_VERIFIED = (
    "Your passkey did not check that it was you (with its PIN, fingerprint or face), which logging in without "
    "a password requires. Try again and unlock it when asked, or log in with your password."
)
COUNTER_WENT_BACK = (
    "This passkey's signature counter went backwards, a sign that it may have been copied, so it was not "
    "accepted. Use another passkey or your password, and tell an administrator."
)
NOT_VALID = "The passkey's answer could not be verified. " + START_AGAIN
LOG_IN_AGAIN = "To add a passkey, log in again first: a passkey lets you in without your password."
LAST_FACTOR = (
    "Your account must use a second factor and this passkey is its last one, so it cannot be removed. "
    "Add another passkey or an authenticator app first."
)


class PasskeyRefused(AccountError):
    """A ceremony refused, with what to tell the person."""


@dataclass(frozen=True)
class PasskeyLogin:
    """Who a passkey proved to be, and how (the methods for the session's amr)."""

    user_id: int
    amr: tuple[str, ...]


def passkey_amr(passkey: PasskeyRecord) -> str:
    return AMR_SOFTWARE_KEY if passkey.is_backup_eligible else AMR_HARDWARE_KEY


def _credential_digest(credential_id: bytes) -> str:
    return hashlib.sha256(credential_id).hexdigest()


class PasskeyService:
    def __init__(
        self,
        store: PasskeyStore,
        second_factors: SecondFactorService,
        accounts: AccountService,
        keys: InstanceKeys,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
        *,
        issuer: str,
        rp_id: str,
        on_passkey_added: Callable[[int], None] = lambda user_id: None,
    ) -> None:
        self._store = store
        self._second_factors = second_factors
        self._accounts = accounts
        self._keys = keys
        self._audit = audit_log
        self._clock = clock
        #: The origin the browser reports in clientDataJSON: the issuer's scheme and host.
        parts = urlsplit(issuer)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._rp_id = rp_id
        self._on_passkey_added = on_passkey_added

    async def list_of(self, user_id: int) -> list[PasskeyRecord]:
        return await self._store.list_passkeys(user_id)

    def new_binding(self) -> str:
        """A random value the browser keeps in a cookie: the challenges it is given are bound to it."""
        return secrets.token_urlsafe(32)

    def _binding_digest(self, binding: str) -> str:
        return token_digest(self._keys.digest_key, f"passkey-binding:{binding}")

    def _challenge_digest(self, challenge: bytes) -> str:
        return token_digest(self._keys.digest_key, f"passkey-challenge:{_lib().bytes_to_base64url(challenge)}")

    def _user_handle(self, user_id: int) -> bytes:
        """WebAuthn §14.6.1: the user handle carries nothing personal; the same one for each of the user's keys."""
        return bytes.fromhex(token_digest(self._keys.digest_key, f"passkey-user:{user_id}"))[:32]

    async def _new_challenge(self, purpose: str, user_id: int | None, binding: str) -> bytes:
        challenge = secrets.token_bytes(32)
        expires_at = self._clock() + timedelta(seconds=CHALLENGE_SECONDS)
        await self._store.add_challenge(
            self._challenge_digest(challenge), self._binding_digest(binding), purpose, user_id, expires_at
        )
        return challenge

    async def _descriptors(self, user_id: int) -> list[PublicKeyCredentialDescriptor]:
        return [
            _lib().PublicKeyCredentialDescriptor(id=_lib().webauthn.base64url_to_bytes(passkey.credential_id))
            for passkey in await self._store.list_passkeys(user_id)
        ]

    # Registration, from the account page.

    def is_recent_login(self, auth_time: datetime) -> bool:
        return self._clock() - auth_time <= timedelta(seconds=RECENT_LOGIN_SECONDS)

    async def registration_options(self, user: UserRecord, binding: str) -> str:
        """Resident keys preferred (so the passkey can log in without a password), user verification
        preferred (security keys without a PIN still make a second factor), the user's keys excluded."""
        options = _lib().webauthn.generate_registration_options(
            rp_id=self._rp_id, rp_name=self._rp_id, user_name=user.email, user_display_name=user.email,
            user_id=self._user_handle(user.id), challenge=await self._new_challenge(REGISTER, user.id, binding),
            timeout=CHALLENGE_SECONDS * 1000,
            authenticator_selection=_lib().AuthenticatorSelectionCriteria(
                resident_key=_lib().ResidentKeyRequirement.PREFERRED,
                user_verification=_lib().UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=await self._descriptors(user.id),
        )  # fmt: skip
        return str(_lib().webauthn.options_to_json(options))

    async def register(
        self, user: UserRecord, credential_json: str, name: str, binding: str, *, ip: str | None
    ) -> PasskeyRecord:
        name = " ".join(name.split())[:NAME_MAX_LENGTH] or "Passkey"
        try:
            credential = _lib().parse_registration_credential_json(credential_json)
            challenge = _lib().parse_client_data_json(credential.response.client_data_json).challenge
        except (_lib().WebAuthnException, ValueError, TypeError, KeyError):
            raise PasskeyRefused(NOT_VALID, field="passkey") from None
        await self._consume(challenge, binding, REGISTER, user.id, ip=ip)
        try:
            verified = _lib().webauthn.verify_registration_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=self._rp_id,
                expected_origin=self._origin,
            )  # fmt: skip
        except _lib().WebAuthnException as error:
            await self._audit.record(audit.LOGIN_PASSKEY_FAILED, user_id=user.id, ip=ip, reason="registration")
            raise PasskeyRefused(NOT_VALID, field="passkey") from error
        added = NewPasskey(
            user_id=user.id, credential_digest=_credential_digest(verified.credential_id),
            credential_id=_lib().bytes_to_base64url(verified.credential_id),
            public_key=_lib().bytes_to_base64url(verified.credential_public_key), sign_count=verified.sign_count,
            transports=tuple(transport.value for transport in credential.response.transports or ()),
            aaguid=verified.aaguid,
            is_backup_eligible=verified.credential_device_type == _lib().CredentialDeviceType.MULTI_DEVICE,
            is_backed_up=verified.credential_backed_up, name=name,
        )  # fmt: skip
        if not await self._store.add_passkey(added, self._clock()):
            raise PasskeyRefused("This passkey is registered already.", field="passkey")
        await self._audit.record(audit.SECOND_FACTOR_ADDED, user_id=user.id, ip=ip, method="passkey", name=name)
        self._on_passkey_added(user.id)
        stored = await self._store.get_passkey(added.credential_digest)
        assert stored is not None
        return stored

    async def rename(self, user: UserRecord, passkey_id: int, name: str) -> None:
        name = " ".join(name.split())[:NAME_MAX_LENGTH]
        if not name:
            raise AccountError("Give the passkey a name, such as the device it is on.", field="name")
        if not await self._store.rename_passkey(user.id, passkey_id, name):
            raise AccountError("That passkey is not one of yours any more.", field="name")

    async def remove(self, user: UserRecord, passkey_id: int, *, ip: str | None) -> None:
        """Never the last second factor of a user the policy requires to have one."""
        left = await self._store.count_passkeys(user.id)
        is_last = left <= 1 and not await self._second_factors.has_totp(user.id)
        if is_last and await self._second_factors.is_required_for(user):
            raise AccountError(LAST_FACTOR, field="passkey")
        if not await self._store.remove_passkey(user.id, passkey_id, self._clock()):
            raise AccountError("That passkey is not one of yours any more.", field="passkey")
        await self._audit.record(audit.SECOND_FACTOR_REMOVED, user_id=user.id, ip=ip, method="passkey")

    # Logging in.

    async def login_options(self, user: UserRecord | None, binding: str) -> str:
        """For a second factor, the user's passkeys; passwordless, none named (the authenticator offers its
        discoverable ones) and user verification required, since the passkey is then both factors."""
        if user is None:
            challenge = await self._new_challenge(PASSWORDLESS, None, binding)
            options = _lib().webauthn.generate_authentication_options(
                rp_id=self._rp_id, challenge=challenge, timeout=CHALLENGE_SECONDS * 1000,
                user_verification=_lib().UserVerificationRequirement.REQUIRED,
            )  # fmt: skip
        else:
            challenge = await self._new_challenge(SECOND_FACTOR, user.id, binding)
            options = _lib().webauthn.generate_authentication_options(
                rp_id=self._rp_id, challenge=challenge, timeout=CHALLENGE_SECONDS * 1000,
                allow_credentials=await self._descriptors(user.id),
                user_verification=_lib().UserVerificationRequirement.PREFERRED,
            )  # fmt: skip
        return str(_lib().webauthn.options_to_json(options))

    async def authenticate(
        self, credential_json: str, binding: str, *, user: UserRecord | None, ip: str | None
    ) -> PasskeyLogin:
        """The passkey's answer to a challenge of this browser: for ``user``'s second step, or passwordless
        (``user`` None). Refusals say what happened; each is audited."""
        try:
            credential = _lib().parse_authentication_credential_json(credential_json)
            challenge = _lib().parse_client_data_json(credential.response.client_data_json).challenge
        except (_lib().WebAuthnException, ValueError, TypeError, KeyError):
            raise PasskeyRefused(NOT_VALID, field="passkey") from None
        purpose = PASSWORDLESS if user is None else SECOND_FACTOR
        await self._consume(challenge, binding, purpose, None if user is None else user.id, ip=ip)
        passkey, owner = await self._passkey_of(credential, user, ip)
        try:
            # The counter is checked below, against the stored one, once the signature is known to be good.
            verified = _lib().webauthn.verify_authentication_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=self._rp_id,
                expected_origin=self._origin,
                credential_public_key=_lib().webauthn.base64url_to_bytes(passkey.public_key),
                credential_current_sign_count=0,
            )  # fmt: skip
        except _lib().WebAuthnException:
            raise await self._refusal("signature", NOT_VALID, owner, ip) from None
        if user is None and not verified.user_verified:
            raise await self._refusal("not_verified", NOT_VERIFIED, owner, ip)
        now = self._clock()
        if not await self._store.use_passkey(passkey.id, verified.new_sign_count, verified.credential_backed_up, now):
            await self._audit.record(
                audit.PASSKEY_COUNTER_WENT_BACK, user_id=owner.id, ip=ip, passkey=passkey.name,
                stored=passkey.sign_count, presented=verified.new_sign_count,
            )  # fmt: skip
            raise await self._refusal("counter", COUNTER_WENT_BACK, owner, ip)
        await self._audit.record(audit.LOGIN_PASSKEY_SUCCEEDED, user_id=owner.id, ip=ip, purpose=purpose)
        method = passkey_amr(passkey)
        # The passkey with its user verification (a PIN or biometrics) is two factors on its own.
        return PasskeyLogin(owner.id, (method, AMR_MULTIPLE_FACTORS) if user is None else (method,))

    async def _passkey_of(
        self, credential: AuthenticationCredential, user: UserRecord | None, ip: str | None
    ) -> tuple[PasskeyRecord, UserRecord]:
        """The registered, not removed passkey that answered, and its enabled owner (``user`` when given)."""
        passkey = await self._store.get_passkey(_credential_digest(credential.raw_id))
        if passkey is None or (user is not None and passkey.user_id != user.id):
            raise await self._refusal("unknown", UNKNOWN_PASSKEY, user, ip)
        if passkey.removed_at is not None:
            raise await self._refusal("removed", REMOVED_PASSKEY, user, ip, owner_id=passkey.user_id)
        owner = user or await self._accounts.get_user(passkey.user_id)
        if owner is None or not owner.is_enabled:
            raise await self._refusal("unknown", UNKNOWN_PASSKEY, user, ip)
        # WebAuthn §7.2 step 6: the user handle, when the authenticator returns one, names the same user.
        handle = credential.response.user_handle
        if handle is not None and not secrets.compare_digest(handle, self._user_handle(owner.id)):
            raise await self._refusal("unknown", UNKNOWN_PASSKEY, owner, ip)
        return passkey, owner

    async def _refusal(
        self, reason: str, message: str, user: UserRecord | None, ip: str | None, *, owner_id: int | None = None
    ) -> PasskeyRefused:
        """Audited under the user logging in, else the passkey's owner when it is known; a bad signature or
        counter also counts against the lockout, as a wrong code does."""
        who = user.id if user is not None else owner_id
        await self._audit.record(audit.LOGIN_PASSKEY_FAILED, user_id=who, ip=ip, reason=reason)
        if user is not None and reason in ("signature", "counter"):
            await self._accounts.second_factor_failed(user, ip, reason=f"passkey_{reason}")
        return PasskeyRefused(message, field="passkey")

    async def _consume(
        self, challenge: bytes, binding: str, purpose: str, user_id: int | None, *, ip: str | None
    ) -> None:
        """Use the challenge up, whatever comes next: an answer is never verified twice."""
        found = await self._store.consume_challenge(self._challenge_digest(challenge), self._clock())
        if found is None or found.purpose != purpose or found.user_id != user_id:
            reason, message = "unknown_challenge", UNKNOWN_CHALLENGE
        elif found.used_at is not None:
            reason, message = "replayed", REPLAYED
        elif not secrets.compare_digest(found.binding_digest, self._binding_digest(binding)):
            reason, message = "other_browser", OTHER_BROWSER
        elif found.expires_at <= self._clock():
            reason, message = "expired", UNKNOWN_CHALLENGE
        else:
            return
        await self._audit.record(audit.LOGIN_PASSKEY_FAILED, user_id=user_id, ip=ip, reason=reason)
        raise PasskeyRefused(message, field="passkey")


__all__ = ["PasskeyLogin", "PasskeyRefused", "PasskeyService", "passkey_amr"]
