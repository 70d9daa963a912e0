"""Helpers for the foundation tests: log in over plain HTTP, read the login page, run the CLI expecting failure."""

from __future__ import annotations

import html
import re
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from support.html import input_values
from support.server import LiveServer

SESSION_COOKIE = "gp_session"  # the issuer of every test server is http://127.0.0.1:PORT
CSRF_COOKIE = "gp_csrf"
BAD_LOGIN = "Wrong email or password."
CSRF_FAILED = "The form expired or was sent from another site. Please try again."

_ALERT = re.compile(r'<p class="error" role="alert">([^<]*)</p>')


def csrf_token_in(page: str) -> str:
    fields = input_values(page)
    assert "csrf_token" in fields, "the page has no CSRF field"
    return fields["csrf_token"]


def next_in(page: str) -> str:
    fields = input_values(page)
    assert "next" in fields, "the page has no next field"
    return fields["next"]


def alert_in(page: str) -> str | None:
    """The error message a page shows, unescaped; None when it shows none."""
    match = _ALERT.search(page)
    return html.unescape(match.group(1)) if match else None


def login(client: httpx.Client, email: str, password: str, *, next_url: str | None = None) -> httpx.Response:
    """GET /login for the CSRF cookie and field, then POST the form, as a browser would."""
    page = client.get("/login")
    assert page.status_code == 200
    form = {"csrf_token": csrf_token_in(page.text), "email": email, "password": password}
    if next_url is not None:
        form["next"] = next_url
    return client.post("/login", data=form)


def is_logged_in(client: httpx.Client) -> bool:
    response = client.get("/")
    if response.status_code == 303:
        assert response.headers["location"] == "/login"
        return False
    assert response.status_code == 200
    return True


def failure_message(result: subprocess.CompletedProcess[str]) -> str:
    """Expect the documented CLI failure (exit 2, a message, no traceback); return stderr."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return result.stderr


def cli_fails(server: LiveServer, *args: str, input: str | None = None) -> str:
    """Run `gatepass ARGS` expecting the documented failure; return stderr."""
    return failure_message(server.cli(*args, input=input, check=False))


def run_concurrently(*calls: Callable[[], Any]) -> list[Any]:
    """Independent CLI calls at once: each is a process that spends most of its time importing."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]
