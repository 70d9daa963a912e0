"""Failed logins lock out the address they come from, not the account's owner elsewhere.

Five failures for one email from one address lock that address out of that email, for a time
that doubles with each further failure up to a cap; the owner logs in from another address all
the while. Over every address together, a far higher count locks the email out everywhere
(guessing spread over many addresses). Each lockout is audited. Clients are told apart through
a trusted proxy's X-Forwarded-For, as behind the documented nginx.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from support.backends import BACKENDS
from support.html import page_text, parse_forms
from support.rows import audit_events, execute, user_id
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


def _let_lockouts_end(server: LiveServer) -> None:
    """What waiting would do: every running lockout ends (the failures stay counted)."""
    execute(server, "UPDATE login_throttles SET locked_until = last_failure_at")


@pytest.mark.parametrize("backend", BACKENDS)
def test_failures_from_one_address_do_not_lock_the_owner_out_elsewhere(
    backend: str, start_server: Callable[..., LiveServer]
) -> None:
    server = start_server(backend, GATEPASS_SERVER_TRUSTED_PROXIES="127.0.0.1")
    user = server.create_user()
    attacker, owner = "203.0.113.66", "198.51.100.7"
    assert [_login(server, user["email"], WRONG, attacker).status_code for _ in range(5)] == [401] * 5
    assert 0 < _retry_after(_login(server, user["email"], user["password"], attacker)) <= 300
    assert _login(server, user["email"], user["password"], owner).status_code == 303
    [(found_user_id, ip, detail)] = audit_events(server, "login.lockout")
    assert (found_user_id, ip) == (user_id(server, user["email"]), attacker)
    assert detail == {"scope": "source", "failures": 5, "seconds": 300}
    locked = audit_events(server, "login.locked")
    assert [(ip, detail) for _, ip, detail in locked] == [(attacker, {"scope": "source"})]


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_failure_after_a_lockout_doubles_the_next_up_to_the_cap(
    backend: str, start_server: Callable[..., LiveServer]
) -> None:
    server = start_server(
        backend, GATEPASS_SERVER_TRUSTED_PROXIES="127.0.0.1", GATEPASS_SECURITY_LOGIN_LOCKOUT_MAX_SECONDS="1000"
    )
    user = server.create_user()
    attacker = "203.0.113.67"
    for _ in range(5):
        _login(server, user["email"], WRONG, attacker)
    waits = [_retry_after(_login(server, user["email"], WRONG, attacker))]
    for _ in range(3):
        _let_lockouts_end(server)
        assert _login(server, user["email"], WRONG, attacker).status_code == 401
        waits.append(_retry_after(_login(server, user["email"], WRONG, attacker)))
    assert 290 < waits[0] <= 300
    assert 590 < waits[1] <= 600
    assert 990 < waits[2] <= 1000
    assert 990 < waits[3] <= 1000
    seconds = [detail["seconds"] for _, _, detail in audit_events(server, "login.lockout")]
    assert seconds == [300, 600, 1000, 1000]


@pytest.mark.parametrize("backend", BACKENDS)
def test_guessing_from_many_addresses_meets_the_ceiling_for_the_email(
    backend: str, start_server: Callable[..., LiveServer]
) -> None:
    server = start_server(
        backend,
        GATEPASS_SERVER_TRUSTED_PROXIES="127.0.0.1",
        GATEPASS_SECURITY_LOGIN_FAILURES_BEFORE_LOCKOUT="2",
        GATEPASS_SECURITY_LOGIN_FAILURES_BEFORE_ACCOUNT_LOCKOUT="6",
    )
    user = server.create_user()
    for host in range(1, 4):
        statuses = [_login(server, user["email"], WRONG, f"203.0.113.{host}").status_code for _ in range(2)]
        assert statuses == [401, 401]
    assert 0 < _retry_after(_login(server, user["email"], user["password"], "198.51.100.8")) <= 300
    scopes = [detail["scope"] for _, _, detail in audit_events(server, "login.lockout")]
    assert scopes == ["source", "source", "source", "account"]


def test_a_success_starts_only_its_own_address_over(start_server: Callable[..., LiveServer]) -> None:
    server = start_server("sqlite", GATEPASS_SERVER_TRUSTED_PROXIES="127.0.0.1")
    user = server.create_user()
    for _ in range(4):
        _login(server, user["email"], WRONG, "198.51.100.9")
    assert _login(server, user["email"], user["password"], "198.51.100.9").status_code == 303
    assert [_login(server, user["email"], WRONG, "198.51.100.9").status_code for _ in range(4)] == [401] * 4
    assert _login(server, user["email"], user["password"], "198.51.100.9").status_code == 303


def test_an_ipv6_client_is_counted_by_its_slash_64(start_server: Callable[..., LiveServer]) -> None:
    server = start_server("sqlite", GATEPASS_SERVER_TRUSTED_PROXIES="127.0.0.1")
    user = server.create_user()
    for host in range(1, 6):
        assert _login(server, user["email"], WRONG, f"2001:db8:1:2::{host}").status_code == 401
    _retry_after(_login(server, user["email"], user["password"], "2001:db8:1:2::ffff"))
    assert _login(server, user["email"], user["password"], "2001:db8:1:3::1").status_code == 303
