"""Frappe's session and RPC API with Frappe's own client libraries: frappe-client and frappe-connector log in
with a password or an API key and call ``frappe.client.*`` through ``cmd=`` and ``/api/method/``; every call
passes the document API's checks, and every refusal has Frappe's shape and status."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import requests
from api_support import ScopedWorld, api_key_pair, bearer, create_memo, logged_in, session_csrf, suffix
from frappe_connector import FrappeConnector, FrappeException
from frappeclient import FrappeClient

from support.html import input_values
from support.server import LiveServer

INVALID_LOGIN = "Invalid Login. Try again."


def _server_message(body: dict[str, Any]) -> str:
    """The text of the first of Frappe's ``_server_messages`` (a JSON list of JSON objects)."""
    message: str = json.loads(json.loads(body["_server_messages"])[0])["message"]
    return message


def _assert_frappe_error(response: httpx.Response, status_code: int, exc_type: str, message: str) -> None:
    assert response.status_code == status_code, response.text
    body = response.json()
    assert body["exc_type"] == exc_type
    assert body["exception"] == f"frappe.exceptions.{exc_type}: {message}"
    assert _server_message(body) == message
    assert response.headers["content-type"] == "application/json"


# -- the libraries -------------------------------------------------------------------------------


def test_frappe_client_logs_in_with_a_username_and_lists_inserts_reads_updates_and_deletes(world: ScopedWorld) -> None:
    server, owner = world.server, world.owner
    client = FrappeClient(server.url, owner.email, owner.password)
    assert client.session.cookies.get("sid")
    title = f"from frappe-client {suffix()}"
    inserted = client.insert({"doctype": world.doctype, "title": title, "body": "first"})
    assert inserted["owner"] == owner.email
    name = inserted["name"]
    assert client.get_value(world.doctype, "title", {"name": name}) == {"title": title}
    assert client.get_value(world.doctype, "body", {"title": title}) == {"body": "first"}
    listed = client.get_list(world.doctype, fields=["name", "title"], filters={"title": title})
    assert listed == [{"name": name, "title": title}]
    assert client.update({"doctype": world.doctype, "name": name, "body": "second"})["body"] == "second"
    assert (
        client.get_api("frappe.client.get_count", {"doctype": world.doctype, "filters": json.dumps({"title": title})})
        == 1
    )
    client.delete(world.doctype, name)
    assert client.get_list(world.doctype, filters={"title": title}) == []
    client.logout()
    after = client.session.get(f"{server.url}/api/method/frappe.auth.get_logged_user")
    assert after.status_code == 401
    assert after.json()["exc_type"] == "AuthenticationError"


def test_frappe_client_deletes_with_an_api_key_and_refuses_a_wrong_password(world: ScopedWorld) -> None:
    server = world.server
    key, secret = api_key_pair(server, world.owner.email)
    client = FrappeClient(server.url, api_key=key, api_secret=secret)
    name = client.insert({"doctype": world.doctype, "title": "to delete by key"})["name"]
    assert client.get_value(world.doctype, "name", {"name": name}) == {"name": name}
    assert client.delete(world.doctype, name) is None
    assert client.get_value(world.doctype, "name", {"name": name}) == {}
    with pytest.raises(Exception, match="AuthError"):
        try:
            FrappeClient(server.url, world.owner.email, "not the password")
        except Exception as error:
            raise Exception(type(error).__name__) from error


