"""Deployment settings: one frozen, typed tree, read once at startup.

Values come from defaults, then an optional TOML file, then ``GATEPASS_<GROUP>_<NAME>``
environment variables. Anything invalid stops startup with a message naming the key and
what is allowed. ``docs/configuration.md`` is generated from this module
(``gatepass config-docs``) and a test keeps the two in sync.

Runtime settings that admins change while the server runs (consent mode and friends) live in
the database instead; see ``gatepass settings``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "DatabaseSettings",
    "MailSettings",
    "RateLimitSettings",
    "RedisSettings",
    "SecuritySettings",
    "ServerSettings",
    "Settings",
    "SettingsError",
    "TokenSettings",
    "bind_url",
    "development_issuer",
    "issuer_warnings",
    "load_instance_secret",
    "load_settings",
    "make_private_dir",
    "parse_networks",
    "render_config_docs",
    "restrict_mode",
]

ENV_PREFIX = "GATEPASS_"


class SettingsError(ValueError):
    """A setting has a value that is not allowed; the message names the key and the fix."""


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@dataclass(frozen=True)
class ServerSettings:
    issuer: str = field(
        default="",
        metadata=_doc(
            "Public base URL of this server; the `iss` of every token and metadata document. "
            "Must be https, except on a loopback host for development (RFC 9700 §2.6). "
            "Empty: `http://<host>:<port>` as served, with 127.0.0.1 for a host that is not a loopback address."
        ),
    )
    host: str = field(default="127.0.0.1", metadata=_doc("Address `gatepass serve` binds to."))
    port: int = field(default=8000, metadata=_doc("Port `gatepass serve` listens on (1-65535)."))
    workers: int = field(default=1, metadata=_doc("Worker processes for `gatepass serve` (1-64)."))
    var_dir: str = field(
        default="./var",
        metadata=_doc("Folder for the SQLite database and the generated instance secret."),
    )
    instance_secret: str = field(
        default="",
        metadata=_doc(
            "Secret that keys token digests, CSRF tokens and the encryption of signing keys. "
            "Empty: read from `<var_dir>/instance_secret`, generated there on first run. "
            "Every node of one deployment must share it."
        ),
    )
    log_level: str = field(default="info", metadata=_doc("One of debug, info, warning, error."))
    extra_resources: str = field(
        default="",
        metadata=_doc(
            "Space-separated URIs of other protected resources (an MCP server, say) that accept Gatepass "
            "tokens; clients may name them as `resource` (RFC 8707). The document API, "
            "`<issuer>/api/resource`, is always one."
        ),
    )
    #: Reverse proxies whose forwarding headers name the client (rate limits, lockouts, audit).
    trusted_proxies: str = field(
        default="",
        metadata=_doc(
            "Space- or comma-separated addresses or CIDRs of the reverse proxies in front of Gatepass, e.g. "
            "`127.0.0.1 10.0.0.0/8`. A request from one of them is taken to come from the right-most address "
            "in `X-Forwarded-For` (or `Forwarded`) that is not itself a trusted proxy. "
            "Empty: forwarding headers are ignored and the client is the address that connected."
        ),
    )
    #: Who may read /metrics besides loopback; everyone else gets a 404.
    metrics_allowed_addresses: str = field(
        default="",
        metadata=_doc(
            "Space- or comma-separated addresses or CIDRs that may read `/metrics`, besides loopback. "
            "Everyone else gets 404, and so does any request forwarded for an address outside the list."
        ),
    )

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.trusted_proxies, "server.trusted_proxies")

    @property
    def metrics_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.metrics_allowed_addresses, "server.metrics_allowed_addresses")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = field(
        default="",
        metadata=_doc(
            "SQLAlchemy URL. Empty: a SQLite file `<var_dir>/gatepass.db`. "
            "Also `postgresql://user@host/db` or `mysql://user@host/db` (MariaDB); "
            "the async driver is chosen for you."
        ),
    )
    pool_size: int = field(
        default=20,
        metadata=_doc(
            "Connections kept open per worker (PostgreSQL, MariaDB), plus up to half as many again for bursts, "
            "and up to half as many for the hot lookups, which run on the driver itself. "
            "Keep it at or above the requests a worker serves at once: a connection opened for a burst and "
            "closed after it costs far more than the query it served."
        ),
    )
    echo: bool = field(default=False, metadata=_doc("Log every SQL statement (development only)."))
    read_cache: str = field(
        default="auto",
        metadata=_doc(
            "Per-worker cache of clients, users, access tokens, permissions, keys and settings; every write "
            "that affects them empties it on every worker at once. `auto`: on with SQLite; on with PostgreSQL "
            "(other nodes hear of changes through LISTEN/NOTIFY, or through Redis when it is configured); on "
            "with MariaDB only when Redis is configured, since other nodes could not hear of changes. `node`: "
            "on, because this is the only node. `off`: also for PostgreSQL behind a pooler that drops LISTEN "
            "(PgBouncer in transaction mode) where Redis is not configured."
        ),
    )
    read_cache_seconds: int = field(
        default=60, metadata=_doc("Longest any cached read is trusted, change notices or not (1-3600).")
    )


@dataclass(frozen=True)
class RedisSettings:
    url: str = field(
        default="",
        metadata=_doc("Redis URL for shared rate limits and revocation notices. Empty: in-process only."),
    )


@dataclass(frozen=True)
class TokenSettings:
    access_token_ttl_seconds: int = field(default=3600, metadata=_doc("Access token lifetime, as Frappe (60-86400)."))
    refresh_token_ttl_seconds: int = field(
        default=30 * 24 * 3600,
        metadata=_doc(
            "Absolute lifetime of a refresh token family, counted from the first grant; "
            "rotation does not extend it (RFC 9700 §4.14.2). 3600 to 31536000."
        ),
    )
    access_token_format: str = field(
        default="opaque",
        metadata=_doc(
            "What access tokens are unless a client says otherwise: `opaque` (a random string the resource server "
            "introspects) or `jwt` (RFC 9068, signed with the published keys, readable by any resource server "
            "with the JWKS)."
        ),
    )
    jwt_access_token_alg: str = field(
        default="RS256",
        metadata=_doc(
            "The alg that signs JWT access tokens: RS256 (every RFC 9068 resource server must accept it), "
            "ES256 or EdDSA (faster to sign; check your resource servers accept it)."
        ),
    )
    code_ttl_seconds: int = field(
        default=300,
        metadata=_doc("Authorization code lifetime; at most 600 (RFC 6749 §4.1.2 says 10 minutes)."),
    )
    id_token_ttl_seconds: int = field(default=3600, metadata=_doc("id_token lifetime (60-86400)."))
    pushed_request_ttl_seconds: int = field(
        default=60,
        metadata=_doc(
            "How long a `request_uri` from the pushed authorization request endpoint may be used: the client "
            "sends the browser to the authorization endpoint at once, so it is short (RFC 9126 §2.2; 5-600). "
            "Once used, the request lasts through the login and consent that follow."
        ),
    )
    device_code_ttl_seconds: int = field(
        default=600,
        metadata=_doc(
            "How long a device's `device_code` and `user_code` may be used (RFC 8628 §3.2 `expires_in`): the "
            "time the user has to open /device and allow it (60-1800)."
        ),
    )
    device_poll_interval_seconds: int = field(
        default=5,
        metadata=_doc(
            "The seconds a device waits between polls of the token endpoint (RFC 8628 §3.2 `interval`); a "
            "device that polls sooner gets slow_down and 5 seconds more (1-60)."
        ),
    )
    key_rotation_grace_seconds: int = field(
        default=3600,
        metadata=_doc(
            "After `gatepass keys rotate`, how long the new key is only published before it signs, "
            "so relying parties that cache the JWKS have it first. 0 to 604800."
        ),
    )
    session_ttl_seconds: int = field(default=12 * 3600, metadata=_doc("Browser login session lifetime (300-2592000)."))
    backchannel_logout_token_ttl_seconds: int = field(
        default=120,
        metadata=_doc(
            "Lifetime of a logout token, counted from each delivery attempt (Back-Channel Logout 1.0 §2.4 "
            "recommends at most two minutes; 10-600)."
        ),
    )
    backchannel_logout_timeout_seconds: int = field(
        default=5,
        metadata=_doc("How long a client's back-channel logout URI has to answer one POST (1-60)."),
    )
    backchannel_logout_first_retry_seconds: int = field(
        default=30,
        metadata=_doc(
            "Delay before the second attempt to deliver a logout token a client did not accept; each later delay "
            "doubles, up to an hour (1-3600). The queue is in the database: a restart loses nothing."
        ),
    )
    backchannel_logout_max_attempts: int = field(
        default=8,
        metadata=_doc("Attempts to deliver one logout token before it is given up, audited (1-50)."),
    )
    backchannel_logout_poll_seconds: int = field(
        default=5,
        metadata=_doc("How often each worker looks for logout tokens due for delivery (1-300)."),
    )


@dataclass(frozen=True)
class SecuritySettings:
    login_failures_before_lockout: int = field(
        default=5,
        metadata=_doc(
            "Failed logins for one email from one client address (an IPv6 /64) before that address is locked "
            "out of that email for a while; the owner can still log in from elsewhere (1-100)."
        ),
    )
    login_lockout_seconds: int = field(
        default=300,
        metadata=_doc(
            "The first lockout; each further failure after a lockout doubles it, up to "
            "`login_lockout_max_seconds` (1-86400)."
        ),
    )
    login_lockout_max_seconds: int = field(
        default=3600, metadata=_doc("The longest a lockout grows to (1-604800; at least `login_lockout_seconds`).")
    )
    login_failures_before_account_lockout: int = field(
        default=100,
        metadata=_doc(
            "Failed logins for one email from all addresses together before the email is locked out for "
            "everyone: the ceiling against guessing from many addresses; keep it far above "
            "`login_failures_before_lockout` (1-1000000)."
        ),
    )
    require_pushed_authorization_requests: bool = field(
        default=False,
        metadata=_doc(
            "Every client must push its authorization requests to `/oauth/par` (RFC 9126 §5) and send only "
            "`client_id` and `request_uri` to the authorization endpoint; other requests are refused with "
            "`invalid_request`. Off, only clients registered with `require_pushed_authorization_requests` must."
        ),
    )
    require_dpop_nonce: bool = field(
        default=False,
        metadata=_doc(
            "Every DPoP proof (RFC 9449 §8, §9) must carry a nonce this server gave in a `DPoP-Nonce` header; "
            "a proof without a current one is answered `use_dpop_nonce` with the nonce to use. Nonces are made "
            "from the instance secret and the time, so every worker and node accepts them, and change every 5 "
            "minutes. It bounds how long a proof made in advance stays usable to the nonce's lifetime."
        ),
    )
    purge_interval_seconds: int = field(
        default=3600,
        metadata=_doc("How often the server purges expired codes and tokens; 0 turns it off."),
    )
    password_hash_memory_kib: int = field(
        default=19456,
        metadata=_doc(
            "argon2id memory per password hash or check, in KiB (7168-4194304). The default, 19 MiB with 2 passes "
            "and 1 lane, is OWASP's minimum; memory times passes may not go below 35840 (OWASP's cheapest "
            "listed set, 7 MiB with 5 passes). The workers share the node's cores: each runs at most cores / "
            "workers checks at a time (at least 1, at most 4), each holding this memory. A hash made with other "
            "parameters is made again at its owner's next login."
        ),
    )
    password_hash_time_cost: int = field(
        default=2, metadata=_doc("argon2id passes over the memory per password hash or check (1-20).")
    )
    password_hash_parallelism: int = field(
        default=1, metadata=_doc("argon2id lanes (threads) per password hash or check (1-16).")
    )


@dataclass(frozen=True)
class RateLimitSettings:
    login_per_ip_per_minute: int = field(
        default=30, metadata=_doc("Login form posts per client IP per minute; 0 turns the limit off.")
    )
    token_per_ip_per_minute: int = field(
        default=1200,
        metadata=_doc(
            "Token, revocation and pushed authorization requests per client IP per minute, each endpoint "
            "counted apart; 0 = off."
        ),
    )
    token_per_client_per_minute: int = field(
        default=1200,
        metadata=_doc(
            "Token, revocation and pushed authorization requests per client_id per minute, each endpoint "
            "counted apart; 0 = off."
        ),
    )
    introspection_per_client_per_minute: int = field(
        default=12000, metadata=_doc("Introspection requests per client_id per minute; 0 = off.")
    )
    user_codes_per_minute: int = field(
        default=20,
        metadata=_doc(
            "User codes looked up on the /device page per client IP, and apart per login session, per minute, "
            "so nobody can guess a waiting device's code; 0 = off."
        ),
    )
    registration_per_ip_per_hour: int = field(
        default=10, metadata=_doc("Open dynamic client registrations per client IP per hour; 0 = off.")
    )


@dataclass(frozen=True)
class MailSettings:
    smtp_host: str = field(
        default="",
        metadata=_doc(
            "SMTP server that sends password reset links, email verification links and security notices. "
            "Empty: nothing is sent; `gatepass serve` writes each mail, links included, to its log instead, "
            "marked as development mail, and says so at startup. Never leave it empty in production."
        ),
    )
    smtp_port: int = field(default=587, metadata=_doc("SMTP port: 587 for STARTTLS, 465 for TLS (1-65535)."))
    smtp_security: str = field(
        default="starttls",
        metadata=_doc(
            "`starttls` (upgrade the connection, required), `tls` (TLS from the first byte) or `none` "
            "(plain text; a password is then only sent to a loopback host)."
        ),
    )
    smtp_user: str = field(default="", metadata=_doc("SMTP login. Empty: no authentication."))
    smtp_password: str = field(default="", metadata=_doc("SMTP password; never logged."))
    from_address: str = field(
        default="",
        metadata=_doc("The mails' From address. Empty: `gatepass@` and the issuer's host name."),
    )
    password_reset_ttl_seconds: int = field(
        default=1800, metadata=_doc("How long a password reset link works, once (1-86400).")
    )
    email_verification_ttl_seconds: int = field(
        default=86400, metadata=_doc("How long an email verification link works, once (1-604800).")
    )

    @property
    def is_development(self) -> bool:
        """No SMTP server: mails go to the log."""
        return not self.smtp_host


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    tokens: TokenSettings = field(default_factory=TokenSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    mail: MailSettings = field(default_factory=MailSettings)

    @property
    def mail_from(self) -> str:
        return self.mail.from_address or f"gatepass@{urlsplit(self.server.issuer).hostname}"

    @property
    def is_https(self) -> bool:
        return self.server.issuer.startswith("https://")

    @property
    def document_api_resource(self) -> str:
        """The RFC 8707 resource identifier of the document API."""
        return f"{self.server.issuer}/api/resource"

    @property
    def known_resources(self) -> tuple[str, ...]:
        return (self.document_api_resource, *self.server.extra_resources.split())

    @property
    def var_path(self) -> Path:
        return Path(self.server.var_dir)

    @property
    def is_postgresql(self) -> bool:
        return self.database.url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")

    @property
    def is_read_cache_on(self) -> bool:
        """See DatabaseSettings.read_cache: only where every process that writes can tell every worker."""
        mode = self.database.read_cache
        if mode == "auto":
            is_sqlite = not self.database.url or self.database.url.startswith("sqlite")
            return is_sqlite or self.is_postgresql or bool(self.redis.url)
        return mode == "node"


_GROUPS: dict[str, type[Any]] = {
    "server": ServerSettings,
    "database": DatabaseSettings,
    "redis": RedisSettings,
    "tokens": TokenSettings,
    "security": SecuritySettings,
    "rate_limits": RateLimitSettings,
    "mail": MailSettings,
}

_INT_RANGES: dict[tuple[str, str], tuple[int, int]] = {
    ("server", "port"): (1, 65535),
    ("server", "workers"): (1, 64),
    ("database", "pool_size"): (1, 200),
    ("database", "read_cache_seconds"): (1, 3600),
    ("tokens", "access_token_ttl_seconds"): (60, 86400),
    ("tokens", "refresh_token_ttl_seconds"): (3600, 31536000),
    ("tokens", "code_ttl_seconds"): (10, 600),
    ("tokens", "id_token_ttl_seconds"): (60, 86400),
    ("tokens", "pushed_request_ttl_seconds"): (5, 600),
    ("tokens", "device_code_ttl_seconds"): (60, 1800),
    ("tokens", "device_poll_interval_seconds"): (1, 60),
    ("tokens", "key_rotation_grace_seconds"): (0, 604800),
    ("tokens", "session_ttl_seconds"): (300, 2592000),
    ("tokens", "backchannel_logout_token_ttl_seconds"): (10, 600),
    ("tokens", "backchannel_logout_timeout_seconds"): (1, 60),
    ("tokens", "backchannel_logout_first_retry_seconds"): (1, 3600),
    ("tokens", "backchannel_logout_max_attempts"): (1, 50),
    ("tokens", "backchannel_logout_poll_seconds"): (1, 300),
    ("security", "login_failures_before_lockout"): (1, 100),
    ("security", "login_lockout_seconds"): (1, 86400),
    ("security", "login_lockout_max_seconds"): (1, 604800),
    ("security", "login_failures_before_account_lockout"): (1, 1_000_000),
    ("security", "purge_interval_seconds"): (0, 604800),
    ("security", "password_hash_memory_kib"): (7168, 4_194_304),
    ("security", "password_hash_time_cost"): (1, 20),
    ("security", "password_hash_parallelism"): (1, 16),
    ("rate_limits", "login_per_ip_per_minute"): (0, 1_000_000),
    ("rate_limits", "token_per_ip_per_minute"): (0, 1_000_000),
    ("rate_limits", "token_per_client_per_minute"): (0, 1_000_000),
    ("rate_limits", "introspection_per_client_per_minute"): (0, 1_000_000),
    ("rate_limits", "registration_per_ip_per_hour"): (0, 1_000_000),
    ("mail", "smtp_port"): (1, 65535),
    ("mail", "password_reset_ttl_seconds"): (1, 86400),
    ("mail", "email_verification_ttl_seconds"): (1, 604800),
}

#: OWASP lists equally strong argon2id sets, more memory for fewer passes; 7 MiB with 5 passes needs the least.
_MIN_PASSWORD_HASH_KIB_PASSES = 7168 * 5
_LOG_LEVELS = ("debug", "info", "warning", "error")
_READ_CACHE_MODES = ("auto", "node", "off")
_SMTP_SECURITY = ("starttls", "tls", "none")
_ACCESS_TOKEN_FORMATS = ("opaque", "jwt")
_JWT_ACCESS_TOKEN_ALGS = ("RS256", "ES256", "EdDSA")


def _env_key(group: str, name: str) -> str:
    return f"{ENV_PREFIX}{group.upper()}_{name.upper()}"


def _cast(group: str, name: str, kind: type[Any], raw: object, source: str) -> Any:
    key = f"{group}.{name} ({source})"
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{key}: {raw!r} is not a boolean; use true or false")
    if kind is int:
        if isinstance(raw, bool):
            raise SettingsError(f"{key}: {raw!r} is not a whole number")
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise SettingsError(f"{key}: {raw!r} is not a whole number") from None
        low, high = _INT_RANGES.get((group, name), (0, 2**31))
        if not low <= value <= high:
            raise SettingsError(f"{key}: {value} is out of range; allowed {low} to {high}")
        return value
    if not isinstance(raw, str):
        raise SettingsError(f"{key}: expected text, got {raw!r}")
    return raw.strip()


def _field_types(cls: type[Any]) -> dict[str, type[Any]]:
    kinds = {"int": int, "bool": bool, "str": str}
    return {f.name: kinds[str(f.type)] for f in dataclasses.fields(cls)}


def load_settings(environ: Mapping[str, str] | None = None, config_file: str | Path | None = None) -> Settings:
    """Build the settings from defaults, an optional TOML file and the environment.

    Raises SettingsError with a message naming the key when anything is invalid.
    """
    environ = os.environ if environ is None else environ
    file_values: dict[str, Any] = {}
    config_file = config_file or environ.get(f"{ENV_PREFIX}CONFIG") or None
    file_label = "config file"
    if config_file:
        path = Path(config_file)
        file_label = f"config file {path}"
        try:
            file_values = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
        except UnicodeDecodeError:
            raise SettingsError(f"config file {path} is not UTF-8 text; save it as UTF-8") from None
        except OSError as exc:
            raise SettingsError(f"config file {path} cannot be read: {exc.strerror or exc}") from None
        unknown_groups = set(file_values) - set(_GROUPS)
        if unknown_groups:
            raise SettingsError(
                f"config file {path}: unknown section(s) {sorted(unknown_groups)}; allowed {sorted(_GROUPS)}"
            )

    known_env = {_env_key(g, f.name) for g, cls in _GROUPS.items() for f in dataclasses.fields(cls)}
    known_env |= {f"{ENV_PREFIX}CONFIG", f"{ENV_PREFIX}ADMIN_PASSWORD", f"{ENV_PREFIX}ADMIN_EMAIL"}
    for key in environ:
        if key.startswith(ENV_PREFIX) and key not in known_env:
            raise SettingsError(f"{key}: unknown setting; see docs/configuration.md for the list")

    groups: dict[str, Any] = {}
    for group, cls in _GROUPS.items():
        section = file_values.get(group, {})
        if not isinstance(section, dict):
            raise SettingsError(f"{file_label}: [{group}] must be a table")
        types = _field_types(cls)
        unknown = set(section) - set(types)
        if unknown:
            raise SettingsError(
                f"{file_label}: [{group}] has unknown key(s) {sorted(unknown)}; allowed {', '.join(types)}"
            )
        values: dict[str, Any] = {}
        for name, kind in types.items():
            env_key = _env_key(group, name)
            if env_key in environ:
                values[name] = _cast(group, name, kind, environ[env_key], env_key)
            elif name in section:
                values[name] = _cast(group, name, kind, section[name], "config file")
        groups[group] = cls(**values)
    if not groups["server"].issuer:
        server = groups["server"]
        groups["server"] = dataclasses.replace(server, issuer=development_issuer(server.host, server.port))
    settings = Settings(**groups)
    _check(settings)
    return settings


def development_issuer(host: str, port: int) -> str:
    """The issuer when none is set: the address `gatepass serve` answers on, so that discovery, `iss`
    and every endpoint URL name the port actually served. A wildcard or public bind address is not
    what a local browser types, and a plain-http issuer must stay on loopback (RFC 9700 §2.6), so
    those fall back to 127.0.0.1."""
    name = host if _is_loopback_host(host) else "127.0.0.1"
    if ":" in name:
        name = f"[{name}]"
    return f"http://{name}:{port}"


def issuer_warnings(settings: Settings) -> list[str]:
    """Why browsers and clients may not reach this server at its issuer, as `gatepass serve` binds it.

    Only a plain-http loopback issuer is checked: it is reached directly, whereas an https issuer
    normally sits behind a TLS proxy that forwards to another port.
    """
    server = settings.server
    parts = urlsplit(server.issuer)
    if parts.scheme != "http" or not _is_loopback_host(parts.hostname):
        return []
    bind = bind_url(server.host, server.port)
    warnings: list[str] = []
    is_bound_to_loopback = _is_loopback_host(server.host)
    if not is_bound_to_loopback:
        warnings.append(
            f"gatepass serve listens on {bind}, beyond this machine, but the issuer {server.issuer} is a "
            "loopback address other machines cannot reach: set GATEPASS_SERVER_ISSUER to the https URL "
            "clients use (RFC 9700 §2.6)"
        )
    hosts = {parts.hostname, server.host.strip("[]")}
    is_same_host = not is_bound_to_loopback or "localhost" in hosts or len(hosts) == 1
    if (parts.port or 80) != server.port or not is_same_host:
        warnings.append(
            f"server.issuer is {server.issuer} but gatepass serve listens on {bind}: discovery, redirects "
            "and the iss of every token name an address nothing answers on; unset GATEPASS_SERVER_ISSUER "
            "to follow the address served, or make the two agree"
        )
    return warnings


def bind_url(host: str, port: int) -> str:
    """The address `gatepass serve` listens on, as a URL."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check(settings: Settings) -> None:
    issuer = settings.server.issuer
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"server.issuer: {issuer!r} must be an absolute http(s) URL")
    if parts.query or parts.fragment or issuer.endswith("/"):
        raise SettingsError(f"server.issuer: {issuer!r} must have no query, fragment or trailing slash (RFC 8414 §2)")
    if parts.scheme == "http" and not _is_loopback_host(parts.hostname):
        raise SettingsError(f"server.issuer: {issuer!r} uses http on a non-loopback host; use https (RFC 9700 §2.6)")
    if settings.database.read_cache not in _READ_CACHE_MODES:
        raise SettingsError(
            f"database.read_cache: {settings.database.read_cache!r}; allowed {', '.join(_READ_CACHE_MODES)}"
        )
    if settings.tokens.access_token_format not in _ACCESS_TOKEN_FORMATS:
        raise SettingsError(f"tokens.access_token_format: {settings.tokens.access_token_format!r}; allowed opaque, jwt")
    if settings.tokens.jwt_access_token_alg not in _JWT_ACCESS_TOKEN_ALGS:
        raise SettingsError(
            f"tokens.jwt_access_token_alg: {settings.tokens.jwt_access_token_alg!r}; "
            f"allowed {', '.join(_JWT_ACCESS_TOKEN_ALGS)}"
        )
    if settings.server.log_level not in _LOG_LEVELS:
        raise SettingsError(f"server.log_level: {settings.server.log_level!r}; allowed {', '.join(_LOG_LEVELS)}")
    url = settings.database.url
    if url and url.split(":", 1)[0].split("+", 1)[0] not in ("sqlite", "postgresql", "postgres", "mysql", "mariadb"):
        raise SettingsError(f"database.url: {url.split(':', 1)[0]!r} is not supported; use sqlite, postgresql or mysql")
    if settings.redis.url and not settings.redis.url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError("redis.url: must start with redis://, rediss:// or unix://")
    parse_networks(settings.server.trusted_proxies, "server.trusted_proxies")
    parse_networks(settings.server.metrics_allowed_addresses, "server.metrics_allowed_addresses")
    _check_mail(settings.mail)
    security = settings.security
    if security.login_lockout_max_seconds < security.login_lockout_seconds:
        raise SettingsError(
            f"security.login_lockout_max_seconds: {security.login_lockout_max_seconds} is less than "
            f"security.login_lockout_seconds ({security.login_lockout_seconds})"
        )
    if security.password_hash_memory_kib * security.password_hash_time_cost < _MIN_PASSWORD_HASH_KIB_PASSES:
        raise SettingsError(
            f"security.password_hash_memory_kib: {security.password_hash_memory_kib} KiB with "
            f"security.password_hash_time_cost {security.password_hash_time_cost} is below OWASP's minimum for "
            f"argon2id; memory times passes must be at least {_MIN_PASSWORD_HASH_KIB_PASSES} (19456 KiB with 2 passes)"
        )
    if security.login_failures_before_account_lockout < security.login_failures_before_lockout:
        raise SettingsError(
            f"security.login_failures_before_account_lockout: {security.login_failures_before_account_lockout} "
            f"is less than security.login_failures_before_lockout ({security.login_failures_before_lockout})"
        )


