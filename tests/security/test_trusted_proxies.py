"""Behind a trusted reverse proxy, each client has its own login budget; elsewhere forwarding headers count for nothing.

The server listens on 127.0.0.1 and the tests connect from there, as the documented nginx does;
they send the X-Forwarded-For or Forwarded header that proxy would. The per-address login rate
limit, the lockouts and the audit all count the address ``client_ip`` resolves.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from gatepass.config import SettingsError, load_settings
from support.html import page_text, parse_forms
from support.rows import audit_events
from support.server import LiveServer

LIMIT = 3
TOO_MANY = "Too many login attempts from your network. Try again in"


def _bad_login(server: LiveServer, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(base_url=server.url, headers=headers) as browser:
        page = browser.get("/login")
        form = next(form for form in parse_forms(page.text) if form.action == "/login")
        return browser.post("/login", data={**form.fields, "email": "nobody@example.com", "password": "wrong-password"})


def _statuses(server: LiveServer, headers: dict[str, str], count: int) -> list[int]:
    return [_bad_login(server, headers).status_code for _ in range(count)]


def _proxied(start_server: Callable[..., LiveServer], proxies: str = "127.0.0.1") -> LiveServer:
    return start_server(
        "sqlite",
        GATEPASS_SERVER_TRUSTED_PROXIES=proxies,
        GATEPASS_RATE_LIMITS_LOGIN_PER_IP_PER_MINUTE=str(LIMIT),
        # Many failures for one email from one address are the lockout's business, not this test's.
        GATEPASS_SECURITY_LOGIN_FAILURES_BEFORE_LOCKOUT="100",
    )


def test_behind_a_trusted_proxy_one_client_exhausting_its_budget_leaves_others_theirs(
    start_server: Callable[..., LiveServer],
) -> None:
    server = _proxied(start_server)
    noisy, quiet = {"X-Forwarded-For": "203.0.113.10"}, {"X-Forwarded-For": "198.51.100.20"}
    assert _statuses(server, noisy, LIMIT) == [401] * LIMIT
    limited = _bad_login(server, noisy)
    assert limited.status_code == 429
    assert TOO_MANY in page_text(limited.text)
    assert _statuses(server, quiet, 1) == [401]
    assert _statuses(server, {"Forwarded": 'for="198.51.100.21:4711";proto=https'}, 1) == [401]
    # A Forwarded header that names no client (only proto=) says nothing against X-Forwarded-For.
    assert _statuses(server, {"X-Forwarded-For": "198.51.100.22", "Forwarded": "proto=https"}, 1) == [401]
    ips = [ip for _, ip, _ in audit_events(server, "login.failed")]
    assert ips == ["203.0.113.10"] * LIMIT + ["198.51.100.20", "198.51.100.21", "198.51.100.22"]


def test_the_right_most_untrusted_address_counts_so_a_client_cannot_pick_its_own(
    start_server: Callable[..., LiveServer],
) -> None:
    server = _proxied(start_server, "127.0.0.1, 10.0.0.0/8")
    # nginx appends the address it saw; what the client wrote itself is to its left.
    for spoofed in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        assert _statuses(server, {"X-Forwarded-For": f"{spoofed}, 203.0.113.30"}, 1) == [401]
    # A second proxy of our own (10.0.0.0/8) between client and nginx is skipped as well.
    assert _statuses(server, {"X-Forwarded-For": "192.0.2.4, 203.0.113.30, 10.1.2.3"}, 1) == [429]
    assert [ip for _, ip, _ in audit_events(server, "login.failed")] == ["203.0.113.30"] * LIMIT


def test_headers_that_disagree_count_as_the_proxy_itself(start_server: Callable[..., LiveServer]) -> None:
    server = _proxied(start_server)
    forged = {"X-Forwarded-For": "203.0.113.40", "Forwarded": "for=198.51.100.41"}
    assert _statuses(server, forged, LIMIT + 1) == [401] * LIMIT + [429]
    assert _statuses(server, {"X-Forwarded-For": "203.0.113.40"}, 1) == [401]
    assert {ip for _, ip, _ in audit_events(server, "login.failed")} == {"127.0.0.1", "203.0.113.40"}


def test_without_trusted_proxies_forwarding_headers_are_ignored(start_server: Callable[..., LiveServer]) -> None:
    server = start_server("sqlite", GATEPASS_RATE_LIMITS_LOGIN_PER_IP_PER_MINUTE=str(LIMIT))
    statuses = [
        _bad_login(server, {"X-Forwarded-For": f"203.0.113.{host}"}).status_code for host in range(50, 50 + LIMIT + 1)
    ]
    assert statuses == [401] * LIMIT + [429]
    assert {ip for _, ip, _ in audit_events(server, "login.failed")} == {"127.0.0.1"}


def test_a_trusted_proxies_entry_that_is_not_an_address_stops_startup() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"GATEPASS_SERVER_TRUSTED_PROXIES": "10.0.0.0/8 proxy.internal"})
    assert (
        str(caught.value) == "server.trusted_proxies: 'proxy.internal' is not an IP address or CIDR such as 10.0.0.0/8"
    )