def test_frappe_connector_gets_a_document_by_filters_and_deletes_it(world: ScopedWorld) -> None:
    server, owner = world.server, world.owner
    title = f"from frappe-connector {suffix()}"
    with FrappeConnector(server.url, username=owner.email, password=owner.password) as connector:
        created = connector.create_doc({"doctype": world.doctype, "title": title})
        found = connector.get_doc(world.doctype, filters={"title": title})
        assert found["name"] == created["name"]
        assert found["title"] == title
        assert connector.get_doc(world.doctype, filters={"title": title}, fields=["title"]) == {"title": title}
        with pytest.raises(FrappeException, match=f"DoesNotExistError: No {world.doctype} found"):
            connector.get_doc(world.doctype, filters={"title": "no such memo"})
        connector.delete_doc(world.doctype, created["name"])
        assert connector.get_list(world.doctype, filters={"title": title}) == []
    key, secret = api_key_pair(server, owner.email)
    with FrappeConnector(server.url, api_key=key, api_secret=secret) as by_key:
        name = by_key.create_doc({"doctype": world.doctype, "title": title})["name"]
        assert by_key.get_doc(world.doctype, filters=[["title", "=", title]])["name"] == name
        by_key.delete_doc(world.doctype, name)
        with pytest.raises(FrappeException, match=f"DoesNotExistError: {world.doctype} {name} not found"):
            by_key.delete_doc(world.doctype, name)


# -- login, logout and who is logged in -----------------------------------------------------------


def test_api_method_login_answers_logged_in_and_a_sid_session(world: ScopedWorld) -> None:
    server, owner = world.server, world.owner
    with httpx.Client(base_url=server.url) as client:
        response = client.post("/api/method/login", json={"usr": owner.email, "pwd": owner.password})
        assert response.status_code == 200
        body = response.json()
        assert body["message"] == "Logged In"
        assert body["home_page"] == "/"
        assert isinstance(body["full_name"], str) and body["full_name"]
        assert "HttpOnly" in response.headers["set-cookie"]
        assert client.get("/api/method/frappe.auth.get_logged_user").json() == {"message": owner.email}
        # A script's session writes without the CSRF header, as in Frappe.
        inserted = client.post(
            "/api/method/frappe.client.insert", data={"doc": json.dumps({"doctype": world.doctype, "title": "s"})}
        )
        assert inserted.status_code == 200
        assert inserted.json()["message"]["owner"] == owner.email
        assert client.post("/api/method/logout").json() == {}
        after = client.get("/api/method/frappe.auth.get_logged_user")
    _assert_frappe_error(
        after,
        401,
        "AuthenticationError",
        "Not logged in: log in with /api/method/login, or send Authorization: Bearer <access token> "
        "or Authorization: token <api_key>:<api_secret>",
    )
    assert after.headers["www-authenticate"].startswith(f'Bearer realm="{server.url}"')


def test_a_wrong_password_is_frappes_invalid_login_and_repeated_failures_lock_out(world: ScopedWorld) -> None:
    server = world.server
    user = server.create_user(f"lockout-{suffix()}@example.com")
    url = f"{server.url}/api/method/login"
    wrong = httpx.post(url, data={"usr": user["email"], "pwd": "not the password"})
    _assert_frappe_error(wrong, 401, "AuthenticationError", INVALID_LOGIN)
    assert wrong.json()["message"] == INVALID_LOGIN
    assert "set-cookie" not in wrong.headers
    by_get = httpx.get(url, params={"usr": user["email"], "pwd": user["password"]})
    _assert_frappe_error(by_get, 403, "PermissionError", "Not permitted: login takes POST")
    missing = httpx.post(url, data={"usr": user["email"]})
    _assert_frappe_error(missing, 401, "AuthenticationError", "Incomplete login details: send usr and pwd")
    statuses = [httpx.post(url, data={"usr": user["email"], "pwd": "still wrong"}).status_code for _ in range(6)]
    assert statuses[-1] == 429
    locked = httpx.post(url, data={"usr": user["email"], "pwd": user["password"]})
    assert locked.status_code == 429
    assert locked.json()["exc_type"] == "TooManyRequestsError"
    assert int(locked.headers["retry-after"]) > 0


