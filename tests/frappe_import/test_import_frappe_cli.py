"""`gatepass import frappe` end to end: a Frappe-shaped site on a real port, the real command, a real Gatepass.

After the import, requests-oauthlib logs in through Frappe's own authorize and get_token paths with the
client_id and secret the app already had, as a user typing the password she had on Frappe; her stored
hash is then argon2id. A dry run changes nothing, a second run changes nothing, and a site failing
midway (or refusing, or not being Frappe) leaves Gatepass as it was.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from frappe_site_support import (
    API_KEY,
    API_SECRET,
    API_USER,
    FRAPPE_PASSLIB,
    FakeFrappeSite,
    doctype,
    oauth_client,
    role,
    serving,
    user,
)
from jwt.warnings import InsecureKeyLengthWarning
from requests_oauthlib import OAuth2Session

from support.backchannel import FRAPPE_TOKEN
from support.browser import FRAPPE_AUTHORIZE, HttpBrowser
from support.rows import rows
from support.server import LiveServer, private_server

CLIENT_ID, CLIENT_SECRET = "3f9a1c7b2e", "0c4d8e2f6a"
CALLBACK = "https://shop.example.com/callback"
JANE, JANE_PASSWORD = "jane@shop.example.com", "Jane-frappe-pass-42"
OLD = "old@shop.example.com"


def _site() -> FakeFrappeSite:
    return FakeFrappeSite().add(
        role("Sales User"), role("Accounts Manager", desk_access=0), role("All"), role("Guest"),
        user("Administrator"), user("Guest"), user(API_USER, "System Manager"),
        user(JANE, "Sales User", "All", first_name="Jane", last_name="Doe"),
        user(OLD, "Accounts Manager", enabled=0),
        oauth_client(CLIENT_ID, CLIENT_SECRET, CALLBACK, "https://shop.example.com/other", allowed_roles=("Sales User",)),
        doctype(
            "Customer Note",
            [
                {"fieldname": "subject", "fieldtype": "Data", "label": "Subject", "reqd": 1},
                {"fieldname": "column_break_1", "fieldtype": "Column Break"},
                {"fieldname": "status", "fieldtype": "Select", "options": "Open\nClosed", "default": "Open"},
            ],
            [{"role": "Sales User", "read": 1, "write": 1, "create": 1}],
        ),
    )  # fmt: skip


@pytest.fixture(scope="module")
def gatepass(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with private_server("sqlite", tmp_path_factory.mktemp("gatepass-frappe-import")) as live:
        yield live


@pytest.fixture(scope="module")
def site() -> Iterator[FakeFrappeSite]:
    yield from serving(_site())


@pytest.fixture(scope="module")
def auth_dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `bench mariadb --batch -e "SELECT doctype, name, fieldname, password, encrypted FROM __Auth"` prints."""
    path = tmp_path_factory.mktemp("dump") / "auth.tsv"
    lines = [
        "doctype\tname\tfieldname\tpassword\tencrypted",
        f"User\t{JANE}\tpassword\t{FRAPPE_PASSLIB.hash(JANE_PASSWORD)}\t0",
        f"User\t{OLD}\tpassword\t{FRAPPE_PASSLIB.hash('old-password-1')}\t0",
        f"User\t{JANE}\tapi_secret\tgAAAAABmZXJuZXQtZW5jcnlwdGVk\t1",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _import(gatepass: LiveServer, url: str, *args: str, secret: str = API_SECRET) -> Any:
    command = ("import", "frappe", "--url", url, "--api-key", API_KEY, "--api-secret-stdin", *args)
    return gatepass.cli(*command, input=secret + "\n", check=False)


def _users(gatepass: LiveServer) -> dict[str, dict[str, Any]]:
    return {u["email"]: u for u in json.loads(gatepass.cli("user", "list", "--json").stdout)}


def _client_ids(gatepass: LiveServer) -> set[str]:
    return {c["client_id"] for c in json.loads(gatepass.cli("client", "list", "--json").stdout)}


def _log_in_with_requests_oauthlib(gatepass: LiveServer) -> dict[str, Any]:
    """The app's code as it ran against Frappe, only the host changed; the user types her Frappe password."""
    loop = asyncio.new_event_loop()
    browser = HttpBrowser(gatepass, {"email": JANE, "password": JANE_PASSWORD})
    try:
        session = OAuth2Session(CLIENT_ID, redirect_uri=CALLBACK, scope=["openid", "all"])
        url, _ = session.authorization_url(gatepass.url + FRAPPE_AUTHORIZE)
        outcome = loop.run_until_complete(browser.authorize_url(url))
        assert outcome.location.startswith(CALLBACK), outcome.response.text[:400]
        token: dict[str, Any] = session.fetch_token(
            gatepass.url + FRAPPE_TOKEN, authorization_response=outcome.location, client_secret=CLIENT_SECRET
        )
        return token
    finally:
        loop.run_until_complete(browser.http.aclose())
        loop.close()


def test_a_dry_run_then_the_import_then_a_repeat_and_a_login_with_the_frappe_password(
    gatepass: LiveServer, site: FakeFrappeSite, auth_dump: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dry = _import(gatepass, site.url, "--doctype", "Customer Note", "--auth-dump", str(auth_dump), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"would create client {CLIENT_ID}" in dry.stdout
    assert f"would create user {JANE} (roles: Sales User, with the Frappe password)" in dry.stdout
    assert "Dry run: nothing was changed." in dry.stdout
    assert CLIENT_ID not in _client_ids(gatepass) and JANE not in _users(gatepass)
    assert API_SECRET not in dry.stdout + dry.stderr

    done = _import(gatepass, site.url, "--doctype", "Customer Note", "--auth-dump", str(auth_dump))
    assert done.returncode == 0, done.stderr
    assert "Read " in done.stdout and "1 OAuth clients" in done.stdout
    assert "$pbkdf2" not in done.stdout + done.stderr
    users = _users(gatepass)
    assert users[JANE]["roles"] == ["Sales User"] and users[JANE]["first_name"] == "Jane"
    assert users[OLD]["enabled"] is False
    assert "Administrator" not in users and "guest" not in users
    shown = json.loads(gatepass.cli("client", "show", CLIENT_ID, "--json").stdout)
    assert shown["redirect_uris"] == [CALLBACK, "https://shop.example.com/other"]
    assert (shown["allowed_roles"], shown["is_frappe_legacy"]) == (["Sales User"], True)
    roles = gatepass.cli("role", "list").stdout
    assert "Sales User" in roles and "Accounts Manager" in roles and "\nAll\t" not in roles
    permissions = gatepass.cli("doctype", "show", "Customer Note").stdout
    assert "Sales User" in permissions and "subject" in permissions

    again = _import(gatepass, site.url, "--doctype", "Customer Note", "--auth-dump", str(auth_dump))
    assert again.returncode == 0, again.stderr
    assert "nothing to change" in again.stdout, again.stdout
    assert len(_users(gatepass)) == len(users)

    # What changed on the site since is updated in place, not added a second time.
    clients_before = _client_ids(gatepass)
    site.documents["OAuth Client"][CLIENT_ID]["redirect_uris"] += "\nhttps://shop.example.com/third"
    site.documents["User"][JANE]["roles"].append({"role": "Accounts Manager"})
    try:
        updated = _import(gatepass, site.url)
    finally:
        site.documents["OAuth Client"][CLIENT_ID]["redirect_uris"] = f"{CALLBACK}\nhttps://shop.example.com/other"
        site.documents["User"][JANE]["roles"].pop()
    assert updated.returncode == 0, updated.stderr
    assert f"update client {CLIENT_ID}: redirect_uris" in updated.stdout
    assert f"update user {JANE}: add roles Accounts Manager" in updated.stdout
    assert "create" not in updated.stdout
    assert sorted(_users(gatepass)[JANE]["roles"]) == ["Accounts Manager", "Sales User"]
    assert len(_users(gatepass)) == len(users) and _client_ids(gatepass) == clients_before

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the test server is plain http
    token = _log_in_with_requests_oauthlib(gatepass)
    assert token["token_type"] == "Bearer"
    # The app checks id_tokens with its secret (HS256), as Frappe signed them; Frappe's secrets are
    # 10 characters, which PyJWT rightly finds short.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        claims = jwt.decode(token["id_token"], CLIENT_SECRET, algorithms=["HS256"], audience=CLIENT_ID)
    assert claims["email"] == JANE
    ((stored,),) = rows(gatepass, "SELECT password_hash FROM users WHERE email = ?", JANE)
    assert stored.startswith("$argon2id$")
    ((untouched,),) = rows(gatepass, "SELECT password_hash FROM users WHERE email = ?", OLD)
    assert untouched.startswith("$pbkdf2-sha256$")

    # Re-importing after the upgrade keeps the argon2id hash: the dump's Frappe hash does not come back.
    _import(gatepass, site.url, "--auth-dump", str(auth_dump))
    assert rows(gatepass, "SELECT password_hash FROM users WHERE email = ?", JANE) == [(stored,)]


def test_a_site_failing_midway_leaves_gatepass_as_it_was(gatepass: LiveServer) -> None:
    failing = FakeFrappeSite().add(
        role("Warehouse"), user("midway@shop.example.com", "Warehouse"),
        oauth_client("midway01", "abcdef0123", CALLBACK),
    )  # fmt: skip
    # Request 1 identifies the user, 2-3 read roles, 4-5 users, 6-7 clients: fail while reading the clients.
    failing.fail_at = 6
    for _ in serving(failing):
        result = _import(gatepass, failing.url)
        assert result.returncode == 2
        assert "500" in result.stderr and "/api/resource/OAuth%20Client" in result.stderr
        assert len(failing.requests) == 6
    assert "midway@shop.example.com" not in _users(gatepass)
    assert "midway01" not in _client_ids(gatepass)
    assert "Warehouse" not in gatepass.cli("role", "list").stdout


def test_the_errors_say_what_to_fix(gatepass: LiveServer, site: FakeFrappeSite) -> None:
    wrong_secret = _import(gatepass, site.url, secret="not-the-secret")
    assert wrong_secret.returncode == 2
    assert "refused the API key (401)" in wrong_secret.stderr
    assert "not-the-secret" not in wrong_secret.stderr + wrong_secret.stdout

    site.forbidden.add("OAuth Client")
    try:
        refused = _import(gatepass, site.url)
    finally:
        site.forbidden.discard("OAuth Client")
    assert refused.returncode == 2
    assert f"{API_USER} may not read OAuth Client" in refused.stderr and "System Manager" in refused.stderr

    missing = _import(gatepass, site.url, "--doctype", "No Such Type")
    assert missing.returncode == 2 and "has no DocType 'No Such Type' (404)" in missing.stderr

    nowhere = _import(gatepass, "http://127.0.0.1:9")
    assert nowhere.returncode == 2 and "cannot reach http://127.0.0.1:9" in nowhere.stderr

    not_frappe = FakeFrappeSite(is_frappe=False)
    for _ in serving(not_frappe):
        answer = _import(gatepass, not_frappe.url)
    assert answer.returncode == 2 and "is --url a Frappe site?" in answer.stderr

    no_secret = _import(gatepass, site.url, secret="")
    assert no_secret.returncode == 2 and "standard input" in no_secret.stderr
