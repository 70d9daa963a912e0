"""`gatepass provider …`: presets, what is stored, and input an admin must fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rp_support import callback_url, connect, parallel, unique

from support.rows import rows
from support.server import LiveServer


def add_json(app: LiveServer, name: str, *args: str, secret: str = "s3cret-value") -> dict[str, Any]:
    result = app.cli("provider", "add", name, *args, "--client-secret-stdin", "--json", input=secret + "\n")
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_presets_fill_in_issuer_scopes_and_role_sync(app: LiveServer) -> None:
    google, github, gatepass = unique("google"), unique("github"), unique("gp")
    assert add_json(app, google, "--preset", "google", "--client-id", "1234.apps.googleusercontent.com") == {
        "name": google,
        "display_name": "Google",
        "preset": "google",
        "issuer": "https://accounts.google.com",
        "client_id": "1234.apps.googleusercontent.com",
        "has_client_secret": True,
        "scopes": ["openid", "profile", "email"],
        "enabled": True,
        "allow_signup": False,
        "allow_unverified_email": False,
        "trust_amr": False,
        "default_roles": [],
        "role_map": {},
        "role_sync": "off",
        "callback_url": callback_url(app, google),
    }
    hub = add_json(app, github, "--preset", "github", "--client-id", "Iv1.abc", "--allow-signup")
    assert (hub["issuer"], hub["scopes"], hub["display_name"], hub["allow_signup"]) == (
        "https://github.com",
        ["read:user", "user:email"],
        "GitHub",
        True,
    )
    other = add_json(
        app,
        gatepass,
        "--preset",
        "gatepass",
        "--issuer",
        "https://id.example.com/",
        "--client-id",
        "c1",
        "--role-map",
        "Editor",
        "--role-map",
        "Staff=Writer",
        "--default-role",
        "Member",
    )
    assert other["issuer"] == "https://id.example.com"
    assert other["scopes"] == ["openid", "profile", "email", "roles"]
    assert (other["role_sync"], other["role_map"], other["default_roles"]) == (
        "replace",
        {"Editor": "Editor", "Staff": "Writer"},
        ["Member"],
    )


def test_frappe_preset_trusts_emails_and_says_so(app: LiveServer) -> None:
    name = unique("frappe")
    result = app.cli(
        "provider",
        "add",
        name,
        "--preset",
        "frappe",
        "--issuer",
        "https://erp.example.com",
        "--client-id",
        "abc123",
        "--client-secret-stdin",
        input="f00d\n",
    )
    assert "preset:           frappe" in result.stdout
    assert "scopes:           openid all" in result.stdout
    assert "unverified email: trusted" in result.stdout
    assert "Warning: this provider's emails are trusted without email_verified" in result.stderr


def test_secret_is_kept_encrypted_and_never_printed(app: LiveServer) -> None:
    name, secret = unique("idp"), "very-secret-value-4711"
    result = app.cli(
        "provider",
        "add",
        name,
        "--preset",
        "gatepass",
        "--issuer",
        "https://id.example.com",
        "--client-id",
        "c1",
        "--client-secret-stdin",
        input=secret + "\n",
    )
    shown = app.cli("provider", "show", name, "--json").stdout
    assert secret not in result.stdout + result.stderr + shown
    assert json.loads(shown)["has_client_secret"] is True
    [(stored,)] = rows(app, "SELECT client_secret_encrypted FROM login_providers WHERE name = ?", name)
    assert stored and secret not in stored
    assert secret.encode() not in (Path(app.var_dir) / "gatepass.db").read_bytes()


def test_callback_url_is_shown_on_add_show_and_list(app: LiveServer) -> None:
    name = unique("idp")
    added = app.cli(
        "provider", "add", name, "--preset", "gatepass", "--issuer", "https://id.example.com", "--client-id", "c1"
    ).stdout
    line = f"callback URL:     {callback_url(app, name)}   (register this redirect URI at the provider)"
    assert line in added
    assert line in app.cli("provider", "show", name).stdout
    assert f"{name}\tGatepass\tgatepass\tenabled\t{callback_url(app, name)}" in app.cli("provider", "list").stdout


def test_show_says_whether_the_providers_amr_is_trusted_and_update_switches_it(app: LiveServer) -> None:
    name = unique("idp")
    add_json(app, name, "--preset", "gatepass", "--issuer", "https://id.example.com", "--client-id", "c1")
    assert "amr:              not trusted (login is fed)" in app.cli("provider", "show", name).stdout
    app.cli("provider", "update", name, "--trust-amr")
    assert "amr:              trusted (its second factor counts here)" in app.cli("provider", "show", name).stdout
    assert json.loads(app.cli("provider", "show", name, "--json").stdout)["trust_amr"] is True
    app.cli("provider", "update", name, "--no-trust-amr")
    assert json.loads(app.cli("provider", "show", name, "--json").stdout)["trust_amr"] is False


def test_update_changes_only_what_is_given_and_remove_deletes(app: LiveServer) -> None:
    name = unique("idp")
    add_json(
        app,
        name,
        "--preset",
        "gatepass",
        "--issuer",
        "https://id.example.com",
        "--client-id",
        "c1",
        "--role-map",
        "Editor",
    )
    updated = json.loads(
        app.cli(
            "provider",
            "update",
            name,
            "--disable",
            "--role-sync",
            "merge",
            "--role-map",
            "Boss=Writer",
            "--display-name",
            "Head Office",
            "--json",
        ).stdout
    )
    assert (updated["enabled"], updated["role_sync"], updated["role_map"], updated["display_name"]) == (
        False,
        "merge",
        {"Boss": "Writer"},
        "Head Office",
    )
    assert (updated["client_id"], updated["issuer"], updated["has_client_secret"]) == (
        "c1",
        "https://id.example.com",
        True,
    )
    assert app.cli("provider", "remove", name).stdout == f"Removed provider {name}.\n"
    again = app.cli("provider", "remove", name, check=False)
    assert again.returncode == 2
    assert f"Error: no provider is named {name}" in again.stderr


def test_input_an_admin_must_fix_is_refused_with_the_fix(app: LiveServer) -> None:
    cases = {
        ("--preset", "gatepass", "--client-id", "c1"): "The gatepass preset needs --issuer",
        ("--preset", "google"): "--client-id is required",
        ("--preset", "oidc", "--issuer", "http://id.example.com", "--client-id", "c1"): "must use https",
        (
            "--preset",
            "oidc",
            "--issuer",
            "https://id.example.com",
            "--client-id",
            "c1",
            "--role-map",
            "X=Nope",
        ): "No local role is named 'Nope'; create it first with `gatepass role add`",
        (
            "--preset",
            "oidc",
            "--issuer",
            "https://id.example.com",
            "--client-id",
            "c1",
            "--scope",
            "email",
        ): "the scopes must include openid",
        (
            "--preset",
            "oidc",
            "--issuer",
            "https://id.example.com",
            "--client-id",
            "c1",
            "--role-map",
            "=Editor",
        ): "write REMOTE=LOCAL",
    }

    def add(args: tuple[str, ...]) -> Any:
        return app.cli("provider", "add", unique("bad"), *args, check=False)

    results = parallel(*[(add, args) for args in cases])
    for (args, message), result in zip(cases.items(), results, strict=True):
        assert result.returncode == 2, args
        assert message in result.stderr, (args, result.stderr)
    bad_name = app.cli("provider", "add", "Has Spaces", "--preset", "google", "--client-id", "c", check=False)
    assert bad_name.returncode == 2
    assert "lower-case letters, digits, - or _" in bad_name.stderr


def test_check_passes_for_a_well_configured_provider(app: LiveServer, idp: LiveServer) -> None:
    name = connect(app, idp)
    result = app.cli("provider", "check", name)
    assert result.stdout.splitlines() == [
        f"[info] callback URL: {callback_url(app, name)}  (register this redirect URI at the provider)",
        f"[ok  ] discovery: issuer {idp.url}; authorize at {idp.url}/oauth/authorize; tokens at {idp.url}/oauth/token",
        "[ok  ] authorization request: the provider accepts the client id, the callback URL and the scopes",
        "[ok  ] client secret: accepted (the made-up test code was refused, as it should be)",
    ]
