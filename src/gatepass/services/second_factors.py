"""Second factors: an authenticator app (TOTP) and single-use recovery codes, and who must have one.

The TOTP secret is kept encrypted with the instance key; codes are checked one step either side of now,
and each step is accepted once per user (RFC 6238 §5.2). Recovery codes carry 60 random bits each and
are stored as a keyed HMAC-SHA-256 digest, as tokens are: nothing a person chose, so nothing to guess
offline without the instance key, and checking one at login costs microseconds where argon2 would cost
tens of milliseconds for no gain.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gatepass.protocol.tokens import token_digest
from gatepass.services import audit, totp
from gatepass.services.accounts import SYSTEM_MANAGER, AccountError, AccountService
from gatepass.services.crypto import InstanceKeys
from gatepass.services.runtime import RuntimeSettingsService
from gatepass.services.stores import PasskeyStore, SecondFactorStore, UserRecord

RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
#: How long a started enrolment (the secret shown, not yet confirmed) and a half-done login stay usable.
ENROLMENT_SECONDS = 15 * 60
PENDING_LOGIN_SECONDS = 10 * 60
#: What each sealed value is for: one is never taken for the other.
_PENDING_LOGIN, _ENROLMENT = "second-factor-login", "second-factor-enrolment"
WRONG_CODE = "That code is not right. Enter the 6-digit code your app shows now, or one of your recovery codes."
REUSED_CODE = "That code was used already. Wait for your app to show the next one."


class TooManyAttempts(AccountError):
    """The user's email is locked out from this address for now, as after wrong passwords."""


@dataclass(frozen=True)
class Enrolment:
    """An authenticator app being added: what the page shows, and the sealed secret its form carries back."""

    secret: str
    uri: str
    qr_svg: str
    sealed: str


@dataclass(frozen=True)
class FactorStatus:
    has_totp: bool
    recovery_codes_left: int
    passkey_count: int
    #: Whether the policy requires this user to keep a second factor.
    is_required: bool