def _check_mail(mail: MailSettings) -> None:
    if mail.smtp_security not in _SMTP_SECURITY:
        raise SettingsError(f"mail.smtp_security: {mail.smtp_security!r}; allowed {', '.join(_SMTP_SECURITY)}")
    if mail.from_address and not _looks_like_address(mail.from_address):
        raise SettingsError(
            f"mail.from_address: {mail.from_address!r} is not an email address such as gatepass@example.com"
        )
    if mail.smtp_password and mail.smtp_security == "none" and not _is_loopback_host(mail.smtp_host):
        raise SettingsError(
            f"mail.smtp_password: would be sent in plain text to {mail.smtp_host!r}; "
            "set mail.smtp_security to starttls or tls"
        )


def _looks_like_address(text: str) -> bool:
    """``someone@host``, or ``Name <someone@host>``."""
    address = text.rsplit("<", 1)[-1].rstrip(">").strip() if text.endswith(">") else text
    local, _, host = address.partition("@")
    return bool(local) and "." in host and not any(c.isspace() for c in address)


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str, key: str) -> tuple[IPNetwork, ...]:
    """Addresses or CIDRs separated by spaces or commas; a bare address is a network of one."""
    networks = []
    for item in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingsError(f"{key}: {item!r} is not an IP address or CIDR such as 10.0.0.0/8") from None
    return tuple(networks)