def test_the_api_login_shares_the_login_pages_per_address_budget(start_server: Callable[..., LiveServer]) -> None:
    server = start_server("sqlite", GATEPASS_RATE_LIMITS_LOGIN_PER_IP_PER_MINUTE="2")
    wrong = {"usr": "nobody@example.com", "pwd": "wrong-one"}
    with httpx.Client(base_url=server.url) as http:
        fields = input_values(http.get("/login").text)
        page = http.post("/login", data={**fields, "email": wrong["usr"], "password": wrong["pwd"]})
        first = http.post("/api/method/login", data=wrong)
        limited = http.post("/api/method/login", data=wrong)
    assert (page.status_code, first.status_code) == (401, 401)
    assert limited.status_code == 429
    assert limited.json()["exc_type"] == "TooManyRequestsError"
    assert limited.json()["message"].startswith("Too many login attempts from your network. Try again in ")
    assert int(limited.headers["retry-after"]) >= 1


def test_ping_version_and_unknown_methods_answer_json_and_the_oauth_paths_stay_served(server: LiveServer) -> None:
    assert httpx.get(f"{server.url}/api/method/ping").json() == {"message": "pong"}
    assert isinstance(httpx.get(f"{server.url}/api/v1/method/version/").json()["message"], str)
    unknown = httpx.get(f"{server.url}/api/method/frappe.desk.no_such_method")
    message = "No method 'frappe.desk.no_such_method': see /api/docs for what this server serves"
    _assert_frappe_error(unknown, 404, "DoesNotExistError", message)
    token = httpx.post(f"{server.url}/api/method/frappe.integrations.oauth2.get_token", data={})
    assert "error" in token.json() and "exc_type" not in token.json()
    # A name under the OAuth prefix that no OAuth endpoint has is an unknown method like any other.
    unknown_oauth = httpx.post(f"{server.url}/api/method/frappe.integrations.oauth2.get_tokens", data={})
    message = "No method 'frappe.integrations.oauth2.get_tokens': see /api/docs for what this server serves"
    _assert_frappe_error(unknown_oauth, 404, "DoesNotExistError", message)
    # The home page still answers / without cmd: it sends a visitor to log in.
    home = httpx.get(f"{server.url}/")
    assert home.headers["location"] == "/login"
    no_cmd = httpx.post(f"{server.url}/", data={})
    _assert_frappe_error(no_cmd, 404, "DoesNotExistError", "Send the method to call as cmd")


# -- frappe.client.* over /api/method with a token ------------------------------------------------


def test_rpc_calls_take_query_form_and_json_arguments_with_a_bearer_token(world: ScopedWorld) -> None:
    server = world.server
    token = world.owner.token(server, "all")
    base = f"{server.url}/api/method/frappe.client"
    title = f"rpc {suffix()}"
    doc = {"doctype": world.doctype, "title": title, "body": "one"}
    inserted = httpx.post(f"{base}.insert", headers=bearer(token), json={"doc": doc})
    assert inserted.status_code == 200, inserted.text
    name = inserted.json()["message"]["name"]
    read = httpx.get(f"{base}.get", headers=bearer(token), params={"doctype": world.doctype, "name": name})
    assert read.json()["message"]["body"] == "one"
    changed = httpx.post(
        f"{base}.set_value",
        headers=bearer(token),
        data={"doctype": world.doctype, "name": name, "fieldname": "body", "value": "two"},
    )
    assert changed.json()["message"]["body"] == "two"
    saved = httpx.post(f"{base}.save", headers=bearer(token), json={"doc": {**doc, "name": name, "body": "three"}})
    assert saved.json()["message"]["body"] == "three"
    value = httpx.get(
        f"{base}.get_value",
        headers=bearer(token),
        params={"doctype": world.doctype, "fieldname": "body", "filters": name, "as_dict": "0"},
    )
    assert value.json() == {"message": "three"}
    count = httpx.post(
        f"{base}.get_count", headers=bearer(token), json={"doctype": world.doctype, "filters": {"title": title}}
    )
    assert count.json() == {"message": 1}
    listed = httpx.get(
        f"{base}.get_list",
        headers=bearer(token),
        params={"doctype": world.doctype, "fields": '["name", "body"]', "filters": json.dumps({"title": title})},
    )
    assert listed.json() == {"message": [{"name": name, "body": "three"}]}
    removed = httpx.post(f"{base}.delete", headers=bearer(token), data={"doctype": world.doctype, "name": name})
    assert removed.status_code == 200
    assert removed.json() == {}


