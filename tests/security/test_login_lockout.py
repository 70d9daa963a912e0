"""Failed logins lock out the address they come from, not the account's owner elsewhere.

Five failures for one email from one address lock that address out of that email, for a time
that doubles with each further failure up to a cap; the owner logs in from another address all
the while. Over every address together, a far higher count locks the email out everywhere
(guessing spread over many addresses). Each lockout is audited. Clients are told apart through
a trusted proxy's X-Forwarded-For, as behind the documented nginx.

The counts and times come from the clock server's settings (low counts, a short cap); a lockout
ends by moving the server's clock past it. Each test has a user and addresses of its own.
"""

from __future__ import annotations

from typing import Any

import httpx

from support.clock_server import ClockServer
from support.html import page_text, parse_forms
from support.rows import audit_events, user_id
from support.server import LiveServer

WRONG = "not-the-password"


def _login(server: LiveServer, email: str, password: str, address: str) -> httpx.Response:
    with httpx.Client(base_url=server.url, headers={"X-Forwarded-For": address}) as browser:
        page = browser.get("/login")
        form = next(form for form in parse_forms(page.text) if form.action == "/login")
        return browser.post("/login", data={**form.fields, "email": email, "password": password})


def _retry_after(response: httpx.Response) -> int:
    assert response.status_code == 429, page_text(response.text)
    seconds = int(response.headers["retry-after"])
    assert f"Too many failed attempts. Try again in {seconds} seconds." in page_text(response.text)
    return seconds


def _events(server: LiveServer, event: str, user: dict[str, Any]) -> list[tuple[str | None, dict[str, Any]]]:
    """(ip, detail) of each ``event`` about ``user``: the server is shared with other tests."""
    own_id = user_id(server, user["email"])
    return [(ip, detail) for found_id, ip, detail in audit_events(server, event) if found_id == own_id]


def _fail(server: LiveServer, user: dict[str, Any], address: str, times: int) -> list[int]:
    return [_login(server, user["email"], WRONG, address).status_code for _ in range(times)]


def test_failures_from_one_address_do_not_lock_the_owner_out_elsewhere(clock_server: ClockServer) -> None:
    security = clock_server.settings.security
    user = clock_server.create_user()
    attacker, owner = "203.0.113.66", "198.51.100.7"
    assert _fail(clock_server, user, attacker, security.login_failures_before_lockout) == [401] * (
        security.login_failures_before_lockout
    )
    assert 0 < _retry_after(_login(clock_server, user["email"], user["password"], attacker)) <= 300
    assert _login(clock_server, user["email"], user["password"], owner).status_code == 303
    assert _events(clock_server, "login.lockout", user) == [
        (attacker, {"scope": "source", "failures": security.login_failures_before_lockout, "seconds": 300})
    ]
    # A refused login is recorded before the email is looked up, so it names no user: found by its address.
    locked = [(ip, detail) for _, ip, detail in audit_events(clock_server, "login.locked") if ip == attacker]
    assert locked == [(attacker, {"scope": "source"})]


def test_a_lockout_ends_after_its_time_and_each_failure_after_one_doubles_the_next_up_to_the_cap(
    clock_server: ClockServer,
) -> None:
    security = clock_server.settings.security
    assert (security.login_lockout_seconds, security.login_lockout_max_seconds) == (300, 1000)
    user = clock_server.create_user()
    attacker = "203.0.113.67"
    _fail(clock_server, user, attacker, security.login_failures_before_lockout)
    waits = [_retry_after(_login(clock_server, user["email"], WRONG, attacker))]
    for _ in range(3):
        clock_server.clock.advance(seconds=waits[-1] - 2)
        _retry_after(_login(clock_server, user["email"], WRONG, attacker))
        clock_server.clock.advance(seconds=3)
        assert _login(clock_server, user["email"], WRONG, attacker).status_code == 401
        waits.append(_retry_after(_login(clock_server, user["email"], WRONG, attacker)))
    assert 290 < waits[0] <= 300
    assert 590 < waits[1] <= 600
    assert 990 < waits[2] <= 1000
    assert 990 < waits[3] <= 1000
    assert [detail["seconds"] for _, detail in _events(clock_server, "login.lockout", user)] == [300, 600, 1000, 1000]
    # Once the last lockout is over, the owner's password works from that address again.
    clock_server.clock.advance(seconds=waits[-1] + 1)
    assert _login(clock_server, user["email"], user["password"], attacker).status_code == 303


def test_guessing_from_many_addresses_meets_the_ceiling_for_the_email(clock_server: ClockServer) -> None:
    security = clock_server.settings.security
    per_address = security.login_failures_before_lockout
    addresses = security.login_failures_before_account_lockout // per_address
    assert addresses * per_address == security.login_failures_before_account_lockout
    user = clock_server.create_user()
    for host in range(1, addresses + 1):
        assert _fail(clock_server, user, f"203.0.113.{host}", per_address) == [401] * per_address
    assert 0 < _retry_after(_login(clock_server, user["email"], user["password"], "198.51.100.8")) <= 300
    scopes = [detail["scope"] for _, detail in _events(clock_server, "login.lockout", user)]
    assert scopes == ["source"] * addresses + ["account"]


def test_a_success_starts_only_its_own_address_over(sqlite_clock_server: ClockServer) -> None:
    server = sqlite_clock_server
    below = server.settings.security.login_failures_before_lockout - 1
    user = server.create_user()
    _fail(server, user, "198.51.100.9", below)
    assert _login(server, user["email"], user["password"], "198.51.100.9").status_code == 303
    assert _fail(server, user, "198.51.100.9", below) == [401] * below
    assert _login(server, user["email"], user["password"], "198.51.100.9").status_code == 303


def test_an_ipv6_client_is_counted_by_its_slash_64(sqlite_clock_server: ClockServer) -> None:
    server = sqlite_clock_server
    user = server.create_user()
    for host in range(1, server.settings.security.login_failures_before_lockout + 1):
        assert _login(server, user["email"], WRONG, f"2001:db8:1:2::{host}").status_code == 401
    _retry_after(_login(server, user["email"], user["password"], "2001:db8:1:2::ffff"))
    assert _login(server, user["email"], user["password"], "2001:db8:1:3::1").status_code == 303