def make_private_dir(path: Path) -> None:
    """The var folder holds the instance secret and the SQLite database: only its owner may list or enter it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    restrict_mode(path, 0o007)


def restrict_mode(path: Path, forbidden: int) -> None:
    """Take the ``forbidden`` permission bits off an existing file or folder we own."""
    try:
        mode = path.stat().st_mode & 0o777
        if mode & forbidden:
            path.chmod(mode & ~forbidden)
    except PermissionError:  # someone else owns and set it up: theirs to decide
        pass


def load_instance_secret(settings: Settings) -> bytes:
    """The instance secret: from settings, else from the var folder, created there on first run."""
    if settings.server.instance_secret:
        if len(settings.server.instance_secret) < 32:
            raise SettingsError("server.instance_secret: must be at least 32 characters")
        return settings.server.instance_secret.encode()
    path = settings.var_path / "instance_secret"
    make_private_dir(settings.var_path)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    restrict_mode(path, 0o077)
    secret = path.read_text(encoding="utf-8").strip()
    if len(secret) < 32:
        raise SettingsError(f"{path}: the instance secret is shorter than 32 characters; delete the file to regenerate")
    return secret.encode()


#: What a group's table needs said once rather than in every row.
_GROUP_NOTES = {
    "rate_limits": (
        "A limit of N per minute (or per hour) lets a client spend N requests at once, then gives one back every\n"
        "minute/N (a generic cell rate: no window boundary at which 2N pass in a row). Over the limit, the answer is\n"
        "429 with `Retry-After`, the whole seconds until the next request will be allowed. With `redis.url` set the\n"
        "count is shared by every worker and node; without it each worker counts its own."
    ),
}


def render_config_docs() -> str:
    """Markdown documentation of every setting, generated from the dataclasses above."""
    lines = [
        "# Configuration",
        "",
        "<!-- Generated by `gatepass config-docs`; edit src/gatepass/config.py instead. -->",
        "",
        "Deployment settings are read once at startup: defaults, then an optional TOML file",
        "(`gatepass --config FILE` or `GATEPASS_CONFIG`), then environment variables.",
        "An invalid value stops startup with a message naming the key.",
        "Runtime settings (consent mode and others) are kept in the database: `gatepass settings`.",
        "",
    ]
    for group, cls in _GROUPS.items():
        lines += [f"## [{group}]", ""]
        if group in _GROUP_NOTES:
            lines += [_GROUP_NOTES[group], ""]
        lines += ["| key | environment variable | default | meaning |", "|---|---|---|---|"]
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else ""
            shown = (
                f"`{str(default).lower() if isinstance(default, bool) else default}`" if default != "" else "(empty)"
            )
            low_high = _INT_RANGES.get((group, f.name))
            doc = f.metadata.get("doc", "")
            if low_high and "(" not in doc:
                doc += f" Allowed {low_high[0]} to {low_high[1]}."
            lines.append(f"| `{f.name}` | `{_env_key(group, f.name)}` | {shown} | {doc} |")
        lines.append("")
    lines += [
        "## Bootstrap",
        "",
        "| environment variable | meaning |",
        "|---|---|",
        "| `GATEPASS_ADMIN_EMAIL` | email of the bootstrap admin made on an empty database (`admin@example.com`) |",
        "| `GATEPASS_ADMIN_PASSWORD` | its password; when unset one is generated and printed once |",
        "",
    ]
    return "\n".join(lines)
