"""Every failure an admin can act on, provoked for real, each on a page that says what to do (never a 500)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from rp_support import (
    add_provider,
    callback_url,
    callback_without_following,
    connect,
    connect_with_user,
    idp_user,
    is_logged_in_on,
    login_at_idp,
    login_via,
    register_client,
    roles_on,
    start_login,
    unique,
)

from support.rows import execute
from support.server import LiveServer


class _LoginPageHandler(BaseHTTPRequestHandler):
    """Answers every path with an HTML login page, as a wrong issuer URL often does."""

    def do_GET(self) -> None:
        body = b"<!doctype html><html><body><form>Sign in</form></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def html_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LoginPageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def start(app: LiveServer, name: str) -> httpx.Response:
    return httpx.get(f"{app.url}/login/{name}/start", follow_redirects=False, timeout=30)


def check(app: LiveServer, name: str) -> tuple[int, str]:
    result = app.cli("provider", "check", name, check=False)
    return result.returncode, result.stdout


async def test_stopped_provider_is_reported_unreachable(
    app: LiveServer, start_server: Callable[..., LiveServer], page: Any
) -> None:
    idp = start_server("sqlite")
    name = connect(app, idp)
    idp.stop()
    response = await page.goto(f"{app.url}/login/{name}/start")
    assert response.status == 502
    text = await page.inner_text("main")
    assert "The login provider cannot be reached" in text
    assert f"could not connect to IdP {name} at {idp.url}/.well-known/openid-configuration" in text
    assert f"Make sure {idp.url} is running" in text
    code, output = check(app, name)
    assert code == 1
    assert "[FAIL] discovery: This server could not connect" in output


async def test_wrong_client_secret_is_reported_with_how_to_store_the_right_one(
    app: LiveServer, idp: LiveServer, page: Any
) -> None:
    name = unique("idp")
    client = register_client(idp, callback_url(app, name))
    add_provider(app, name, idp.url, client["client_id"], "not-the-secret")
    user = idp_user(idp)
    assert await login_via(page, app, name, user) == 502
    text = await page.inner_text("main")
    assert "The login provider rejected this server's client secret" in text
    assert "(invalid_client: Client authentication failed" in text
    assert f"gatepass provider update {name} --client-secret-stdin" in text
    assert f"gatepass client rotate-secret {client['client_id']}" in text
    assert roles_on(app, user["email"]) is None
    code, output = check(app, name)
    assert code == 1
    assert "[FAIL] client secret:" in output
    # Storing the right secret fixes it.
    app.cli("provider", "update", name, "--client-secret-stdin", input=client["client_secret"] + "\n")
    code, output = check(app, name)
    assert code == 0, output
    assert "[ok  ] client secret: accepted" in output


async def test_unregistered_callback_shows_the_exact_url_to_register(
    app: LiveServer, idp: LiveServer, page: Any
) -> None:
    name = unique("idp")
    client = register_client(idp, f"{app.url}/login/somewhere-else/callback")
    add_provider(app, name, idp.url, client["client_id"], client["client_secret"])
    response = await page.goto(f"{app.url}/login/{name}/start")
    assert response.status == 502
    assert page.url == f"{app.url}/login/{name}/start"  # never sent to the provider's dead end
    text = await page.inner_text("main")
    assert "This server's callback URL is not registered at the login provider" in text
    assert await page.inner_text("code.callback-url") == callback_url(app, name)
    assert f"gatepass client update {client['client_id']} --redirect-uri {callback_url(app, name)}" in text
    code, output = check(app, name)
    assert code == 1
    assert f"[info] callback URL: {callback_url(app, name)}" in output
    assert "[FAIL] authorization request:" in output
    # What the browser would have seen at the provider: Gatepass's own page, status 400.
    probe = httpx.get(_authorize_url(idp, client["client_id"], callback_url(app, name)))
    assert probe.status_code == 400
    assert "invalid_redirect_uri" in probe.text


def _authorize_url(idp: LiveServer, client_id: str, redirect_uri: str) -> str:
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": "openid"}
    return f"{idp.url}/oauth/authorize?{urlencode(query)}"


async def test_scope_the_client_may_not_use_is_reported_at_start(app: LiveServer, idp: LiveServer) -> None:
    name = unique("idp")
    client = idp.create_client("--redirect-uri", callback_url(app, name), "--scope", "openid", "--scope", "email")
    add_provider(app, name, idp.url, client["client_id"], client["client_secret"])
    response = start(app, name)
    assert response.status_code == 502
    assert "refused the login request: invalid_scope" in response.text
    assert f"gatepass provider update {name} --scope" in response.text


async def test_issuer_url_of_a_missing_document_is_reported_as_wrong(app: LiveServer, idp: LiveServer) -> None:
    name = connect(app, idp)
    app.cli("provider", "update", name, "--issuer", f"{idp.url}/nothing-here")
    response = start(app, name)
    assert response.status_code == 502
    assert "The login provider&#39;s configuration cannot be used" in response.text
    assert "answered HTTP 404 instead of the provider&#39;s discovery document" in response.text
    assert "The issuer URL is probably wrong" in response.text


async def test_issuer_that_serves_a_login_page_is_reported_as_not_json(
    app: LiveServer, idp: LiveServer, html_site: str, page: Any
) -> None:
    name = connect(app, idp)
    app.cli("provider", "update", name, "--issuer", html_site)
    response = await page.goto(f"{app.url}/login/{name}/start")
    assert response.status == 502
    text = await page.inner_text("main")
    assert f"{html_site}/.well-known/openid-configuration did not answer with JSON" in text
    assert "it sent text/html; charset=utf-8, starting '<!doctype html>" in text
    assert "the issuer URL points at the wrong place" in text
    code, output = check(app, name)
    assert code == 1
    assert "[FAIL] discovery:" in output


async def test_discovery_naming_another_issuer_is_refused(app: LiveServer, idp: LiveServer) -> None:
    name = connect(app, idp)
    other = idp.url.replace("127.0.0.1", "localhost")
    app.cli("provider", "update", name, "--issuer", other)
    response = start(app, name)
    assert response.status_code == 502
    assert f"names its issuer {idp.url}, but this provider is configured with {other}" in response.text


async def test_id_token_signed_with_an_unaccepted_algorithm_is_refused(
    app: LiveServer, idp: LiveServer, page: Any
) -> None:
    name, user = connect_with_user(app, idp, "--allow-signup", client_args=("--id-token-alg", "HS256"))
    assert await login_via(page, app, name, user) == 502
    text = await page.inner_text("main")
    assert "The login provider's id_token is not valid" in text
    assert "The id_token is signed with 'HS256', which is not accepted for this provider" in text
    assert roles_on(app, user["email"]) is None


async def test_tampered_state_is_refused(app: LiveServer, idp: LiveServer, page: Any) -> None:
    name, user = connect_with_user(app, idp, "--allow-signup")
    http, callback = callback_without_following(app, name, user)
    parts = urlsplit(callback)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query["state"] = query["state"][:-4] + ("AAAA" if not query["state"].endswith("AAAA") else "BBBB")
    with closing(http):
        response = http.get(parts._replace(query=urlencode(query)).geturl())
        assert response.status_code == 400
        assert "This login attempt cannot be completed" in response.text
        assert "does not match a login started here" in response.text
        assert "Go back to the login page and start again." in response.text
        assert "set-cookie" not in response.headers
        # The untampered callback still works for the browser that started the login.
        assert http.get(callback).status_code == 303
    assert roles_on(app, user["email"]) == []


async def test_callback_replayed_or_without_state_is_refused(app: LiveServer, idp: LiveServer) -> None:
    name, user = connect_with_user(app, idp, "--allow-signup")
    http, callback = callback_without_following(app, name, user)
    with closing(http):
        assert http.get(callback).status_code == 303
        replayed = http.get(callback)
        assert replayed.status_code == 400
        assert "or it was already used" in replayed.text
        without_state = http.get(f"{app.url}/login/{name}/callback?code=abc")
        assert without_state.status_code == 400
        assert "without the login state" in without_state.text


async def test_callback_from_another_browser_is_refused(app: LiveServer, idp: LiveServer, page: Any) -> None:
    """Login CSRF: a callback URL made in one browser must not log another browser in."""
    name, user = connect_with_user(app, idp, "--allow-signup")
    http, callback = callback_without_following(app, name, user)
    http.close()
    await page.context.clear_cookies()
    response = await page.goto(callback)
    assert response.status == 400
    assert "This login was started in another browser" in await page.inner_text("main")
    assert not await is_logged_in_on(page, app)
    assert roles_on(app, user["email"]) is None


async def test_expired_login_attempt_is_refused(app: LiveServer, idp: LiveServer, page: Any) -> None:
    name, user = connect_with_user(app, idp, "--allow-signup")
    await page.context.clear_cookies()
    await start_login(page, app, name)
    # Ten minutes pass at the provider's login page.
    execute(
        app,
        "UPDATE social_login_attempts SET expires_at = '2000-01-01 00:00:00.000000' WHERE provider_name = ?",
        name,
    )
    async with page.expect_response(lambda response: "/callback" in response.url) as callback:
        await login_at_idp(page, user)
    assert (await callback.value).status == 400
    await page.wait_for_load_state()
    text = await page.inner_text("main")
    assert "This login attempt has expired" in text
    assert "More than 10 minutes passed since this login started." in text


async def test_unknown_provider_is_a_404_page(app: LiveServer) -> None:
    response = start(app, "no-such-provider")
    assert response.status_code == 404
    assert "This login provider does not exist" in response.text
