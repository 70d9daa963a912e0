"""Redirect URI matching (RFC 6749 §3.1.2, RFC 9700 §4.1.3, RFC 8252 §7.3 and §8.4).

Exact string comparison, with one exception: a native app's loopback IP redirect URI matches
on any port (RFC 8252 §7.3). Registration accepts https, loopback http, and private-use
schemes with a dot (RFC 8252 §7.1); fragments never (RFC 6749 §3.1.2). A registered URI must
also read the way a browser goes (RFC 3986 §7.6, RFC 9700 §4.1): no user information before
the host, no invisible or control characters, a real port, a host of plain name characters.

https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2, https://www.rfc-editor.org/rfc/rfc9700,
https://www.rfc-editor.org/rfc/rfc8252, https://url.spec.whatwg.org/#host-parsing
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
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

    @property
    def closest_host(self) -> str | None:
        """All that anyone but an admin sees of the registered URIs: the closest one's host (or app scheme)."""
        if self.closest is None:
            return None
        return build_display_host(self.closest) or f"{urlsplit(self.closest).scheme}:"


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


def _position(index: int) -> str:
    return f"at character {index + 1}"


def _check_characters(uri: str) -> None:
    for index, char in enumerate(uri):
        category = unicodedata.category(char)
        if category == "Cc":
            raise InvalidRedirectUri(
                f"'{uri}' contains the control character U+{ord(char):04X} {_position(index)}; "
                "no redirect URI holds one"
            )
        if category == "Cf":
            # U+202E and the other bidirectional controls make a URI read as another one (RFC 3986 §7.6).
            name = unicodedata.name(char, "FORMAT CHARACTER")
            raise InvalidRedirectUri(
                f"'{uri}' contains U+{ord(char):04X} {name} {_position(index)}, an invisible character "
                "that changes how the URI reads"
            )


#: WHATWG URL host parsing: a name whose last label is a number is read as an IPv4 address.
_NUMERIC_LABEL = re.compile(r"(?:[0-9]+|0[xX][0-9A-Fa-f]*)")
_NAME_CHARACTERS = re.compile(r"[A-Za-z0-9._-]+")


def _check_host(uri: str, host: str) -> None:
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host.removeprefix("[").removesuffix("]"))
        except ValueError:
            raise InvalidRedirectUri(f"'{uri}' has an IPv6 address that is not valid") from None
        return
    labels = host.rstrip(".").split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        # A browser reads 0x7f.1 or 2130706433 as 127.0.0.1: only the usual form says where it goes.
        try:
            is_plain = str(ipaddress.IPv4Address(host)) == host
        except ValueError:
            is_plain = False
        if not is_plain:
            raise InvalidRedirectUri(f"'{uri}' has a numeric host; write an IP address as four decimal numbers")
        return
    ascii_host = host
    if not host.isascii():
        try:
            ascii_host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidRedirectUri(f"'{uri}' has a host that is not a valid internationalised domain name") from None
        if ascii_host.encode("ascii").decode("idna") != host.lower():
            # IDNA 2003 and the browsers' UTS 46 map some characters (ß, ς) differently: only the ASCII form is sure.
            raise InvalidRedirectUri(
                f"'{uri}' has a host that browsers may read differently; register it in its ASCII (xn--) form"
            )
    bad = _NAME_CHARACTERS.sub("", ascii_host)
    if bad:
        raise InvalidRedirectUri(
            f"'{uri}' has the character '{bad[0]}' in its host; a host name has only letters, digits, '-' and '.'"
        )


def _split_authority(netloc: str) -> tuple[str, str | None]:
    """(host, port text or None) of an authority without user information."""
    if netloc.startswith("["):
        end = netloc.find("]")
        if end == -1:
            return netloc, None
        rest = netloc[end + 1 :]
        return netloc[: end + 1], rest[1:] if rest.startswith(":") else (rest or None)
    host, colon, port = netloc.partition(":")
    return host, port if colon else None


def check_redirect_uri_is_unambiguous(uri: str) -> None:
    """The URI goes where it reads: no user information, control or invisible characters, bad port or host.

    Applied at registration and again before any redirect, for URIs stored before these rules.
    """
    _check_characters(uri)
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise InvalidRedirectUri(f"'{uri}' is not a valid URI") from None
    netloc = parts.netloc
    if "\\" in netloc:
        raise InvalidRedirectUri(f"'{uri}' has a backslash in its host; browsers read it as '/', so it goes elsewhere")
    if "@" in netloc:
        # RFC 3986 §7.6: https://app.example.com:443@evil.com/ goes to evil.com.
        userinfo, _, real_host = netloc.rpartition("@")
        raise InvalidRedirectUri(
            f"'{uri}' has user information ('{userinfo}') before '@'; a browser would go to '{real_host}'"
        )
    if not netloc:
        return
    host, port = _split_authority(netloc)
    if port is not None and not (port.isascii() and port.isdigit() and 0 < int(port) <= 65535):
        raise InvalidRedirectUri(f"'{uri}' has the port '{port}'; a port is a number from 1 to 65535")
    if host:
        _check_host(uri, host)


def check_redirect_uri_for_registration(uri: str, *, allow_http: bool = False) -> None:
    """A URI fit to register: absolute, no fragment, https or loopback http or a private-use scheme,
    and unambiguous (``check_redirect_uri_is_unambiguous``). The CLI, the admin console and RFC 7591
    registration all call this one function."""
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
    check_redirect_uri_is_unambiguous(uri)
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


_DEFAULT_PORTS = {"http": 80, "https": 443}


def build_display_host(uri: str) -> str | None:
    """The host a browser goes to for ``uri``, as its address bar names it: lower case, IDNA (punycode)
    for a non-ASCII name, and the port only when it is not the scheme's default. None for a URI that
    is not http or https (a native app's scheme), or has no host.

    Punycode rather than Unicode: a look-alike name (Cyrillic letters that look Latin) then cannot pass for another.
    """
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if not host or parts.scheme.lower() not in _DEFAULT_PORTS:
        return None
    if ":" in host:
        host = f"[{host}]"
    elif not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            host = host.encode("ascii", "backslashreplace").decode("ascii")
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    return host
