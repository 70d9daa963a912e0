"""The `gatepass` command: users, roles, clients and runtime settings round-trip through each database.

Every command is non-interactive; `client add --json` prints usable credentials; the secret
is shown only at creation or rotation; bad input says what to fix and exits 2.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import click
import httpx
import pytest
from foundation_support import BAD_LOGIN, alert_in, cli_fails, failure_message, is_logged_in, login, run_concurrently

from gatepass.cli import main
from support.backends import MARIADB_URL, POSTGRES_URL, require_backend
from support.server import REDIRECT_URI, LiveServer, unique_email

BASIC_CHALLENGE = 'Basic realm="gatepass", charset="UTF-8"'


def client_credentials(server: LiveServer, client_id: str, secret: str, **form: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/oauth/token", data={"grant_type": "client_credentials", **form}, auth=(client_id, secret)
    )


def assert_invalid_client(response: httpx.Response, description: str) -> None:
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client", "error_description": description}
    assert response.headers["www-authenticate"] == BASIC_CHALLENGE
    assert response.headers["cache-control"] == "no-store"


@dataclass(frozen=True)
class Accounts:
    """Users, a role and clients made once per server, in parallel CLI processes; one per test that changes it."""

    person: dict[str, Any]  # "Ada Lovelace", a System Manager; never changed
    service_user: dict[str, Any]  # the user client_credentials tokens act as; never changed
    password_user: dict[str, Any]
    disabled_user: dict[str, Any]
    roles_user: dict[str, Any]
    role: str
    service_client: dict[str, Any]  # never changed
    updated_client: dict[str, Any]
    rotated_client: dict[str, Any]
    removed_client: dict[str, Any]


@pytest.fixture(scope="module")
def accounts(server: LiveServer) -> Accounts:
    role = f"Editor {secrets.token_hex(3)}"
    service_email = unique_email("service")
    person, service_user, password_user, disabled_user, roles_user, _ = run_concurrently(
        lambda: server.create_user(
            unique_email("Ada.Lovelace").upper(), first_name=" Ada ", last_name="Lovelace", roles=("System Manager",)
        ),
        lambda: server.create_user(service_email),
        lambda: server.create_user(),
        lambda: server.create_user(),
        lambda: server.create_user(),
        lambda: server.cli("role", "add", role, "--description", "Edits documents"),
    )
    service = ("--grant-type", "client_credentials", "--service-user", service_email)
    clients = run_concurrently(
        lambda: server.create_client(*service, "--scope", "profile", "--scope", "email", name="Batch Job"),
        lambda: server.create_client(*service, "--scope", "profile", "--scope", "email", name="Batch Job"),
        lambda: server.create_client(*service, name="Batch Job"),
        lambda: server.create_client(*service, name="Batch Job"),
    )
    return Accounts(person, service_user, password_user, disabled_user, roles_user, role, *clients)


# -- users and roles --------------------------------------------------------------------------


def test_user_add_stores_a_normalised_user_that_user_list_shows(server: LiveServer, accounts: Accounts) -> None:
    person = accounts.person
    assert person["email"] == person["email"].lower()
    assert person["email"].startswith("ada.lovelace-")
    assert re.fullmatch(r"[0-9a-f]{32}", person["sub"])
    assert (person["first_name"], person["last_name"], person["full_name"]) == ("Ada", "Lovelace", "Ada Lovelace")
    assert person["enabled"] is True
    assert person["roles"] == ["System Manager"]
    assert person["sub"] != accounts.service_user["sub"]

    listed = json.loads(server.cli("user", "list", "--json").stdout)
    assert {key: value for key, value in person.items() if key != "password"} in listed


def test_user_set_password_replaces_the_login_password(server: LiveServer, accounts: Accounts) -> None:
    email = accounts.password_user["email"]
    result = server.cli("user", "set-password", email, "--password-stdin", input="a-new-password-2\n")
    assert result.stdout == f"Password of {email} changed.\n"

    with httpx.Client(base_url=server.url) as browser:
        old = login(browser, email, accounts.password_user["password"])
        assert old.status_code == 401
        assert alert_in(old.text) == BAD_LOGIN
        assert login(browser, email, "a-new-password-2").status_code == 303
        assert is_logged_in(browser)


def test_user_disable_ends_sessions_and_stops_login_until_enabled(server: LiveServer, accounts: Accounts) -> None:
    email, password = accounts.disabled_user["email"], accounts.disabled_user["password"]
    with httpx.Client(base_url=server.url) as browser:
        assert login(browser, email, password).status_code == 303
        assert is_logged_in(browser)

        assert server.cli("user", "disable", email).stdout == f"Disabled {email}.\n"
        assert not is_logged_in(browser)
        refused = login(browser, email, password)
        assert refused.status_code == 401
        assert alert_in(refused.text) == BAD_LOGIN
        assert f"{email}\tdisabled\t" in server.cli("user", "list").stdout.splitlines()

        assert server.cli("user", "enable", email).stdout == f"Enabled {email}.\n"
        assert login(browser, email, password).status_code == 303
        assert is_logged_in(browser)


def test_role_add_then_user_roles_add_and_remove_it(server: LiveServer, accounts: Accounts) -> None:
    email, role = accounts.roles_user["email"], accounts.role
    assert accounts.roles_user["roles"] == []
    added = server.cli("user", "roles", email, "--add", role, "--add", "System Manager")
    assert added.stdout.splitlines() == sorted([role, "System Manager"])
    removed = server.cli("user", "roles", email, "--remove", "System Manager")
    assert removed.stdout == f"{role}\n"

    roles = server.cli("role", "list").stdout.splitlines()
    assert f"{role}\tEdits documents" in roles
    assert "System Manager (built in)\tMay administer everything." in roles


# -- clients ----------------------------------------------------------------------------------


def test_client_add_json_prints_credentials_that_get_a_token(server: LiveServer, accounts: Accounts) -> None:
    client = accounts.service_client
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,}", client["client_id"])
    assert len(client["client_secret"]) >= 43
    assert client["client_type"] == "confidential"
    assert client["token_endpoint_auth_method"] == "client_secret_basic"
    assert client["grant_types"] == ["client_credentials"]
    assert client["service_user"] == accounts.service_user["email"]
    assert "secret_digest" not in client and "service_user_id" not in client
    # Only what applies to a client that never sees the authorization endpoint.
    assert (client["response_types"], client["redirect_uris"]) == ([], [])
    assert not {"require_pkce", "allow_plain_pkce", "skip_authorization", "id_token_signed_response_alg"} & set(client)

    response = client_credentials(server, client["client_id"], client["client_secret"])
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "profile email"
    assert len(body["access_token"]) >= 43
    assert "refresh_token" not in body
    assert response.headers["cache-control"] == "no-store"


def test_client_list_and_show_never_print_the_secret(server: LiveServer, accounts: Accounts) -> None:
    client_id, secret = accounts.service_client["client_id"], accounts.service_client["client_secret"]
    outputs = [
        result.stdout
        for result in run_concurrently(
            lambda: server.cli("client", "list"),
            lambda: server.cli("client", "list", "--json"),
            lambda: server.cli("client", "show", client_id),
            lambda: server.cli("client", "show", client_id, "--json"),
        )
    ]
    for output in outputs:
        assert client_id in output
        assert secret not in output
        assert "client_secret:" not in output
        assert '"client_secret"' not in output
        assert "secret_digest" not in output
        # No digest of any credential either (the registration token's, say): fields are shown by name.
        assert "digest" not in output

    assert f"{client_id}\tBatch Job\tconfidential\tenabled" in outputs[0].splitlines()
    listed = {entry["client_id"]: entry for entry in json.loads(outputs[1])}
    shown = json.loads(outputs[3])
    assert listed[client_id] == shown
    expected = {key: value for key, value in accounts.service_client.items() if key != "client_secret"}
    assert shown == expected
    assert (shown["service_user"], shown["is_enabled"]) == (accounts.service_user["email"], True)
    assert "app_name: Batch Job" in outputs[2].splitlines()
    assert "scopes: profile email" in outputs[2].splitlines()


def test_client_update_changes_only_the_given_fields(server: LiveServer, accounts: Accounts) -> None:
    client_id, secret = accounts.updated_client["client_id"], accounts.updated_client["client_secret"]

    renamed = json.loads(server.cli("client", "update", client_id, "--name", "Nightly Job", "--json").stdout)
    assert (renamed["app_name"], renamed["scopes"]) == ("Nightly Job", ["profile", "email"])
    assert "client_secret" not in renamed
    assert {key: value for key, value in renamed.items() if key != "app_name"} == {
        key: value for key, value in accounts.updated_client.items() if key not in ("app_name", "client_secret")
    }

    server.cli("client", "update", client_id, "--scope", "profile", "--disable")
    assert_invalid_client(
        client_credentials(server, client_id, secret), "Client authentication failed: the client is disabled"
    )

    enabled = json.loads(server.cli("client", "update", client_id, "--enable", "--json").stdout)
    assert (enabled["app_name"], enabled["scopes"], enabled["is_enabled"]) == ("Nightly Job", ["profile"], True)
    refused = client_credentials(server, client_id, secret, scope="email")
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "invalid_scope",
        "error_description": "Scope 'email' is not registered for this client",
    }
    assert client_credentials(server, client_id, secret).json()["scope"] == "profile"


def test_client_rotate_secret_stops_the_old_secret_at_once(server: LiveServer, accounts: Accounts) -> None:
    client_id, old_secret = accounts.rotated_client["client_id"], accounts.rotated_client["client_secret"]
    assert client_credentials(server, client_id, old_secret).status_code == 200

    rotated = json.loads(server.cli("client", "rotate-secret", client_id, "--json").stdout)
    assert rotated["client_id"] == client_id
    new_secret = rotated["client_secret"]
    assert len(new_secret) >= 43
    assert new_secret != old_secret

    assert_invalid_client(
        client_credentials(server, client_id, old_secret),
        "Client authentication failed: unknown client or wrong client_secret",
    )
    assert client_credentials(server, client_id, new_secret).status_code == 200


def _made_service_user(client_id: str) -> str:
    # Random client_ids are [A-Za-z0-9_-]; the address is lower case, without a leading or trailing dash.
    return f"service-{client_id.lower().strip('-.')}@clients.invalid"


def test_a_client_credentials_client_added_without_a_service_user_gets_one_of_its_own(server: LiveServer) -> None:
    added = server.cli("client", "add", "--name", "Nightly Sync", "--grant-type", "client_credentials", "--json")
    client = json.loads(added.stdout)
    email = _made_service_user(client["client_id"])
    assert client["service_user"] == email
    assert added.stderr == (
        f"Made the service user {email} for this client: its tokens act as this user, who has no password and "
        f'no roles yet. Give it what the integration needs: gatepass user roles {email} --add "ROLE"\n'
    )
    assert (client["response_types"], client["redirect_uris"]) == ([], [])
    assert not {"require_pkce", "allow_plain_pkce", "skip_authorization", "id_token_signed_response_alg"} & set(client)
    assert f"{email}\tenabled\t" in server.cli("user", "list").stdout.splitlines()

    response = client_credentials(server, client["client_id"], client["client_secret"])
    assert response.status_code == 200, response.text
    introspected = httpx.post(
        f"{server.url}/oauth/introspect",
        data={"token": response.json()["access_token"]},
        auth=(client["client_id"], client["client_secret"]),
    ).json()
    assert (introspected["active"], introspected["username"]) == (True, email)


def test_a_client_credentials_client_is_never_left_without_a_service_user(server: LiveServer) -> None:
    client_id = server.create_client(name="Grows a Backend")["client_id"]
    changed = json.loads(
        server.cli("client", "update", client_id, "--grant-type", "client_credentials", "--json").stdout
    )
    email = _made_service_user(client_id)
    assert (changed["grant_types"], changed["service_user"]) == (["client_credentials"], email)
    # Without the code flow, `code` goes from the response types, and the settings of that flow from the output.
    assert changed["response_types"] == [] and "require_pkce" not in changed

    assert cli_fails(server, "client", "update", client_id, "--service-user", "") == (
        "Error: A client with the client_credentials grant acts as its service user and cannot be left without "
        "one: name another service user, or take the client_credentials grant away\n"
    )
    back = json.loads(
        server.cli(
            "client",
            "update",
            client_id,
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "refresh_token",
            "--json",
        ).stdout
    )
    assert (back["response_types"], back["require_pkce"], back["service_user"]) == (["code"], True, email)
    dropped = json.loads(server.cli("client", "update", client_id, "--service-user", "", "--json").stdout)
    assert "service_user" not in dropped


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def test_client_try_prints_a_one_line_authorization_url_and_the_token_request_to_run(
    server: LiveServer, tmp_path: Path
) -> None:
    client = server.create_client(name="Try Me")
    printed = server.cli("client", "try", client["client_id"]).stdout
    urls = [line for line in printed.splitlines() if "/oauth/authorize?" in line]
    assert len(urls) == 1 and urls[0].startswith(f"{server.url}/oauth/authorize?")
    query = {key: values[0] for key, values in parse_qs(urlsplit(urls[0]).query).items()}
    assert (query["response_type"], query["client_id"], query["redirect_uri"]) == (
        "code",
        client["client_id"],
        REDIRECT_URI,
    )
    assert query["code_challenge_method"] == "S256"
    assert "The code works once, within 5 minutes." in printed

    command = printed[printed.index("curl ") :]
    verifier = re.search(r"code_verifier=(\S+)", command)
    assert verifier and _s256(verifier.group(1)) == query["code_challenge"]
    assert command.startswith(f"curl -s -u {client['client_id']}:CLIENT_SECRET {server.url}/oauth/token \\\n")
    assert command.endswith("  -d code=CODE\n")
    # The command runs as printed in a POSIX shell; with a made-up code the server refuses only the code.
    filled = command.replace("CLIENT_SECRET", client["client_secret"]).replace("code=CODE", "code=made-up")
    ran = subprocess.run(["sh", "-c", filled], capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert json.loads(ran.stdout) == {
        "error": "invalid_grant",
        "error_description": "The authorization code is invalid or has expired",
    }

    again = server.cli("client", "try", client["client_id"]).stdout
    assert re.search(r"code_verifier=(\S+)", again).group(1) != verifier.group(1)  # type: ignore[union-attr]


def test_client_try_for_a_public_client_sends_the_client_id_in_the_body(server: LiveServer) -> None:
    client = server.create_client("--public", name="Try Me Public")
    printed = server.cli("client", "try", client["client_id"]).stdout
    command = printed[printed.index("curl ") :]
    assert command.startswith(f"curl -s {server.url}/oauth/token \\\n")
    assert f"  --data-urlencode client_id={client['client_id']} \\\n" in command
    assert "CLIENT_SECRET" not in printed


def test_client_try_refuses_a_client_without_the_code_flow(server: LiveServer, accounts: Accounts) -> None:
    client_id = accounts.service_client["client_id"]
    assert (
        cli_fails(server, "client", "try", client_id) == "Error: This client may not use the authorization code flow\n"
    )


def test_client_remove_deletes_the_client_and_its_credentials(server: LiveServer, accounts: Accounts) -> None:
    client_id, secret = accounts.removed_client["client_id"], accounts.removed_client["client_secret"]
    assert client_credentials(server, client_id, secret).status_code == 200

    assert server.cli("client", "remove", client_id).stdout == f"Removed {client_id}.\n"
    assert cli_fails(server, "client", "show", client_id) == f"Error: No client has client_id {client_id}\n"
    assert_invalid_client(
        client_credentials(server, client_id, secret),
        "Client authentication failed: unknown client or wrong client_secret",
    )


# -- runtime settings -------------------------------------------------------------------------


def test_settings_set_consent_mode_is_read_back_by_settings_show(server: LiveServer) -> None:
    try:
        assert server.cli("settings", "set", "consent_mode", "FORCE").stdout == "consent_mode = force\n"
        shown = json.loads(server.cli("settings", "show", "--json").stdout)
        assert shown["consent_mode"] == "force"
    finally:
        # The server is shared: leave the default for the tests that follow.
        assert server.cli("settings", "set", "consent_mode", "auto").stdout == "consent_mode = auto\n"


# -- help -------------------------------------------------------------------------------------

COMMANDS = {
    (): {"serve", "migrate", "user", "role", "client", "settings", "config-docs"},
    ("user",): {"add", "list", "set-password", "disable", "enable", "roles", "reset-factors"},
    ("role",): {"add", "list"},
    ("client",): {"add", "list", "show", "update", "remove", "rotate-secret"},
    ("settings",): {"show", "set"},
}


def _help(*path: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "gatepass", *path, "--help"], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stderr) == (0, "")
    return result.stdout


def _listed_commands(help_text: str) -> set[str]:
    section = help_text.split("\nCommands:\n", 1)[1]
    return {match.group(1) for match in re.finditer(r"^  (\S+)", section, flags=re.MULTILINE)}


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda path: " ".join(("gatepass", *path)))
def test_help_lists_every_command_of_the_group(path: tuple[str, ...]) -> None:
    group: click.Command = main
    for name in path:
        assert isinstance(group, click.Group)
        group = group.commands[name]
    assert isinstance(group, click.Group)
    listed = _listed_commands(_help(*path))
    assert COMMANDS[path] <= listed
    assert listed == set(group.commands)


def _leaf_commands(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    if isinstance(command, click.Group):
        return [leaf for name, sub in command.commands.items() for leaf in _leaf_commands(sub, (*path, name))]
    return [(path, command)]


def test_every_command_and_flag_has_help_text() -> None:
    undocumented = []
    for path, command in _leaf_commands(main):
        if not (command.help or "").strip():
            undocumented.append(" ".join(path))
        for param in command.params:
            if isinstance(param, click.Option) and not (param.help or "").strip():
                undocumented.append(f"{' '.join(path)} {param.opts[0]}")
    assert undocumented == []


def test_command_help_shows_every_flag() -> None:
    help_text = _help("client", "add")
    command = main.commands["client"]
    assert isinstance(command, click.Group)
    for param in command.commands["add"].params:
        if isinstance(param, click.Option):
            for flag in (*param.opts, *param.secondary_opts):
                assert flag in help_text, flag


# -- bad input: a message saying what to fix, exit code 2, no traceback ------------------------


def test_adding_a_user_twice_says_the_email_is_taken(server: LiveServer, accounts: Accounts) -> None:
    email = accounts.service_user["email"]
    stderr = cli_fails(server, "user", "add", email.upper(), "--password", "another-password-1")
    assert stderr == f"Error: A user with email {email} already exists\n"


def test_user_add_with_an_unknown_role_creates_no_user(server: LiveServer) -> None:
    email = unique_email()
    stderr = cli_fails(server, "user", "add", email, "--password", "long-enough-1", "--role", "No Such Role")
    assert stderr == "Error: role 'No Such Role' does not exist\n"
    assert cli_fails(server, "user", "roles", email) == f"Error: No user has the email {email}\n"


def test_adding_a_role_twice_says_it_exists(server: LiveServer) -> None:
    assert cli_fails(server, "role", "add", "System Manager") == "Error: The role 'System Manager' already exists\n"


def test_adding_a_client_id_twice_says_it_is_taken(server: LiveServer, accounts: Accounts) -> None:
    client_id = accounts.service_client["client_id"]
    stderr = cli_fails(
        server, "client", "add", "--name", "Again", "--client-id", client_id, "--redirect-uri", REDIRECT_URI
    )
    assert stderr == f"Error: A client with client_id {client_id} already exists\n"


BAD_INPUT = [
    *[
        pytest.param(
            ("client", command, "no-such-client"),
            "Error: No client has client_id no-such-client\n",
            id=f"client-{command}-unknown",
        )
        for command in ("show", "update", "remove", "rotate-secret")
    ],
    *[
        pytest.param(
            ("user", command, "nobody@example.com"),
            "Error: No user has the email nobody@example.com\n",
            id=f"user-{command}-unknown",
        )
        for command in ("disable", "roles")
    ],
    pytest.param(
        ("user", "roles", "admin@example.com", "--add", "No Such Role"),
        "Error: role 'No Such Role' does not exist\n",
        id="user-roles-add-unknown-role",
    ),
    pytest.param(
        ("user", "add", "new-user@example.com", "--password", "short"),
        "Error: The password must have at least 8 characters\n",
        id="user-add-short-password",
    ),
    pytest.param(
        ("user", "set-password", "admin@example.com", "--password", "short"),
        "Error: The password must have at least 8 characters\n",
        id="set-password-short",
    ),
    pytest.param(
        ("user", "add", "not-an-email", "--password", "long-enough-1"),
        "Error: 'not-an-email' is not an email address\n",
        id="user-add-bad-email",
    ),
    pytest.param(("role", "add", " "), "Error: A role name must have 1 to 140 characters\n", id="role-add-blank"),
    pytest.param(("client", "add", "--redirect-uri", REDIRECT_URI), "Error: --name is required\n", id="no-name"),
    pytest.param(
        ("client", "add", "--name", "X", "--redirect-uri", "callback"),
        "Error: 'callback' is not absolute; include the scheme, e.g. https://\n",
        id="redirect-uri-relative",
    ),
    pytest.param(
        ("client", "add", "--name", "X", "--redirect-uri", "http://app.example.com/cb"),
        "Error: 'http://app.example.com/cb' uses http on a non-loopback host; use https (RFC 9700 section 2.6)\n",
        id="redirect-uri-plain-http",
    ),
    pytest.param(
        ("client", "add", "--name", "X"),
        "Error: At least one redirect URI is required for browser-based grants\n",
        id="no-redirect-uri",
    ),
    pytest.param(
        ("client", "add", "--name", "X", "--redirect-uri", REDIRECT_URI, "--allowed-role", "No Such Role"),
        "Error: The role 'No Such Role' does not exist\n",
        id="allowed-role-unknown",
    ),
    pytest.param(
        ("client", "add", "--name", "X", "--grant-type", "client_credentials", "--service-user", "nobody@example.com"),
        "Error: No user has the email nobody@example.com\n",
        id="service-user-unknown",
    ),
    pytest.param(
        ("settings", "set", "consent_mode", "sometimes"),
        "Error: consent_mode must be one of auto, force\n",
        id="bad-setting-value",
    ),
]


@pytest.fixture(scope="module")
def bad_input_results(sqlite_server: LiveServer) -> dict[tuple[str, ...], subprocess.CompletedProcess[str]]:
    """Every BAD_INPUT command, run once and at the same time."""
    commands: list[tuple[str, ...]] = [param.values[0] for param in BAD_INPUT]  # type: ignore[misc]
    results = run_concurrently(*[lambda args=args: sqlite_server.cli(*args, check=False) for args in commands])
    return dict(zip(commands, results, strict=True))


@pytest.mark.parametrize(("args", "message"), BAD_INPUT)
def test_bad_input_exits_2_with_a_message_saying_what_to_fix(
    bad_input_results: dict[tuple[str, ...], subprocess.CompletedProcess[str]], args: tuple[str, ...], message: str
) -> None:
    assert failure_message(bad_input_results[args]) == message


def test_unknown_setting_exits_2_listing_the_known_ones(sqlite_server: LiveServer) -> None:
    stderr = cli_fails(sqlite_server, "settings", "set", "no_such_setting", "on")
    assert stderr.startswith("Error: Unknown setting 'no_such_setting'; known: consent_mode")
    assert stderr.endswith("\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("client", "add", "--name", "X", "--grant-type", "password"), "Invalid value for '--grant-type'"),
        (("client", "add", "--name", "X", "--access-token-ttl", "5"), "Invalid value for '--access-token-ttl'"),
        (("user", "add"), "Missing argument 'EMAIL'"),
        (("user", "frobnicate"), "No such command 'frobnicate'"),
    ],
    ids=["unknown-grant-type", "ttl-out-of-range", "missing-argument", "unknown-command"],
)
def test_usage_errors_exit_2_with_click_usage_help(
    sqlite_server: LiveServer, args: tuple[str, ...], message: str
) -> None:
    stderr = cli_fails(sqlite_server, *args)
    assert re.match(r"Usage: (python -m )?gatepass ", stderr)
    assert f"Error: {message}" in stderr


def test_unreachable_database_exits_2_without_a_traceback(sqlite_server: LiveServer) -> None:
    env = {**sqlite_server.env, "GATEPASS_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = subprocess.run(
        [sys.executable, "-m", "gatepass", "user", "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.startswith("Error: cannot reach the database: ")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [("client", "list"), ("user", "list", "--json"), ("keys", "list")])
def test_a_read_only_command_on_a_new_database_says_to_migrate_and_creates_nothing(
    sqlite_server: LiveServer, tmp_path: Path, command: tuple[str, ...]
) -> None:
    env = {**sqlite_server.env, "GATEPASS_SERVER_VAR_DIR": str(tmp_path), "GATEPASS_DATABASE_URL": ""}
    result = subprocess.run(
        [sys.executable, "-m", "gatepass", *command], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stdout
    assert result.stderr == (
        "Error: the database schema is missing or older than this Gatepass: run `gatepass migrate` first\n"
    )
    database = tmp_path / "gatepass.db"
    if database.exists():
        with sqlite3.connect(database) as connection:
            tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        connection.close()
        assert tables == [], "a read-only command created tables"


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_database_refusing_the_connection_exits_2_without_a_traceback(sqlite_server: LiveServer, backend: str) -> None:
    require_backend(backend)
    base = POSTGRES_URL if backend == "postgresql" else MARIADB_URL
    env = {**sqlite_server.env, "GATEPASS_DATABASE_URL": base.rsplit("/", 1)[0] + "/gp_no_such_database"}
    result = subprocess.run(
        [sys.executable, "-m", "gatepass", "user", "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.startswith("Error: cannot use the database: ")
    assert "gp_no_such_database" in result.stderr
    assert "Traceback" not in result.stderr
