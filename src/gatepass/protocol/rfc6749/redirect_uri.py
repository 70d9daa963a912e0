"""Redirect URI matching (RFC 6749 §3.1.2, RFC 9700 §4.1.3, RFC 8252 §7.3 and §8.4).

Exact string comparison, with one exception: a native app's loopback IP redirect URI matches
on any port (RFC 8252 §7.3). Registration accepts https, loopback http, and private-use
schemes with a dot (RFC 8252 §7.1); fragments never (RFC 6749 §3.1.2).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from gatepass.protocol.errors import InvalidRedirectUri, InvalidRequest
from gatepass.protocol.values import ClientInfo


@dataclass(frozen=True)
class RedirectUriMismatch:
    """What the integrator needs to fix a mismatch: what was sent, what is registered, where they part."""

    sent: str
    registered: tuple[str, ...]
    closest: str | None
    first_difference_at: int | None


class RedirectUriNotRegistered(InvalidRedirectUri):
    def __init__(self, mismatch: RedirectUriMismatch) -> None:
        super().__init__("redirect_uri does not exactly match any redirect URI registered for this client")
        self.mismatch = mismatch


def _is_loopback_ip(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redirect_uri_matches(sent: str, registered: str) -> bool:
    if sent == registered:
        return True
    # RFC 8252 §7.3: a loopback IP redirect URI matches on any port; everything else exactly.
    try:
        sent_parts, registered_parts = urlsplit(sent), urlsplit(registered)
        _ = sent_parts.port  # raises ValueError on a malformed port
    except ValueError:
        return False
    if registered_parts.scheme != "http" or not _is_loopback_ip(registered_parts.hostname):
        return False

    def without_port(parts: SplitResult) -> tuple[str, str | None, str, str, str, str | None]:
        return (parts.scheme, parts.hostname, parts.path, parts.query, parts.fragment, parts.username)

    return without_port(sent_parts) == without_port(registered_parts)


def _first_difference(left: str, right: str) -> int:
    for index, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            return index
    return min(len(left), len(right))


def explain_mismatch(sent: str, registered: tuple[str, ...]) -> RedirectUriMismatch:
    if not registered:
        return RedirectUriMismatch(sent, registered, None, None)
    closest = max(registered, key=lambda uri: (_first_difference(sent, uri), -abs(len(uri) - len(sent))))
    return RedirectUriMismatch(sent, registered, closest, _first_difference(sent, closest))


def resolve_redirect_uri(sent: str | None, client: ClientInfo) -> str:
    """The redirect URI to use: the one sent if registered, else the client's default."""
    if sent is None:
        if client.default_redirect_uri:
            return client.default_redirect_uri
        if len(client.redirect_uris) == 1:
            return client.redirect_uris[0]
        raise InvalidRequest("redirect_uri is required: this client has no default redirect URI")
    if any(redirect_uri_matches(sent, uri) for uri in client.redirect_uris):
        return sent
    raise RedirectUriNotRegistered(explain_mismatch(sent, client.redirect_uris))


def check_redirect_uri_for_registration(uri: str, *, allow_http: bool = False) -> None:
    """A URI fit to register: absolute, no fragment, https or loopback http or a private-use scheme."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise InvalidRedirectUri(f"'{uri}' is not a valid URI") from None
    if not parts.scheme:
        raise InvalidRedirectUri(f"'{uri}' is not absolute; include the scheme, e.g. https://")
    if parts.fragment or "#" in uri:
        raise InvalidRedirectUri(f"'{uri}' has a fragment; RFC 6749 section 3.1.2 forbids it")
    if any(ch.isspace() for ch in uri):
        raise InvalidRedirectUri(f"'{uri}' contains white space")
    if parts.scheme == "https":
        if not parts.hostname:
            raise InvalidRedirectUri(f"'{uri}' has no host")
        return
    if parts.scheme == "http":
        if _is_loopback_ip(parts.hostname) or parts.hostname == "localhost" or allow_http:
            return
        raise InvalidRedirectUri(f"'{uri}' uses http on a non-loopback host; use https (RFC 9700 section 2.6)")
    if parts.scheme in ("javascript", "data", "file", "vbscript"):
        raise InvalidRedirectUri(f"'{uri}' uses a scheme that is never allowed")
    # RFC 8252 §7.1: private-use schemes are reverse domain names such as com.example.app.
    if "." not in parts.scheme:
        raise InvalidRedirectUri(
            f"'{uri}' uses the scheme '{parts.scheme}'; a native app's private-use scheme must be a "
            "reverse domain name such as com.example.app (RFC 8252 section 7.1)"
        )
