"""Upstream identity providers ("Log in with …"): presets, validation, and the admin's changes.

A provider needs only what cannot be discovered: an issuer URL, a client id and a secret. Presets
fill in the rest (scopes, fixed endpoints for providers without OpenID Connect discovery). The
client secret is kept encrypted with the instance key, because it must be sent to the provider.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from gatepass.services import audit
from gatepass.services.accounts import AccountError
from gatepass.services.crypto import InstanceKeys
from gatepass.services.stores import ProviderConfig, ProviderRecord, ProviderStore, UserStore

ROLE_SYNC_MODES = ("replace", "merge", "off")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
#: Names a provider cannot have: /admin/providers/new is the console's page for adding one.
_RESERVED_NAMES = ("new",)
#: Why trusting a provider's unverified emails is risky: shown in the console and logged at startup.
UNVERIFIED_EMAIL_RISK = (
    "its emails are trusted without email_verified, so whoever controls an account there with the email "
    "of a local user logs in here as that user on the first login. Turn this on only for a provider you "
    "administer (a Frappe server sends no email_verified at all)."
)
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 §3.3 scope-token


@dataclass(frozen=True)
class Preset:
    """What is known about a kind of provider before the admin says anything."""

    name: str
    display_name: str
    scopes: tuple[str, ...]
    #: OpenID Connect: an id_token is required and validated; otherwise plain OAuth 2 plus a user API.
    is_openid: bool
    #: Fetch <issuer>/.well-known/openid-configuration for the endpoints.
    uses_discovery: bool
    #: A fixed issuer (Google, GitHub); None when the admin must give one.
    issuer: str | None = None
    #: Endpoints when there is no discovery: absolute URLs, or paths under the issuer.
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    #: id_tokens signed HS256 with the client secret are accepted (OIDC Core §10.1; Frappe does this).
    allow_hs256_id_token: bool = False
    #: Default for allow_unverified_email (on only where the provider never says, loudly).
    allow_unverified_email: bool = False


FRAPPE_OAUTH = "/api/method/frappe.integrations.oauth2"
PRESETS: dict[str, Preset] = {
    "gatepass": Preset(
        "gatepass", "Gatepass", ("openid", "profile", "email", "roles"), is_openid=True, uses_discovery=True
    ),
    "oidc": Preset("oidc", "OpenID Connect", ("openid", "profile", "email"), is_openid=True, uses_discovery=True),
    "frappe": Preset(
        "frappe",
        "Frappe",
        ("openid", "all"),
        is_openid=True,
        uses_discovery=False,
        authorization_endpoint=f"{FRAPPE_OAUTH}.authorize",
        token_endpoint=f"{FRAPPE_OAUTH}.get_token",
        userinfo_endpoint=f"{FRAPPE_OAUTH}.openid_profile",
        allow_hs256_id_token=True,
        allow_unverified_email=True,
    ),
    "google": Preset(
        "google",
        "Google",
        ("openid", "profile", "email"),
        is_openid=True,
        uses_discovery=True,
        issuer="https://accounts.google.com",
    ),
    "github": Preset(
        "github",
        "GitHub",
        ("read:user", "user:email"),
        is_openid=False,
        uses_discovery=False,
        issuer="https://github.com",
        authorization_endpoint="https://github.com/login/oauth/authorize",
        token_endpoint="https://github.com/login/oauth/access_token",
        userinfo_endpoint="https://api.github.com/user",
    ),
}


@dataclass(frozen=True)
class ProviderChanges:
    """What an admin gives on add or update; None keeps the current value (or the preset's default)."""

    display_name: str | None = None
    issuer: str | None = None
    client_id: str | None = None
    #: The plain secret; "" removes it (public client).
    client_secret: str | None = None
    scopes: tuple[str, ...] | None = None
    is_enabled: bool | None = None
    allow_signup: bool | None = None
    allow_unverified_email: bool | None = None
    default_roles: tuple[str, ...] | None = None
    role_map: tuple[tuple[str, str], ...] | None = None
    role_sync: str | None = None
    trust_amr: bool | None = None


def parse_role_map(values: tuple[str, ...], *, source: str = "--role-map") -> tuple[tuple[str, str], ...]:
    """REMOTE=LOCAL, or just NAME for the same name on both sides; ``source`` names the input in errors."""
    pairs: list[tuple[str, str]] = []
    for value in values:
        remote, has_equals, local = value.partition("=")
        remote, local = remote.strip(), (local.strip() if has_equals else remote.strip())
        if not remote or not local:
            raise AccountError(f"{source} {value!r}: write REMOTE=LOCAL (or NAME for the same name)", "role_map")
        pairs.append((remote, local))
    return tuple(dict.fromkeys(pairs))


def parse_provider_name(name: str) -> str:
    """The name as stored (lower case); it goes in the URLs /login/<name>/start and /login/<name>/callback."""
    name = name.strip().lower()
    if not _NAME.match(name):
        raise AccountError(
            f"The provider name {name!r} must be 1-64 lower-case letters, digits, - or _ (it goes in URLs)", "name"
        )
    if name in _RESERVED_NAMES:
        raise AccountError(f"The provider name {name!r} is reserved; choose another", "name")
    return name


def preset_defaults(name: str, preset: Preset) -> ProviderConfig:
    """A new provider before the admin's changes: what the preset says, no client yet."""
    return ProviderConfig(
        name=name,
        display_name=preset.display_name if preset.name != "oidc" else name,
        preset=preset.name,
        issuer=preset.issuer or "",
        client_id="",
        client_secret_encrypted=None,
        scopes=preset.scopes,
        is_enabled=True,
        allow_signup=False,
        allow_unverified_email=preset.allow_unverified_email,
        default_roles=(),
        role_map=(),
        role_sync="replace" if "roles" in preset.scopes else "off",
    )


def normalise_issuer(issuer: str) -> str:
    issuer = issuer.strip().rstrip("/")
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise AccountError(f"The issuer {issuer!r} must be an https URL without query or fragment", "issuer")
    host = parts.hostname or ""
    # OIDC Discovery §3 wants https; plain http only for a provider on this machine (development, tests).
    if parts.scheme == "http" and host not in ("127.0.0.1", "localhost", "::1"):
        raise AccountError(f"The issuer {issuer!r} must use https (http only for a loopback host)", "issuer")
    return issuer


class ProviderService:
    def __init__(
        self,
        store: ProviderStore,
        users: UserStore,
        keys: InstanceKeys,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
        *,
        issuer: str,
    ) -> None:
        self.store = store
        self._users = users
        self._keys = keys
        self._audit = audit_log
        self._clock = clock
        self._issuer = issuer.rstrip("/")

    def callback_url(self, name: str) -> str:
        """The redirect URI to register at the provider."""
        return f"{self._issuer}/login/{name}/callback"

    def client_secret(self, config: ProviderConfig) -> str | None:
        return None if config.client_secret_encrypted is None else self._keys.decrypt(config.client_secret_encrypted)

    async def get(self, name: str) -> ProviderRecord | None:
        return await self.store.get_provider(name)

    async def list_all(self) -> list[ProviderRecord]:
        return await self.store.list_providers()

    async def list_enabled(self) -> list[ProviderConfig]:
        return [record.config for record in await self.store.list_providers() if record.config.is_enabled]

    async def add(self, name: str, preset_name: str, changes: ProviderChanges) -> ProviderRecord:
        name = parse_provider_name(name)
        preset = PRESETS.get(preset_name)
        if preset is None:
            raise AccountError(f"Unknown preset {preset_name!r}; choose one of {', '.join(PRESETS)}", "preset")
        issuer = changes.issuer or preset.issuer
        if not issuer:
            raise AccountError(f"The {preset.name} preset needs --issuer (the provider's base URL)", "issuer")
        if not changes.client_id:
            raise AccountError("--client-id is required (the client registered at the provider)", "client_id")
        config = dataclasses.replace(preset_defaults(name, preset), issuer=issuer, client_id=changes.client_id)
        config = await self._checked(self._merge(config, changes))
        record = await self.store.add_provider(config, self._clock())
        await self._audit.record(audit.PROVIDER_CREATED, provider=name, issuer=config.issuer)
        return record

    async def update(self, name: str, changes: ProviderChanges) -> ProviderRecord:
        current = await self.store.get_provider(name)
        if current is None:
            raise AccountError(f"No provider is named {name!r}; see `gatepass provider list`", "name")
        config = await self._checked(self._merge(current.config, changes))
        record = await self.store.update_provider(config, self._clock())
        changed = sorted(
            field.name for field in dataclasses.fields(changes) if getattr(changes, field.name) is not None
        )
        await self._audit.record(audit.PROVIDER_UPDATED, provider=name, changed=changed)
        return record

    async def remove(self, name: str) -> bool:
        removed = await self.store.delete_provider(name)
        if removed:
            await self._audit.record(audit.PROVIDER_DELETED, provider=name)
        return removed

    def _merge(self, config: ProviderConfig, changes: ProviderChanges) -> ProviderConfig:
        values = {
            field.name: getattr(changes, field.name)
            for field in dataclasses.fields(changes)
            if field.name != "client_secret" and getattr(changes, field.name) is not None
        }
        merged = dataclasses.replace(config, **values)
        if changes.client_secret is not None:
            secret = changes.client_secret.strip()
            merged = dataclasses.replace(merged, client_secret_encrypted=self._keys.encrypt(secret) if secret else None)
        return merged

    async def _checked(self, config: ProviderConfig) -> ProviderConfig:
        config = dataclasses.replace(
            config,
            issuer=normalise_issuer(config.issuer),
            display_name=config.display_name.strip()[:140],
            client_id=config.client_id.strip(),
        )
        if not config.display_name:
            raise AccountError("The display name must not be empty", "display_name")
        if not config.client_id or len(config.client_id) > 255:
            raise AccountError("The client id must have 1 to 255 characters", "client_id")
        if config.role_sync not in ROLE_SYNC_MODES:
            raise AccountError(f"--role-sync must be one of {', '.join(ROLE_SYNC_MODES)}", "role_sync")
        if not config.scopes or any(not _SCOPE_TOKEN.match(scope) for scope in config.scopes):
            raise AccountError("Give at least one scope, each without spaces or quotes", "scopes")
        if PRESETS[config.preset].is_openid and "openid" not in config.scopes:
            raise AccountError(
                f"The {config.preset} preset is OpenID Connect: the scopes must include openid", "scopes"
            )
        existing = {name for name, _, _ in await self._users.list_roles()}
        wanted = (*config.default_roles, *(local for _, local in config.role_map))
        missing = sorted({role for role in wanted if role not in existing})
        if missing:
            raise AccountError(
                f"No local role is named {', '.join(map(repr, missing))}; create it first with `gatepass role add`",
                "roles",
            )
        return config
