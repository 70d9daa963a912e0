"""Logging in through another provider: login attempts, account linking, provisioning, role sync.

No HTTP here: gatepass.rp talks to the provider and hands over a checked ExternalProfile.
The rules:

* an attempt (state, nonce, PKCE verifier) is kept server-side, single use, for 10 minutes, and
  bound to the browser that started it by a random cookie (login CSRF, RFC 9700 §4.7);
* an account is found by (provider, subject); on first login an existing user is matched only by
  a verified email, else created when the provider allows sign-up; disabled users stay out;
* roles named in the provider's ``roles`` claim are mapped by the provider's explicit map
  (unmapped remote roles are ignored) and replace or merge on every login, with an audit event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from gatepass.protocol.tokens import constant_time_equals, new_token, token_digest
from gatepass.services import audit
from gatepass.services.accounts import AccountError, AccountService
from gatepass.services.crypto import InstanceKeys
from gatepass.services.providers import ProviderService
from gatepass.services.stores import (
    Conflict,
    ExternalIdentityStore,
    LoginAttemptStore,
    NewLoginAttempt,
    ProviderConfig,
    ProviderRecord,
    UserRecord,
)

#: How long a started "Log in with …" may take; long enough to log in and consent upstream.
LOGIN_ATTEMPT_TTL_SECONDS = 600


class SocialLoginError(Exception):
    """A failed "Log in with …", shown as a page that says what happened and what to do."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "social_login_failed"
    title: ClassVar[str] = "Logging in did not work"

    def __init__(
        self, message: str, *, fix: str = "", detail: str | None = None, callback_url: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        #: What the person (or their administrator) can do about it.
        self.fix = fix
        #: For the log only.
        self.detail = detail
        #: The redirect URI to register upstream, when that is the fix.
        self.callback_url = callback_url


class ProviderNotFound(SocialLoginError):
    status_code = 404
    code = "provider_not_found"
    title = "This login provider does not exist"


class LoginStateInvalid(SocialLoginError):
    code = "state_mismatch"
    title = "This login attempt cannot be completed"


class LoginExpired(SocialLoginError):
    code = "login_expired"
    title = "This login attempt has expired"


class SignupDisabled(SocialLoginError):
    status_code = 403
    code = "signup_disabled"
    title = "There is no account for you here yet"


class AccountDisabled(SocialLoginError):
    status_code = 403
    code = "account_disabled"
    title = "Your account is disabled"


class EmailNotVerified(SocialLoginError):
    status_code = 403
    code = "email_not_verified"
    title = "Your email address is not verified"


class ProfileIncomplete(SocialLoginError):
    status_code = 403
    code = "profile_incomplete"
    title = "The provider did not say who you are"


@dataclass(frozen=True)
class ExternalProfile:
    """Who the provider says the person is, after every check on the way in."""

    subject: str
    email: str | None
    is_email_verified: bool
    first_name: str = ""
    last_name: str = ""
    picture_url: str | None = None
    #: The provider's role names; None when it said nothing about roles (then nothing changes).
    roles: tuple[str, ...] | None = None
    #: How the provider says the person authenticated (its id_token's amr), as it sent it.
    upstream_amr: object = None


@dataclass(frozen=True)
class StartedAttempt:
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class ConsumedAttempt:
    nonce: str
    code_verifier: str
    next_url: str


def sync_roles(
    current: tuple[str, ...], remote: tuple[str, ...] | None, role_map: tuple[tuple[str, str], ...], mode: str
) -> tuple[str, ...]:
    """The user's local roles after a login.

    Only roles the map names are ever touched: ``replace`` makes the mapped local roles exactly
    those the provider sends now, ``merge`` only adds them, ``off`` changes nothing. Roles given
    locally that no map entry names are kept in every mode.
    """
    if mode == "off" or remote is None:
        return current
    remote_set = set(remote)
    granted = {local for name, local in role_map if name in remote_set}
    managed = {local for _, local in role_map}
    kept = set(current) if mode == "merge" else set(current) - managed
    return tuple(sorted(kept | granted))


class SocialLoginService:
    def __init__(
        self,
        providers: ProviderService,
        identities: ExternalIdentityStore,
        attempts: LoginAttemptStore,
        accounts: AccountService,
        keys: InstanceKeys,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
    ) -> None:
        self.providers = providers
        self._identities = identities
        self._attempts = attempts
        self._accounts = accounts
        self._keys = keys
        self._audit = audit_log
        self._clock = clock

    def _digest(self, purpose: str, value: str) -> str:
        return token_digest(self._keys.digest_key, f"{purpose}:{value}")

    async def enabled_provider(self, name: str) -> ProviderRecord:
        record = await self.providers.get(name)
        if record is None or not record.config.is_enabled:
            raise ProviderNotFound(
                f"No enabled login provider is named {name!r}.",
                fix="Go back to the login page and choose another way to log in.",
            )
        return record

    async def begin_attempt(self, provider: ProviderConfig, browser_binding: str, next_url: str) -> StartedAttempt:
        now = self._clock()
        started = StartedAttempt(state=new_token(), nonce=new_token(), code_verifier=new_token(48))
        await self._attempts.add_attempt(
            NewLoginAttempt(
                state_digest=self._digest("rp-state", started.state),
                provider_name=provider.name,
                browser_digest=self._digest("rp-browser", browser_binding),
                nonce=started.nonce,
                code_verifier_encrypted=self._keys.encrypt(started.code_verifier),
                next_url=next_url,
                created_at=now,
                expires_at=now + timedelta(seconds=LOGIN_ATTEMPT_TTL_SECONDS),
            )
        )
        return started

    async def consume_attempt(
        self, provider_name: str, state: str | None, browser_binding: str | None
    ) -> ConsumedAttempt:
        """The attempt this callback belongs to, used up; raises when it is not this browser's."""
        again = "Go back to the login page and start again."
        if not state or len(state) > 512:
            raise LoginStateInvalid("The provider sent your browser back without the login state.", fix=again)
        now = self._clock()
        record = await self._attempts.consume_attempt(self._digest("rp-state", state), now)
        if record is None or record.provider_name != provider_name:
            raise LoginStateInvalid(
                "The login state does not match a login started here, or it was already used "
                "(a reloaded or bookmarked page, or a changed link).",
                fix=again,
            )
        is_same_browser = browser_binding is not None and constant_time_equals(
            self._digest("rp-browser", browser_binding), record.browser_digest
        )
        if not is_same_browser:
            # RFC 9700 §4.7: a callback must complete only the login its own browser started.
            raise LoginStateInvalid("This login was started in another browser, or its cookie was removed.", fix=again)
        if record.expires_at <= now:
            minutes = LOGIN_ATTEMPT_TTL_SECONDS // 60
            raise LoginExpired(f"More than {minutes} minutes passed since this login started.", fix=again)
        return ConsumedAttempt(record.nonce, self._keys.decrypt(record.code_verifier_encrypted), record.next_url)

    async def sign_in(self, provider: ProviderRecord, profile: ExternalProfile, *, ip: str | None) -> UserRecord:
        """The local user for this provider account: linked, matched or created; roles synced."""
        try:
            user = await self._linked_user(provider, profile)
            if user is None:
                user = await self._match_or_create(provider, profile)
            if not user.is_enabled:
                raise AccountDisabled(
                    f"The account {user.email} is disabled on this server.",
                    fix="Ask an administrator of this server to enable it.",
                )
        except SocialLoginError as error:
            await self._audit.record(audit.SOCIAL_LOGIN_FAILED, ip=ip, provider=provider.config.name, reason=error.code)
            raise
        user = await self._sync_roles(provider.config, user, profile)
        await self._audit.record(audit.LOGIN_SUCCEEDED, user_id=user.id, ip=ip, provider=provider.config.name)
        return user

    async def _linked_user(self, provider: ProviderRecord, profile: ExternalProfile) -> UserRecord | None:
        identity = await self._identities.get_identity(provider.id, profile.subject)
        if identity is None:
            return None
        await self._identities.touch_identity(provider.id, profile.subject, profile.email, self._clock())
        return await self._accounts.users.get_user(identity.user_id)

    async def _match_or_create(self, provider: ProviderRecord, profile: ExternalProfile) -> UserRecord:
        config = provider.config
        name = config.display_name
        is_trusted = profile.is_email_verified or config.allow_unverified_email
        existing = await self._accounts.users.get_user_by_email(profile.email) if profile.email else None
        if existing is not None:
            if not is_trusted:
                raise EmailNotVerified(
                    f"{name} did not confirm that {profile.email} is yours, so it cannot be linked to the account "
                    "with that email here.",
                    fix=f"Verify your email address at {name}, then log in again.",
                )
            if not existing.is_enabled:
                raise AccountDisabled(
                    f"The account {existing.email} is disabled on this server.",
                    fix="Ask an administrator of this server to enable it.",
                )
            await self._link(provider, profile, existing, matched_by="verified_email")
            return existing
        if not config.allow_signup:
            raise SignupDisabled(
                f"Nobody with {'the email ' + profile.email if profile.email else 'this account'} has an account "
                f"here, and new accounts through {name} are turned off.",
                fix="Ask an administrator of this server to create your account (with the same email), "
                f"or to allow sign-up: gatepass provider update {config.name} --allow-signup",
            )
        if not profile.email:
            raise ProfileIncomplete(
                f"{name} did not share your email address, which an account here needs.",
                fix=f"Allow {name} to share your email (the administrator may need to add the email scope).",
            )
        if not is_trusted:
            raise EmailNotVerified(
                f"{name} did not confirm that {profile.email} is yours.",
                fix=f"Verify your email address at {name}, then log in again.",
            )
        try:
            user = await self._accounts.create_user(
                profile.email,
                None,
                first_name=profile.first_name,
                last_name=profile.last_name,
                roles=config.default_roles,
                picture_url=profile.picture_url,
                is_email_verified=profile.is_email_verified,
            )
        except (AccountError, Conflict) as exc:
            raise ProfileIncomplete(
                f"No account can be made for this profile: {exc}", fix="Ask an administrator."
            ) from None
        await self._link(provider, profile, user, matched_by="signup")
        return user

    async def _link(
        self, provider: ProviderRecord, profile: ExternalProfile, user: UserRecord, *, matched_by: str
    ) -> None:
        await self._identities.add_identity(provider.id, profile.subject, user.id, profile.email, self._clock())
        await self._audit.record(
            audit.IDENTITY_LINKED, user_id=user.id, provider=provider.config.name, matched_by=matched_by
        )

    async def _sync_roles(self, config: ProviderConfig, user: UserRecord, profile: ExternalProfile) -> UserRecord:
        roles = sync_roles(user.roles, profile.roles, config.role_map, config.role_sync)
        if set(roles) == set(user.roles):
            return user
        # A mapped role deleted locally since the provider was configured is skipped, not fatal.
        existing = {name for name, _, _ in await self._accounts.users.list_roles()}
        roles = tuple(role for role in roles if role in existing or role in user.roles)
        if set(roles) == set(user.roles):
            return user
        await self._accounts.users.set_roles(user.id, roles)
        await self._audit.record(
            audit.ROLES_SYNCED,
            user_id=user.id,
            provider=config.name,
            mode=config.role_sync,
            added=sorted(set(roles) - set(user.roles)),
            removed=sorted(set(user.roles) - set(roles)),
            roles=list(roles),
        )
        refreshed = await self._accounts.users.get_user(user.id)
        return refreshed or user