# -- refusals, in Frappe's shapes ---------------------------------------------------------------


def test_a_token_without_the_scope_is_refused_with_permission_error_and_the_challenge(world: ScopedWorld) -> None:
    server = world.server
    read_only = world.owner.token(server, world.scopes["read"])
    response = httpx.post(
        f"{server.url}/api/method/frappe.client.insert",
        headers=bearer(read_only),
        json={"doc": {"doctype": world.doctype, "title": "no scope"}},
    )
    assert response.status_code == 403
    body = response.json()
    assert body["exc_type"] == "PermissionError"
    assert body["error"] == "insufficient_scope"
    assert body["scope"] == world.scopes["create"]
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_a_user_without_the_role_is_refused_with_permission_error(world: ScopedWorld) -> None:
    server = world.server
    doctype = f"Ledger{suffix()}"
    server.cli("doctype", "add", doctype, "--field", "title:Data")
    server.cli("permission", "set", doctype, "System Manager", "--read", "--write", "--create", "--delete")
    key, secret = api_key_pair(server, world.other.email)
    response = httpx.get(
        f"{server.url}/api/method/frappe.client.get_list",
        params={"doctype": doctype},
        headers={"Authorization": f"token {key}:{secret}"},
    )
    _assert_frappe_error(
        response, 403, "PermissionError", f"Not permitted: your roles do not allow read on {doctype} documents"
    )
    manager = httpx.get(
        f"{server.url}/api/method/frappe.client.get_list",
        params={"doctype": doctype},
        headers=bearer(world.manager.token(server, "all")),
    )
    assert manager.json() == {"message": []}


def test_cookie_writes_need_the_csrf_header_when_a_browser_sends_them(world: ScopedWorld) -> None:
    server, owner = world.server, world.owner
    doc = json.dumps({"doctype": world.doctype, "title": "csrf"})
    message = "Invalid Request: send the X-Frappe-CSRF-Token header with the session's CSRF token"
    with logged_in(server, owner.email, owner.password) as browser:
        refused = browser.post("/api/method/frappe.client.insert", data={"doc": doc})
        _assert_frappe_error(refused, 400, "CSRFTokenError", message)
        allowed = browser.post(
            "/api/method/frappe.client.insert",
            data={"doc": doc},
            headers={"X-Frappe-CSRF-Token": session_csrf(browser)},
        )
        assert allowed.status_code == 200
        assert (
            browser.get(
                "/api/method/frappe.client.get",
                params={"doctype": world.doctype, "name": allowed.json()["message"]["name"]},
            ).status_code
            == 200
        )
    with requests.Session() as script:
        assert script.post(server.url, data={"cmd": "login", "usr": owner.email, "pwd": owner.password}).ok
        from_a_page = script.post(
            server.url,
            data={"cmd": "frappe.client.insert", "doc": doc},
            headers={"Origin": "https://elsewhere.example"},
        )
        assert from_a_page.status_code == 400
        assert from_a_page.json()["exc_type"] == "CSRFTokenError"
        resource = script.post(
            f"{server.url}/api/resource/{world.doctype}", json={"title": "x"}, headers={"Sec-Fetch-Site": "cross-site"}
        )
        assert resource.status_code == 400


