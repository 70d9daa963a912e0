"""Redirect URIs: exact match, loopback any-port (RFC 8252 §7.3), mismatch explanation, registration checks."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gatepass.protocol.errors import InvalidRedirectUri, InvalidRequest
from gatepass.protocol.rfc6749.redirect_uri import (
    RedirectUriMismatch,
    RedirectUriNotRegistered,
    build_display_host,
    check_redirect_uri_for_registration,
    check_redirect_uri_is_unambiguous,
    explain_mismatch,
    redirect_uri_matches,
    resolve_redirect_uri,
)
from gatepass.protocol.values import ClientInfo

MATCHES: dict[str, tuple[str, str, bool]] = {
    "identical https": ("https://app.example.com/cb", "https://app.example.com/cb", True),
    "identical with query": ("https://app.example.com/cb?x=1", "https://app.example.com/cb?x=1", True),
    "trailing slash differs": ("https://app.example.com/cb/", "https://app.example.com/cb", False),
    "path case differs": ("https://app.example.com/CB", "https://app.example.com/cb", False),
    "host case differs: no normalisation": ("https://App.example.com/cb", "https://app.example.com/cb", False),
    "extra query parameter": ("https://app.example.com/cb?x=1", "https://app.example.com/cb", False),
    "default port spelled out": ("https://app.example.com:443/cb", "https://app.example.com/cb", False),
    "other https port": ("https://app.example.com:8443/cb", "https://app.example.com/cb", False),
    "subdomain of the registered host": ("https://evil.app.example.com/cb", "https://app.example.com/cb", False),
    "percent-encoded path": ("https://app.example.com/%63b", "https://app.example.com/cb", False),
    "127.0.0.1 any port": ("http://127.0.0.1:51004/cb", "http://127.0.0.1/cb", True),
    "127.0.0.1 registered with a port, other port sent": ("http://127.0.0.1:9000/cb", "http://127.0.0.1:8000/cb", True),
    "127.0.0.1 port removed": ("http://127.0.0.1/cb", "http://127.0.0.1:8000/cb", True),
    "[::1] any port": ("http://[::1]:51004/cb", "http://[::1]/cb", True),
    "127.0.0.1 path must still match": ("http://127.0.0.1:51004/other", "http://127.0.0.1/cb", False),
    "127.0.0.1 query must still match": ("http://127.0.0.1:51004/cb?x=1", "http://127.0.0.1/cb", False),
    "127.0.0.1 and [::1] are different hosts": ("http://[::1]:51004/cb", "http://127.0.0.1/cb", False),
    "other loopback address": ("http://127.0.0.2:51004/cb", "http://127.0.0.1/cb", False),
    "localhost gets no port exception": ("http://localhost:51004/cb", "http://localhost/cb", False),
    "https loopback gets no port exception": ("https://127.0.0.1:51004/cb", "https://127.0.0.1/cb", False),
    "scheme differs on loopback": ("https://127.0.0.1:51004/cb", "http://127.0.0.1/cb", False),
    "userinfo added to loopback": ("http://evil@127.0.0.1:51004/cb", "http://127.0.0.1/cb", False),
    "userinfo hiding another host": ("http://127.0.0.1:80@evil.example/cb", "http://127.0.0.1/cb", False),
    "malformed port": ("http://127.0.0.1:abc/cb", "http://127.0.0.1/cb", False),
    "port out of range": ("http://127.0.0.1:70000/cb", "http://127.0.0.1/cb", False),
    "non-loopback http with another port": ("http://app.example.com:8080/cb", "http://app.example.com/cb", False),
}


@pytest.mark.parametrize(("sent", "registered", "expected"), list(MATCHES.values()), ids=list(MATCHES))
def test_redirect_uri_matches_exactly_except_loopback_ip_port(sent: str, registered: str, expected: bool) -> None:
    assert redirect_uri_matches(sent, registered) is expected


RESOLVED: dict[str, tuple[str | None, dict[str, object], str]] = {
    "registered URI sent": (
        "https://app.example.com/b",
        {"redirect_uris": ("https://app.example.com/a", "https://app.example.com/b")},
        "https://app.example.com/b",
    ),
    "loopback URI keeps the port that was sent": (
        "http://127.0.0.1:51004/cb",
        {"redirect_uris": ("http://127.0.0.1/cb",)},
        "http://127.0.0.1:51004/cb",
    ),
    "none sent: the client's default": (
        None,
        {
            "redirect_uris": ("https://app.example.com/a", "https://app.example.com/b"),
            "default_redirect_uri": "https://app.example.com/b",
        },
        "https://app.example.com/b",
    ),
    "none sent: the only registered URI": (
        None,
        {"redirect_uris": ("https://app.example.com/only",)},
        "https://app.example.com/only",
    ),
}


@pytest.mark.parametrize(("sent", "overrides", "expected"), list(RESOLVED.values()), ids=list(RESOLVED))
def test_resolve_redirect_uri_returns_the_uri_to_redirect_to(
    make_client: Callable[..., ClientInfo], sent: str | None, overrides: dict[str, object], expected: str
) -> None:
    assert resolve_redirect_uri(sent, make_client(**overrides)) == expected


def test_resolve_redirect_uri_requires_one_when_several_are_registered_and_no_default(
    make_client: Callable[..., ClientInfo],
) -> None:
    client = make_client(redirect_uris=("https://app.example.com/a", "https://app.example.com/b"))

    with pytest.raises(InvalidRequest) as caught:
        resolve_redirect_uri(None, client)

    assert caught.value.error == "invalid_request"
    assert caught.value.description == "redirect_uri is required: this client has no default redirect URI"


def test_unregistered_redirect_uri_is_not_redirectable_and_explains_the_mismatch(
    make_client: Callable[..., ClientInfo],
) -> None:
    client = make_client(redirect_uris=("https://other.example.com/cb", "https://app.example.com/callback"))

    with pytest.raises(RedirectUriNotRegistered) as caught:
        resolve_redirect_uri("https://app.example.com/callbak", client)

    error = caught.value
    assert isinstance(error, InvalidRedirectUri)
    assert (error.error, error.status_code, error.redirectable) == ("invalid_redirect_uri", 400, False)
    assert error.description == "redirect_uri does not exactly match any redirect URI registered for this client"
    assert error.mismatch == RedirectUriMismatch(
        sent="https://app.example.com/callbak",
        registered=("https://other.example.com/cb", "https://app.example.com/callback"),
        closest="https://app.example.com/callback",
        first_difference_at=30,
    )


def test_unregistered_redirect_uri_is_rejected_even_when_a_default_exists(
    make_client: Callable[..., ClientInfo],
) -> None:
    client = make_client(default_redirect_uri="https://app.example.com/callback")

    with pytest.raises(RedirectUriNotRegistered):
        resolve_redirect_uri("https://evil.example/callback", client)


MISMATCHES: dict[str, tuple[str, tuple[str, ...], str | None, int | None]] = {
    "nothing registered": ("https://app.example.com/cb", (), None, None),
    "typo near the end": (
        "https://app.example.com/callbak",
        ("https://other.example.com/cb", "https://app.example.com/callback"),
        "https://app.example.com/callback",
        30,
    ),
    "sent is a prefix of a registered URI": (
        "https://app.example.com/cb",
        ("https://app.example.com/cb/extra", "https://app.example.com/c"),
        "https://app.example.com/cb/extra",
        26,
    ),
    "http sent where https is registered": (
        "http://app.example.com/callback",
        ("https://app.example.com/callback",),
        "https://app.example.com/callback",
        4,
    ),
    "equal common prefix: the closer length wins": (
        "https://a.example/x1",
        ("https://a.example/y2345", "https://a.example/y"),
        "https://a.example/y",
        18,
    ),
}


@pytest.mark.parametrize(
    ("sent", "registered", "closest", "first_difference_at"), list(MISMATCHES.values()), ids=list(MISMATCHES)
)
def test_explain_mismatch_names_the_closest_uri_and_first_differing_index(
    sent: str, registered: tuple[str, ...], closest: str | None, first_difference_at: int | None
) -> None:
    mismatch = explain_mismatch(sent, registered)

    assert mismatch == RedirectUriMismatch(sent, registered, closest, first_difference_at)
    if closest is not None and first_difference_at is not None:
        assert sent[:first_difference_at] == closest[:first_difference_at]


REGISTRABLE: dict[str, str] = {
    "https": "https://app.example.com/callback",
    "https with port and query": "https://app.example.com:8443/callback?tenant=7",
    "http on 127.0.0.1": "http://127.0.0.1/callback",
    "http on 127.0.0.1 with port": "http://127.0.0.1:8000/callback",
    "http on [::1]": "http://[::1]/callback",
    "http on localhost": "http://localhost:3000/callback",
    "private-use scheme": "com.example.app:/cb",
    "private-use scheme with authority": "com.example.app://oauth/cb",
    "internationalised host": "https://b\u00fccher.example/cb",
    "punycode host": "https://xn--bcher-kva.example/cb",
    "highest port": "https://app.example.com:65535/cb",
    "host with a trailing dot": "https://app.example.com./cb",
    "IPv6 host with port": "https://[2001:db8::1]:8443/cb",
    "at sign in the path": "https://app.example.com/users/@me/cb",
    "at sign in the query": "https://app.example.com/cb?by=a@b.example",
}


@pytest.mark.parametrize("uri", list(REGISTRABLE.values()), ids=list(REGISTRABLE))
def test_registration_accepts_https_loopback_http_and_private_use_schemes(uri: str) -> None:
    check_redirect_uri_for_registration(uri)  # check_* raises on failure


def test_registration_accepts_http_on_any_host_only_when_allowed() -> None:
    with pytest.raises(InvalidRedirectUri):
        check_redirect_uri_for_registration("http://intranet.example.com/cb")

    check_redirect_uri_for_registration("http://intranet.example.com/cb", allow_http=True)  # check_* raises on failure


NOT_REGISTRABLE: dict[str, tuple[str, str]] = {
    "http on a public host": (
        "http://app.example.com/callback",
        "'http://app.example.com/callback' uses http on a non-loopback host; use https (RFC 9700 section 2.6)",
    ),
    "http on a host that only starts like a loopback IP": (
        "http://127.0.0.1.evil.example/cb",
        "'http://127.0.0.1.evil.example/cb' uses http on a non-loopback host; use https (RFC 9700 section 2.6)",
    ),
    "fragment": (
        "https://app.example.com/cb#frag",
        "'https://app.example.com/cb#frag' has a fragment; RFC 6749 section 3.1.2 forbids it",
    ),
    "empty fragment": (
        "https://app.example.com/cb#",
        "'https://app.example.com/cb#' has a fragment; RFC 6749 section 3.1.2 forbids it",
    ),
    "relative path": ("/callback", "'/callback' is not absolute; include the scheme, e.g. https://"),
    "host without scheme": (
        "//app.example.com/cb",
        "'//app.example.com/cb' is not absolute; include the scheme, e.g. https://",
    ),
    "https without host": ("https:///callback", "'https:///callback' has no host"),
    "white space": ("https://app.example.com/call back", "'https://app.example.com/call back' contains white space"),
    "javascript": ("javascript:alert(1)", "'javascript:alert(1)' uses a scheme that is never allowed"),
    "javascript in capitals": ("JavaScript:alert(1)", "'JavaScript:alert(1)' uses a scheme that is never allowed"),
    "data": ("data:text/html,hi", "'data:text/html,hi' uses a scheme that is never allowed"),
    "file": ("file:///etc/passwd", "'file:///etc/passwd' uses a scheme that is never allowed"),
    "vbscript": ("vbscript:msgbox", "'vbscript:msgbox' uses a scheme that is never allowed"),
    "private-use scheme without a dot": (
        "myapp:/cb",
        "'myapp:/cb' uses the scheme 'myapp'; a native app's private-use scheme must be a reverse domain name "
        "such as com.example.app (RFC 8252 section 7.1)",
    ),
    "bad IPv6 literal": ("https://[::1/cb", "'https://[::1/cb' is not a valid URI"),
}


@pytest.mark.parametrize(("uri", "description"), list(NOT_REGISTRABLE.values()), ids=list(NOT_REGISTRABLE))
def test_registration_rejects_unsafe_redirect_uris(uri: str, description: str) -> None:
    with pytest.raises(InvalidRedirectUri) as caught:
        check_redirect_uri_for_registration(uri)

    assert caught.value.error == "invalid_redirect_uri"
    assert caught.value.redirectable is False
    assert caught.value.description == description


#: RFC 3986 §7.6 and RFC 9700 §4.1: each of these reads as one place and goes to another.
AMBIGUOUS: dict[str, tuple[str, str]] = {
    "userinfo that looks like the host and port": (
        "https://app.example.com:443@evil.com/cb",
        "'https://app.example.com:443@evil.com/cb' has user information ('app.example.com:443') before '@'; "
        "a browser would go to 'evil.com'",
    ),
    "userinfo on loopback http": (
        "http://app@127.0.0.1/cb",
        "'http://app@127.0.0.1/cb' has user information ('app') before '@'; a browser would go to '127.0.0.1'",
    ),
    "userinfo on a private-use scheme": (
        "com.example.app://me@oauth/cb",
        "'com.example.app://me@oauth/cb' has user information ('me') before '@'; a browser would go to 'oauth'",
    ),
    "NUL in the path": (
        "https://app.example.com/cb\x00.evil.com",
        "'https://app.example.com/cb'.evil.com' contains the control character U+0000 at character 27; "
        "no redirect URI holds one",
    ),
    "NUL in the host": (
        "https://app.example.com\x00.evil.com/cb",
        "'https://app.example.com'.evil.com/cb' contains the control character U+0000 at character 24; "
        "no redirect URI holds one",
    ),
    "DEL": (
        "https://app.example.com/c\x7fb",
        "'https://app.example.com/c'b' contains the control character U+007F at character 26; no redirect URI holds one",
    ),
    "C1 control": (
        "https://app.example.com/c\x90b",
        "'https://app.example.com/c'b' contains the control character U+0090 at character 26; no redirect URI holds one",
    ),
    "right-to-left override": (
        "https://app.example.com/\u202emoc.elgoog",
        "'https://app.example.com/'moc.elgoog' contains U+202E RIGHT-TO-LEFT OVERRIDE at character 25, "
        "an invisible character that changes how the URI reads",
    ),
    "left-to-right override": (
        "https://app.example.com/\u202dcb",
        "'https://app.example.com/'cb' contains U+202D LEFT-TO-RIGHT OVERRIDE at character 25, "
        "an invisible character that changes how the URI reads",
    ),
    "right-to-left embedding": (
        "https://app.example.com/\u202bcb",
        "'https://app.example.com/'cb' contains U+202B RIGHT-TO-LEFT EMBEDDING at character 25, "
        "an invisible character that changes how the URI reads",
    ),
    "right-to-left isolate": (
        "https://app.example.com/\u2067cb",
        "'https://app.example.com/'cb' contains U+2067 RIGHT-TO-LEFT ISOLATE at character 25, "
        "an invisible character that changes how the URI reads",
    ),
    "right-to-left mark in the host": (
        "https://app\u200f.example.com/cb",
        "'https://app'.example.com/cb' contains U+200F RIGHT-TO-LEFT MARK at character 12, "
        "an invisible character that changes how the URI reads",
    ),
    "arabic letter mark": (
        "https://app.example.com/\u061ccb",
        "'https://app.example.com/'cb' contains U+061C ARABIC LETTER MARK at character 25, "
        "an invisible character that changes how the URI reads",
    ),
    "zero width space in the host": (
        "https://app\u200b.example.com/cb",
        "'https://app'.example.com/cb' contains U+200B ZERO WIDTH SPACE at character 12, "
        "an invisible character that changes how the URI reads",
    ),
    "port above 65535": (
        "https://app.example.com:99999/cb",
        "'https://app.example.com:99999/cb' has the port '99999'; a port is a number from 1 to 65535",
    ),
    "port 0": (
        "https://app.example.com:0/cb",
        "'https://app.example.com:0/cb' has the port '0'; a port is a number from 1 to 65535",
    ),
    "empty port": (
        "https://app.example.com:/cb",
        "'https://app.example.com:/cb' has the port ''; a port is a number from 1 to 65535",
    ),
    "port that is not a number": (
        "https://app.example.com:https/cb",
        "'https://app.example.com:https/cb' has the port 'https'; a port is a number from 1 to 65535",
    ),
    "port out of range on loopback": (
        "http://127.0.0.1:70000/cb",
        "'http://127.0.0.1:70000/cb' has the port '70000'; a port is a number from 1 to 65535",
    ),
    "backslash in the host": (
        "https://evil.com\\.app.example.com/cb",
        "'https://evil.com'.app.example.com/cb' has a backslash in its host; browsers read it as '/', "
        "so it goes elsewhere",
    ),
    "percent-encoded host": (
        "https://%65vil.com/cb",
        "'https://%65vil.com/cb' has the character '%' in its host; a host name has only letters, digits, '-' and '.'",
    ),
    "hexadecimal IPv4 host": (
        "https://0x7f.1/cb",
        "'https://0x7f.1/cb' has a numeric host; write an IP address as four decimal numbers",
    ),
    "IPv4 host as one number": (
        "https://2130706433/cb",
        "'https://2130706433/cb' has a numeric host; write an IP address as four decimal numbers",
    ),
    "IDN that browsers map differently": (
        "https://stra\u00dfe.example/cb",
        "'https://stra'e.example/cb' has a host that browsers may read differently; "
        "register it in its ASCII (xn--) form",
    ),
}


@pytest.mark.parametrize(("uri", "description"), list(AMBIGUOUS.values()), ids=list(AMBIGUOUS))
def test_registration_refuses_uris_that_go_elsewhere_than_they_read(uri: str, description: str) -> None:
    with pytest.raises(InvalidRedirectUri) as caught:
        check_redirect_uri_for_registration(uri)

    assert (caught.value.error, caught.value.redirectable) == ("invalid_redirect_uri", False)
    assert caught.value.description == description
    with pytest.raises(InvalidRedirectUri):
        check_redirect_uri_is_unambiguous(uri)


def test_a_registered_uri_with_userinfo_matches_only_itself_and_is_refused_before_use(
    make_client: Callable[..., ClientInfo],
) -> None:
    legacy = "https://app.example.com:443@evil.com/cb"
    client = make_client(redirect_uris=(legacy,))

    assert resolve_redirect_uri(legacy, client) == legacy
    with pytest.raises(InvalidRedirectUri):
        check_redirect_uri_is_unambiguous(legacy)


DISPLAY_HOSTS: dict[str, tuple[str, str | None]] = {
    "plain": ("https://app.example.com/cb", "app.example.com"),
    "upper case": ("https://APP.Example.COM/cb", "app.example.com"),
    "default https port left out": ("https://app.example.com:443/cb", "app.example.com"),
    "default http port left out": ("http://127.0.0.1:80/cb", "127.0.0.1"),
    "other port shown": ("https://app.example.com:8443/cb", "app.example.com:8443"),
    "port 80 on https shown": ("https://app.example.com:80/cb", "app.example.com:80"),
    "internationalised name in punycode": ("https://b\u00fccher.example/cb", "xn--bcher-kva.example"),
    "Cyrillic look-alike in punycode": ("https://\u0430pp.example.com/cb", "xn--pp-6kc.example.com"),
    "IPv6 in brackets": ("http://[::1]:51004/cb", "[::1]:51004"),
    "userinfo dropped, as a browser does": ("https://app.example.com:443@evil.com/cb", "evil.com"),
    "private-use scheme has no host to show": ("com.example.app:/cb", None),
    "private-use scheme with authority": ("com.example.app://oauth/cb", None),
}


@pytest.mark.parametrize(("uri", "expected"), list(DISPLAY_HOSTS.values()), ids=list(DISPLAY_HOSTS))
def test_display_host_is_the_host_a_browser_goes_to(uri: str, expected: str | None) -> None:
    assert build_display_host(uri) == expected


def test_mismatch_tells_anonymous_visitors_only_the_closest_host() -> None:
    mismatch = explain_mismatch(
        "https://app.example.com/callbak", ("https://other.example.com/cb", "https://app.example.com/callback")
    )
    native = explain_mismatch("com.example.app:/cb", ("com.example.app:/callback",))

    assert mismatch.closest_host == "app.example.com"
    assert native.closest_host == "com.example.app:"
    assert explain_mismatch("https://app.example.com/cb", ()).closest_host is None