@dataclass(frozen=True)
class PendingLogin:
    """A login that passed its first factor and waits for the second (carried sealed by the browser)."""

    user_id: int
    amr: tuple[str, ...]


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _normalised(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()[:64]


class SecondFactorService:
    def __init__(
        self,
        store: SecondFactorStore,
        passkeys: PasskeyStore,
        accounts: AccountService,
        runtime: RuntimeSettingsService,
        keys: InstanceKeys,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
        *,
        issuer_name: str,
        on_factor_added: Callable[[int], None] = lambda user_id: None,
    ) -> None:
        self._store = store
        self._passkeys = passkeys
        self._accounts = accounts
        self._runtime = runtime
        self._keys = keys
        self._audit = audit_log
        self._clock = clock
        self._issuer_name = issuer_name
        #: Tells the user by mail that a factor was added, in case it was not them.
        self._on_factor_added = on_factor_added

    async def has_factor(self, user_id: int) -> bool:
        """An authenticator app or a passkey."""
        return await self.has_totp(user_id) or await self._passkeys.count_passkeys(user_id) > 0

    async def has_totp(self, user_id: int) -> bool:
        return await self._store.get_totp(user_id) is not None

    async def status(self, user: UserRecord) -> FactorStatus:
        return FactorStatus(
            has_totp=await self.has_totp(user.id),
            recovery_codes_left=await self._store.count_recovery_codes_left(user.id),
            passkey_count=await self._passkeys.count_passkeys(user.id),
            is_required=await self.is_required_for(user),
        )

    async def is_required_for(self, user: UserRecord) -> bool:
        """The runtime policy: nobody, everyone, holders of chosen roles, or (by default) System Managers once
        one of them has a second factor, so that a new instance's first admin is never locked out by it."""
        settings = await self._runtime.all()
        mode = settings["two_factor_required"]
        if mode == "everyone":
            return True
        if mode == "roles":
            return any(role in user.roles for role in settings["two_factor_roles"].split(", "))
        if mode == "admins":
            return SYSTEM_MANAGER in user.roles and await self._store.has_enrolled_user_with_role(SYSTEM_MANAGER)
        return False

    # Logging in: the first factor passed, the second is asked for on another page.

    def seal_pending_login(self, user: UserRecord, amr: tuple[str, ...]) -> str:
        return self._seal(_PENDING_LOGIN, user.id, amr=list(amr))

    def open_pending_login(self, sealed: str | None) -> PendingLogin | None:
        value = self._unseal(_PENDING_LOGIN, sealed or "", PENDING_LOGIN_SECONDS)
        if value is None or not isinstance(value.get("amr"), list):
            return None
        return PendingLogin(value["user"], tuple(str(method) for method in value["amr"]))

    def _seal(self, purpose: str, user_id: int, **value: object) -> str:
        return self._keys.seal(json.dumps({"purpose": purpose, "user": user_id, **value}), self._clock())

    def _unseal(self, purpose: str, sealed: str, max_age_seconds: int) -> dict[str, Any] | None:
        """What ``_seal`` sealed for ``purpose``; None when forged, expired, or sealed for another purpose (the
        browser carries other sealed values too, such as a pushed request's reference)."""
        if not sealed or len(sealed) > 1024:
            return None
        try:
            value = json.loads(self._keys.unseal(sealed, self._clock(), max_age_seconds=max_age_seconds))
        except ValueError:
            return None
        is_ours = isinstance(value, dict) and value.get("purpose") == purpose and isinstance(value.get("user"), int)
        return value if is_ours else None

    async def verify(self, user: UserRecord, code: str, *, ip: str | None) -> None:
        """A code from the user's app, or one of their recovery codes (used up); AccountError says why not.

        Locked out as password guesses are, and every failure counts and is audited.
        """
        wait = await self._accounts.second_factor_wait(user, ip)
        if wait is not None:
            raise TooManyAttempts(f"Too many failed attempts. Try again in {wait} seconds.", field="code")
        entered = _normalised(code)
        if not entered:
            raise AccountError("Enter the 6-digit code from your app, or a recovery code.", field="code")
        if entered.isdigit():
            outcome = await self._use_totp(user, entered)
        else:
            digest = self._recovery_digest(user.id, entered)
            outcome = "ok" if await self._store.use_recovery_code(user.id, digest, self._clock()) else "wrong"
        if outcome != "ok":
            await self._accounts.second_factor_failed(user, ip, reason=outcome)
            raise AccountError(REUSED_CODE if outcome == "reused" else WRONG_CODE, field="code")
        method = "totp" if entered.isdigit() else "recovery_code"
        await self._audit.record(audit.LOGIN_SECOND_FACTOR_SUCCEEDED, user_id=user.id, ip=ip, method=method)

    async def _use_totp(self, user: UserRecord, code: str) -> str:
        """ "ok", "wrong" or "reused": a step is taken by one conditional UPDATE, so a code works once."""
        record = await self._store.get_totp(user.id)
        if record is None or len(code) != totp.DIGITS:
            return "wrong"
        step = totp.matching_step(self._keys.decrypt(record.secret_encrypted), code, self._clock())
        if step is None:
            return "wrong"
        return "ok" if await self._store.use_totp_step(user.id, step) else "reused"

    # Enrolment: the secret is shown, then kept only once a first code proves the app has it.

    def begin_enrolment(self, user: UserRecord) -> Enrolment:
        secret = totp.new_secret()
        uri = totp.provisioning_uri(secret, account=user.email, issuer_name=self._issuer_name)
        sealed = self._seal(_ENROLMENT, user.id, secret=secret)
        return Enrolment(secret, uri, totp.qr_svg(uri), sealed)

    def resume_enrolment(self, user: UserRecord, sealed: str) -> Enrolment:
        """The same secret again, for the page shown after a wrong first code."""
        secret = self._enrolment_secret(user, sealed)
        uri = totp.provisioning_uri(secret, account=user.email, issuer_name=self._issuer_name)
        return Enrolment(secret, uri, totp.qr_svg(uri), sealed)

    def _enrolment_secret(self, user: UserRecord, sealed: str) -> str:
        value = self._unseal(_ENROLMENT, sealed, ENROLMENT_SECONDS)
        if value is None or not isinstance(value.get("secret"), str):
            raise AccountError("This setup page expired. Start again: scan the new code.", field="sealed")
        if value["user"] != user.id:
            raise AccountError("This setup page was for another account. Start again.", field="sealed")
        return str(value["secret"])

    async def confirm_enrolment(self, user: UserRecord, sealed: str, code: str, *, ip: str | None) -> tuple[str, ...]:
        """Keep the app's secret once ``code`` matches it; returns the new recovery codes, to be shown once."""
        secret = self._enrolment_secret(user, sealed)
        wait = await self._accounts.second_factor_wait(user, ip)
        if wait is not None:
            raise TooManyAttempts(f"Too many failed attempts. Try again in {wait} seconds.", field="code")
        step = totp.matching_step(secret, _normalised(code), self._clock())
        if step is None:
            await self._accounts.second_factor_failed(user, ip, reason="enrolment")
            raise AccountError(
                "That code does not match. Check that your app shows this account, then enter its current code.",
                field="code",
            )
        now = self._clock()
        await self._store.save_totp(user.id, self._keys.encrypt(secret), now)
        await self._store.use_totp_step(user.id, step)
        codes = await self._renew_recovery_codes(user.id)
        await self._audit.record(audit.SECOND_FACTOR_ADDED, user_id=user.id, ip=ip, method="totp")
        self._on_factor_added(user.id)
        return codes

    # Changes by the user, each proven by the password or a current code.

    async def regenerate_recovery_codes(self, user: UserRecord, proof: str, *, ip: str | None) -> tuple[str, ...]:
        await self._check_proof(user, proof, ip)
        codes = await self._renew_recovery_codes(user.id)
        await self._audit.record(audit.RECOVERY_CODES_RENEWED, user_id=user.id, ip=ip)
        return codes

    async def remove(self, user: UserRecord, proof: str, *, ip: str | None) -> None:
        # A passkey left is a second factor still: the app can go.
        if await self.is_required_for(user) and not await self._passkeys.count_passkeys(user.id):
            raise AccountError(
                "Two-factor login is required for your account, so it cannot be switched off. To move to a new "
                "phone, set up the new app first; if you lost it, log in with a recovery code or ask an admin.",
                field="proof",
            )
        await self._check_proof(user, proof, ip)
        await self._store.delete_factors(user.id)
        await self._audit.record(audit.SECOND_FACTOR_REMOVED, user_id=user.id, ip=ip, method="totp")

    async def _check_proof(self, user: UserRecord, proof: str, ip: str | None) -> None:
        if _normalised(proof).isdigit():
            await self.verify(user, proof, ip=ip)
            return
        wait = await self._accounts.second_factor_wait(user, ip)
        if wait is not None:
            raise TooManyAttempts(f"Too many failed attempts. Try again in {wait} seconds.", field="proof")
        if not await self._accounts.check_password(user, proof, ip):
            raise AccountError("Enter your password or a current code from your app to confirm.", field="proof")

    # Admins and the command line.

    async def reset(self, user: UserRecord) -> bool:
        """Remove every factor of ``user`` (a lost phone, lost recovery codes, lost passkeys); audited; whether
        any was."""
        had_any = await self._store.delete_factors(user.id)
        had_any = await self._passkeys.remove_passkeys(user.id, self._clock()) > 0 or had_any
        await self._audit.record(audit.FACTORS_RESET, user_id=user.id, had_factors=had_any)
        return had_any

    async def _renew_recovery_codes(self, user_id: int) -> tuple[str, ...]:
        codes = tuple(new_recovery_code() for _ in range(RECOVERY_CODE_COUNT))
        digests = tuple(self._recovery_digest(user_id, _normalised(code)) for code in codes)
        await self._store.replace_recovery_codes(user_id, digests, self._clock())
        return codes

    def _recovery_digest(self, user_id: int, normalised_code: str) -> str:
        return token_digest(self._keys.digest_key, f"recovery-code:{user_id}:{normalised_code}")