def test_bad_arguments_missing_documents_and_gets_of_writes_are_refused(world: ScopedWorld) -> None:
    server = world.server
    headers = bearer(world.owner.token(server, "all"))
    base = f"{server.url}/api/method/frappe.client"
    not_json = httpx.post(f"{base}.insert", headers={**headers, "Content-Type": "application/json"}, content=b"{nope")
    assert not_json.status_code == 400
    assert not_json.json()["exc_type"] == "ValidationError"
    assert _server_message(not_json.json()).startswith("The request body is not valid JSON")
    bad_doc = httpx.post(f"{base}.insert", headers=headers, data={"doc": "{not json"})
    assert bad_doc.status_code == 417
    assert bad_doc.json()["exc_type"] == "ValidationError"
    assert bad_doc.json()["field"] == "doc"
    missing = httpx.get(f"{base}.get", headers=headers, params={"doctype": world.doctype, "name": "no-such-memo"})
    _assert_frappe_error(missing, 404, "DoesNotExistError", f"{world.doctype} no-such-memo not found")
    by_get = httpx.get(f"{base}.delete", headers=headers, params={"doctype": world.doctype, "name": "no-such-memo"})
    _assert_frappe_error(by_get, 403, "PermissionError", "Not permitted: frappe.client.delete takes POST")
    name = create_memo(world, world.owner.token(server, "all"), "taken")
    duplicate = httpx.post(
        f"{base}.insert",
        headers=bearer(world.manager.token(server, "all")),
        json={"doc": {"doctype": world.doctype, "name": name, "title": "again"}},
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["exc_type"] == "DuplicateEntryError"


def test_submit_and_cancel_say_the_type_is_not_submittable(world: ScopedWorld) -> None:
    server = world.server
    token = world.owner.token(server, "all")
    name = create_memo(world, token, "to submit")
    message = (
        f"{world.doctype} is not a submittable document type: Gatepass documents have no draft, submitted or "
        "cancelled state; save the document instead"
    )
    submitted = httpx.post(
        f"{server.url}/api/method/frappe.client.submit",
        headers=bearer(token),
        data={"doc": json.dumps({"doctype": world.doctype, "name": name})},
    )
    _assert_frappe_error(submitted, 417, "ValidationError", message)
    cancelled = httpx.post(
        f"{server.url}/",
        headers=bearer(token),
        data={"cmd": "frappe.client.cancel", "doctype": world.doctype, "name": name},
    )
    _assert_frappe_error(cancelled, 417, "ValidationError", message)


def test_text_no_name_holds_is_a_frappe_shaped_4xx_on_every_backend(world: ScopedWorld) -> None:
    server = world.server
    headers = bearer(world.owner.token(server, "all"))
    base = f"{server.url}/api/method/frappe.client"
    nul_doctype = httpx.get(f"{base}.get_list", headers=headers, params={"doctype": "To\x00Do"})
    assert (nul_doctype.status_code, nul_doctype.json()["exc_type"]) == (400, "ValidationError")
    in_json = httpx.post(f"{base}.insert", headers=headers, json={"doc": {"doctype": "To\x00Do", "title": "x"}})
    assert in_json.status_code == 417
    assert in_json.json()["error_description"] == "doc: contains a NUL character, which no name holds"
    lone_surrogate = json.dumps({"doctype": world.doctype, "name": "a\ud800b"}).encode()
    in_body = httpx.post(
        f"{base}.delete", headers={**headers, "Content-Type": "application/json"}, content=lone_surrogate
    )
    assert (in_body.status_code, in_body.json()["field"]) == (417, "name")
    in_path = httpx.get(f"{server.url}/api/method/a%00b", headers=headers)
    assert (in_path.status_code, in_path.json()["exc_type"]) == (400, "ValidationError")
    # Frappe's OAuth paths keep OAuth's shape for the same mistake.
    oauth = httpx.post(f"{server.url}/api/method/frappe.integrations.oauth2.get_token?grant_type=%00")
    assert oauth.status_code == 400
    assert "exc_type" not in oauth.json()
