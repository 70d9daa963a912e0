"""The client pages over HTTP: every field, clear errors, secret rotation, enable/disable, delete, "try it"."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest
from console_support import console_client, query_of

from support.console import ConsoleSession, client_form
from support.html import page_text, values_by_id
from support.pkce import s256
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, REDIRECT_URI, LiveServer

OTHER_URI = "https://app.example.com/oauth/callback"


@pytest.fixture
async def admin(sqlite_server: LiveServer) -> Any:
    async with ConsoleSession(sqlite_server) as session:
        yield await session.login(ADMIN_EMAIL, ADMIN_PASSWORD)


def _shown(server: LiveServer, client_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(server.cli("client", "show", client_id, "--json").stdout)
    return shown


async def _client_credentials(server: LiveServer, client_id: str, secret: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        return await http.post("/oauth/token", auth=(client_id, secret), data={"grant_type": "client_credentials"})


async def test_every_client_field_is_set_on_create_and_changed_on_edit(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    app_name = f"Every Field {secrets.token_hex(3)}"
    client_id, secret = await console_client(
        admin,
        app_name,
        client_id=f"every-field-{secrets.token_hex(3)}",
        token_endpoint_auth_method="client_secret_post",
        redirect_uris=f"{REDIRECT_URI}\r\n{OTHER_URI}\r\n",
        default_redirect_uri=OTHER_URI,
        post_logout_redirect_uris="https://app.example.com/bye",
        scopes=("openid", "email"),
        extra_scopes="roles",
        grant_types=("authorization_code", "refresh_token", "client_credentials"),
        allowed_roles=("System Manager",),
        skip_authorization="1",
        require_pkce=None,
        allow_plain_pkce="1",
        require_pushed_authorization_requests="1",
        dpop_bound_access_tokens="1",
        is_frappe_legacy="1",
        id_token_signed_response_alg="ES256",
        access_token_ttl_seconds="600",
        refresh_token_ttl_seconds="7200",
        service_user_email=ADMIN_EMAIL,
        client_uri="https://app.example.com",
        logo_uri="https://app.example.com/logo.png",
    )
    assert client_id.startswith("every-field-") and secret
    shown = _shown(sqlite_server, client_id)
    assert {
        key: shown[key]
        for key in (
            "app_name",
            "client_type",
            "token_endpoint_auth_method",
            "redirect_uris",
            "default_redirect_uri",
            "post_logout_redirect_uris",
            "scopes",
            "grant_types",
            "response_types",
            "allowed_roles",
            "skip_authorization",
            "require_pkce",
            "allow_plain_pkce",
            "require_pushed_authorization_requests",
            "dpop_bound_access_tokens",
            "is_frappe_legacy",
            "id_token_signed_response_alg",
            "access_token_ttl_seconds",
            "refresh_token_ttl_seconds",
            "client_uri",
            "logo_uri",
            "is_enabled",
        )
    } == {
        "app_name": app_name,
        "client_type": "confidential",
        "token_endpoint_auth_method": "client_secret_post",
        "redirect_uris": [REDIRECT_URI, OTHER_URI],
        "default_redirect_uri": OTHER_URI,
        "post_logout_redirect_uris": ["https://app.example.com/bye"],
        "scopes": ["openid", "email", "roles"],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types": ["code"],
        "allowed_roles": ["System Manager"],
        "skip_authorization": True,
        "require_pkce": False,
        "allow_plain_pkce": True,
        "require_pushed_authorization_requests": True,
        "dpop_bound_access_tokens": True,
        "is_frappe_legacy": True,
        "id_token_signed_response_alg": "ES256",
        "access_token_ttl_seconds": 600,
        "refresh_token_ttl_seconds": 7200,
        "client_uri": "https://app.example.com",
        "logo_uri": "https://app.example.com/logo.png",
        "is_enabled": True,
    }
    assert shown["service_user"] == ADMIN_EMAIL

    # The edit page shows what is stored; saving another set of values replaces them all.
    page = await admin.get(f"/admin/clients/{client_id}")
    assert values_by_id(page.text)["app_name"] == app_name
    assert values_by_id(page.text)["redirect_uris"] == f"{REDIRECT_URI}\n{OTHER_URI}"
    edited = await admin.post(
        f"/admin/clients/{client_id}",
        client_form(
            f"{app_name} v2",
            client_type="public",
            redirect_uris=REDIRECT_URI,
            scopes=("openid", "profile"),
            grant_types=("authorization_code",),
            access_token_ttl_seconds="",
            refresh_token_ttl_seconds="",
            service_user_email="",
            client_uri="",
            logo_uri="",
        ),
    )
    assert edited.status_code == 303
    assert edited.headers["location"] == f"/admin/clients/{client_id}?notice=saved"
    shown = _shown(sqlite_server, client_id)
    assert (shown["app_name"], shown["client_type"], shown["token_endpoint_auth_method"]) == (
        f"{app_name} v2",
        "public",
        "none",
    )
    assert (shown["redirect_uris"], shown["default_redirect_uri"]) == ([REDIRECT_URI], REDIRECT_URI)
    assert (shown["scopes"], shown["grant_types"]) == (["openid", "profile"], ["authorization_code"])
    assert (shown["skip_authorization"], shown["allow_plain_pkce"], shown["is_frappe_legacy"]) == (False, False, False)
    assert (shown["require_pushed_authorization_requests"], shown["dpop_bound_access_tokens"]) == (False, False)
    assert (shown["access_token_ttl_seconds"], shown["refresh_token_ttl_seconds"]) == (None, None)
    assert ("service_user" in shown, shown["client_uri"], shown["id_token_signed_response_alg"]) == (False, "", "RS256")
    assert "Saved." in page_text((await admin.get(edited.headers["location"])).text)


async def test_a_client_credentials_client_made_in_the_console_gets_a_service_user_it_keeps(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    app_name = f"Console Sync {secrets.token_hex(3)}"
    form = {"redirect_uris": "", "grant_types": ("client_credentials",), "response_types": (), "scopes": ("all",)}
    client_id, secret = await console_client(admin, app_name, **form)
    assert secret
    email = f"service-{client_id.lower().strip('-.')}@clients.invalid"
    assert _shown(sqlite_server, client_id)["service_user"] == email
    assert (await _client_credentials(sqlite_server, client_id, secret)).status_code == 200

    # Saving the form with the service user field emptied would leave the client unable to get a token.
    refused = await admin.post(f"/admin/clients/{client_id}", client_form(app_name, service_user_email="", **form))
    assert refused.status_code == 400
    assert "acts as its service user and cannot be left without one" in page_text(refused.text)
    assert _shown(sqlite_server, client_id)["service_user"] == email


@pytest.mark.parametrize(
    ("overrides", "message", "kept"),
    [
        ({"redirect_uris": "not a uri"}, "redirect URI", ">not a uri</textarea>"),
        ({"app_name": ""}, "Give the app a name: users see it on the consent screen", 'name="app_name"'),
        ({"access_token_ttl_seconds": "ten"}, "Lifetimes are whole numbers of seconds", 'value="ten"'),
        ({"client_uri": "javascript:x"}, "The client uri must be an http(s) address", 'value="javascript:x"'),
        ({"extra_scopes": "no-such-scope"}, "'no-such-scope' is neither built in", 'value="no-such-scope" checked'),
    ],
    ids=["bad-redirect-uri", "no-name", "bad-lifetime", "script-home-page", "unknown-scope"],
)
async def test_a_mistake_in_the_client_form_says_what_to_fix_and_keeps_the_input(
    admin: ConsoleSession, overrides: dict[str, str], message: str, kept: str
) -> None:
    overrides = dict(overrides)
    app_name = overrides.pop("app_name", f"Mistake {secrets.token_hex(3)}")
    response = await admin.post("/admin/clients/new", client_form(app_name, **overrides))
    assert response.status_code == 400
    assert message in page_text(response.text)
    assert 'class="invalid"' in response.text
    assert kept in response.text
    assert values_by_id(response.text)["app_name"] == app_name
    if app_name:
        assert "No client matches" in page_text((await admin.get("/admin/clients", q=app_name)).text)


async def test_rotating_the_secret_shows_the_new_one_once_and_the_old_one_stops_working(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    client_id, old_secret = await console_client(
        admin,
        f"Rotation {secrets.token_hex(3)}",
        grant_types=("client_credentials",),
        redirect_uris="",
        response_types=(),
        scopes=("all",),
        service_user_email=ADMIN_EMAIL,
    )
    assert old_secret is not None
    assert (await _client_credentials(sqlite_server, client_id, old_secret)).status_code == 200
    rotated = await admin.post(f"/admin/clients/{client_id}/secret")
    # Post/redirect/get: the secret is in neither the address nor a page a reload makes again.
    assert rotated.status_code == 303
    assert rotated.headers["location"] == f"/admin/clients/{client_id}/credentials"
    page = await admin.get(rotated.headers["location"])
    assert page.headers["cache-control"] == "no-store"
    assert page.status_code == 200
    new_secret = values_by_id(page.text)["client-secret"]
    assert new_secret != old_secret
    assert "The old secret no longer works." in page_text(page.text)
    assert new_secret not in (await admin.get(f"/admin/clients/{client_id}")).text  # shown only once
    reloaded = await admin.get(rotated.headers["location"])
    assert new_secret not in reloaded.text
    assert "The secret was shown once and Gatepass does not keep it." in page_text(reloaded.text)
    assert (await _client_credentials(sqlite_server, client_id, new_secret)).status_code == 200
    rejected = await _client_credentials(sqlite_server, client_id, old_secret)
    assert (rejected.status_code, rejected.json()["error"]) == (401, "invalid_client")


async def test_a_disabled_client_gets_no_tokens_until_enabled_again(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    client_id, secret = await console_client(
        admin,
        f"Switch {secrets.token_hex(3)}",
        grant_types=("client_credentials",),
        redirect_uris="",
        response_types=(),
        scopes=("all",),
        service_user_email=ADMIN_EMAIL,
    )
    assert secret is not None
    disabled = await admin.post(f"/admin/clients/{client_id}/enabled", {"enabled": "0"})
    assert disabled.headers["location"] == f"/admin/clients/{client_id}?notice=client_disabled"
    refused = await _client_credentials(sqlite_server, client_id, secret)
    assert (refused.status_code, refused.json()) == (
        401,
        {"error": "invalid_client", "error_description": "Client authentication failed: the client is disabled"},
    )
    assert "disabled" in page_text((await admin.get("/admin/clients", q=client_id)).text)
    await admin.post(f"/admin/clients/{client_id}/enabled", {"enabled": "1"})
    assert (await _client_credentials(sqlite_server, client_id, secret)).status_code == 200


async def test_deleting_a_client_asks_first_then_removes_it(admin: ConsoleSession) -> None:
    app_name = f"Doomed {secrets.token_hex(3)}"
    client_id, _ = await console_client(admin, app_name)
    confirm = await admin.get(f"/admin/clients/{client_id}/delete")
    assert f"Delete {app_name}?" in page_text(confirm.text)
    assert "This cannot be undone" in page_text(confirm.text)
    assert (await admin.get(f"/admin/clients/{client_id}")).status_code == 200  # asking deleted nothing
    deleted = await admin.post(f"/admin/clients/{client_id}/delete")
    assert deleted.headers["location"] == "/admin/clients?notice=deleted"
    gone = await admin.get(f"/admin/clients/{client_id}")
    assert gone.status_code == 404
    assert f"No client has client_id {client_id}" in page_text(gone.text)


async def test_try_it_builds_an_authorization_url_with_a_fresh_pkce_pair(admin: ConsoleSession) -> None:
    client_id, secret = await console_client(
        admin, f"Single Page {secrets.token_hex(3)}", client_type="public", redirect_uris=f"{REDIRECT_URI}\n{OTHER_URI}"
    )
    assert secret is None
    first = values_by_id((await admin.get(f"/admin/clients/{client_id}/try")).text)
    second = values_by_id(
        (await admin.get(f"/admin/clients/{client_id}/try", redirect_uri=OTHER_URI, scope="openid")).text
    )
    assert first["code-verifier"] != second["code-verifier"]
    for trial in (first, second):
        assert trial["code-challenge"] == s256(trial["code-verifier"])
    params = query_of(second["authorization-url"])
    assert params == {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": OTHER_URI,
        "scope": "openid",
        "state": second["state"],
        "code_challenge": second["code-challenge"],
        "code_challenge_method": "S256",
        "nonce": second["nonce"],
    }
    assert f"code_verifier={second['code-verifier']}" in second["token-request"]
    assert f"client_id={client_id}" in second["token-request"]  # a public client names itself


async def test_try_it_pushes_the_request_of_a_client_that_must_use_par(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    client_id, _ = await console_client(
        admin, f"PAR Only {secrets.token_hex(3)}", require_pushed_authorization_requests="1"
    )
    page = await admin.get(f"/admin/clients/{client_id}/try")
    trial = values_by_id(page.text)
    params = query_of(trial["authorization-url"])
    assert set(params) == {"client_id", "request_uri"}
    assert params["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert "works once, within 60 seconds" in page_text(page.text)
    async with httpx.AsyncClient(base_url=sqlite_server.url, timeout=30) as http:
        opened = await http.get(trial["authorization-url"])
    # The pushed request is good: the endpoint asks the anonymous browser to log in.
    assert opened.status_code == 303 and opened.headers["location"].startswith("/login?")


async def test_reloading_the_page_after_creating_a_client_creates_no_second_one(admin: ConsoleSession) -> None:
    app_name = f"Reload {secrets.token_hex(3)}"
    created = await admin.post("/admin/clients/new", client_form(app_name))
    assert created.status_code == 303
    credentials = created.headers["location"]
    assert credentials.endswith("/credentials") and "secret" not in credentials.split("/credentials")[0]
    first = await admin.get(credentials)
    assert values_by_id(first.text)["client-secret"]
    # A reload is a GET of the credentials page: nothing is created, and the secret is not shown again.
    again = await admin.get(credentials)
    assert "client-secret" not in values_by_id(again.text)
    assert page_text((await admin.get("/admin/clients", q=app_name)).text).count(app_name) == 1


async def test_the_client_form_names_grants_in_words_and_offers_a_frappe_compatible_preset(
    sqlite_server: LiveServer, admin: ConsoleSession
) -> None:
    strict = (await admin.get("/admin/clients/new")).text
    assert "Users log in and allow it <code>authorization_code</code>" in strict
    assert "Acts on its own, as its service user <code>client_credentials</code>" in strict
    assert "An authorization code <code>code</code>" in strict
    for legend in ("Who may use it", "Redirect URIs", "How it gets tokens", "Tokens", "Consent"):
        assert f"<legend>{legend}</legend>" in strict
    assert 'name="is_frappe_legacy" value="1" checked' not in strict

    preset = (await admin.get("/admin/clients/new", preset="frappe")).text
    assert "a Frappe-compatible client</strong>" in preset
    assert 'name="is_frappe_legacy" value="1" checked' in preset
    assert 'name="require_pkce" value="1" checked' not in preset
    assert '<option value="HS256" selected>' in preset
    assert '<option value="client_secret_post" selected>' in preset

    app_name = f"Frappe App {secrets.token_hex(3)}"
    client_id, secret = await console_client(
        admin,
        app_name,
        scopes=("openid", "all"),
        require_pkce=None,
        allow_plain_pkce="1",
        is_frappe_legacy="1",
        token_endpoint_auth_method="client_secret_post",
        id_token_signed_response_alg="HS256",
    )
    assert secret
    shown = json.loads(sqlite_server.cli("client", "show", client_id, "--json").stdout)
    assert (shown["is_frappe_legacy"], shown["require_pkce"], shown["id_token_signed_response_alg"]) == (
        True,
        False,
        "HS256",
    )
