"""Where a provider's endpoints are: OpenID Connect Discovery, or a preset's fixed endpoints.

OpenID Connect Discovery 1.0 §4: https://openid.net/specs/openid-connect-discovery-1_0.html
(RFC 8414 is the same document for plain OAuth 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from gatepass.rp.errors import DiscoveryInvalid, IssuerUnreachable
from gatepass.services.providers import PRESETS, Preset
from gatepass.services.stores import ProviderConfig

if TYPE_CHECKING:
    # Authlib is imported when a provider is used, not by every worker at start.
    from gatepass.rp.client import AsyncOAuth2Client

DISCOVERY_PATH = "/.well-known/openid-configuration"
_REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint")


@dataclass(frozen=True)
class ProviderEndpoints:
    #: The issuer exactly as the provider names it: what its id_tokens carry in `iss`.
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str | None
    jwks_uri: str | None
    #: Algorithms its id_tokens may use; empty for plain OAuth 2.
    id_token_algorithms: tuple[str, ...]
    token_endpoint_auth_methods: tuple[str, ...]
    is_openid: bool


def _fix_issuer(config: ProviderConfig) -> str:
    return f"Check the issuer URL: gatepass provider update {config.name} --issuer URL"


def unreachable(config: ProviderConfig, url: str, exc: Exception) -> IssuerUnreachable:
    reason = str(exc) or type(exc).__name__
    return IssuerUnreachable(
        f"This server could not connect to {config.display_name} at {url} ({reason}).",
        fix=(
            f"Make sure {config.issuer} is running and that this server can reach it (DNS, firewall, proxy). "
            f"Then run `gatepass provider check {config.name}` on this server."
        ),
        detail=repr(exc),
    )


def _static_endpoints(config: ProviderConfig, preset: Preset) -> ProviderEndpoints:
    def absolute(value: str | None) -> str | None:
        if value is None:
            return None
        return value if value.startswith(("https://", "http://")) else config.issuer + value

    authorization, token = absolute(preset.authorization_endpoint), absolute(preset.token_endpoint)
    assert authorization is not None and token is not None
    return ProviderEndpoints(
        issuer=config.issuer,
        authorization_endpoint=authorization,
        token_endpoint=token,
        userinfo_endpoint=absolute(preset.userinfo_endpoint),
        jwks_uri=None,
        id_token_algorithms=("HS256",) if preset.allow_hs256_id_token else (),
        token_endpoint_auth_methods=("client_secret_post", "client_secret_basic"),
        is_openid=preset.is_openid,
    )


def _strings(document: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = document.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str))


def parse_discovery(config: ProviderConfig, url: str, document: object) -> ProviderEndpoints:
    """Check a discovery document for what a login needs; raises DiscoveryInvalid saying what is wrong."""
    if not isinstance(document, dict):
        raise DiscoveryInvalid(
            f"{url} sent JSON, but not a JSON object.", fix=_fix_issuer(config), detail=repr(document)[:200]
        )
    missing = [key for key in _REQUIRED if not isinstance(document.get(key), str) or not document.get(key)]
    if missing:
        raise DiscoveryInvalid(
            f"The discovery document at {url} lacks {', '.join(missing)}: it is not an OpenID Connect provider's.",
            fix=_fix_issuer(config),
        )
    issuer = document["issuer"]
    # Discovery §4.3: the issuer in the document MUST match the one used to fetch it.
    if issuer.rstrip("/") != config.issuer.rstrip("/"):
        raise DiscoveryInvalid(
            f"The discovery document at {url} names its issuer {issuer}, but this provider is configured "
            f"with {config.issuer}.",
            fix=f"If {issuer} is right, set it: gatepass provider update {config.name} --issuer {issuer}",
        )
    for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        value = document.get(key)
        if value is not None and (not isinstance(value, str) or not value.startswith(("https://", "http://"))):
            raise DiscoveryInvalid(
                f"The discovery document at {url} has an invalid {key}: {value!r}.",
                fix="Report this to the provider's administrator.",
            )
    preset = PRESETS[config.preset]
    algorithms = _strings(document, "id_token_signing_alg_values_supported") or ("RS256",)
    if not preset.allow_hs256_id_token:
        algorithms = tuple(alg for alg in algorithms if alg != "HS256")
    if preset.is_openid and not isinstance(document.get("jwks_uri"), str) and not preset.allow_hs256_id_token:
        raise DiscoveryInvalid(
            f"The discovery document at {url} has no jwks_uri, so id_token signatures cannot be checked.",
            fix="Use a provider that publishes its keys (jwks_uri), or the frappe preset for a Frappe server.",
        )
    return ProviderEndpoints(
        issuer=issuer,
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        userinfo_endpoint=document.get("userinfo_endpoint"),
        jwks_uri=document.get("jwks_uri"),
        id_token_algorithms=algorithms,
        # RFC 8414 §2: when omitted, the default is client_secret_basic.
        token_endpoint_auth_methods=_strings(document, "token_endpoint_auth_methods_supported")
        or ("client_secret_basic",),
        is_openid=preset.is_openid,
    )


async def resolve_endpoints(config: ProviderConfig, http: AsyncOAuth2Client) -> ProviderEndpoints:
    """The provider's endpoints, fetched fresh: a changed provider or key takes effect at once."""
    preset = PRESETS[config.preset]
    if not preset.uses_discovery:
        return _static_endpoints(config, preset)
    url = config.issuer.rstrip("/") + DISCOVERY_PATH
    try:
        response = await http.request("GET", url, withhold_token=True, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise unreachable(config, url, exc) from None
    if response.status_code != 200:
        hint = " The issuer URL is probably wrong." if response.status_code == 404 else ""
        raise DiscoveryInvalid(
            f"{url} answered HTTP {response.status_code} instead of the provider's discovery document.{hint}",
            fix=f"The issuer is the provider's base URL, under which {DISCOVERY_PATH} is found. " + _fix_issuer(config),
        )
    try:
        document = response.json()
    except ValueError:
        kind = response.headers.get("content-type", "no content type")
        start = " ".join(response.text[:80].split())
        raise DiscoveryInvalid(
            f"{url} did not answer with JSON: it sent {kind}, starting {start!r}. "
            "A login page or a proxy's error page means the issuer URL points at the wrong place.",
            fix=f"The issuer is the provider's base URL, under which {DISCOVERY_PATH} is a JSON document. "
            + _fix_issuer(config),
        ) from None
    return parse_discovery(config, url, document)


async def fetch_jwks(
    config: ProviderConfig, endpoints: ProviderEndpoints, http: AsyncOAuth2Client
) -> list[dict[str, Any]]:
    """The provider's public keys (fetched per login, so rotated keys are always known)."""
    if endpoints.jwks_uri is None:
        return []
    try:
        response = await http.request("GET", endpoints.jwks_uri, withhold_token=True)
    except httpx.HTTPError as exc:
        raise unreachable(config, endpoints.jwks_uri, exc) from None
    try:
        keys = response.json().get("keys") if response.status_code == 200 else None
    except (ValueError, AttributeError):
        keys = None
    if not isinstance(keys, list) or not all(isinstance(key, dict) for key in keys):
        raise DiscoveryInvalid(
            f"The provider's jwks_uri {endpoints.jwks_uri} did not return a JWK Set (HTTP {response.status_code}).",
            fix="Report this to the provider's administrator.",
        )
    return keys
