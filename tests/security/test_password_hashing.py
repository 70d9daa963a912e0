"""Password hashes cost what the settings say, and older hashes catch up at their owner's next login.

argon2id's memory, passes and lanes are settings (security.password_hash_*), OWASP's minimum by
default. A hash made with other parameters (an older default, a changed setting) still checks, and
the first successful login hashes the password again with the current parameters: the only moment
the plain password is known. A wrong password changes nothing.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import argon2
import httpx
import pytest
from argon2.profiles import RFC_9106_LOW_MEMORY

from gatepass.config import SettingsError, load_settings
from support.backchannel import SSL_CONTEXT
from support.html import page_text, parse_forms
from support.rows import execute, rows
from support.server import LiveServer

WRONG = "not-the-password"
#: argon2-cffi's own default, which Gatepass used before the parameters became settings.
_OLD = argon2.PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)


def _login(server: LiveServer, email: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=server.url, verify=SSL_CONTEXT, timeout=60) as browser:
        page = browser.get("/login")
        form = next(form for form in parse_forms(page.text) if form.action == "/login")
        return browser.post("/login", data={**form.fields, "email": email, "password": password})


def _stored_hash(server: LiveServer, email: str) -> str:
    [(found,)] = rows(server, "SELECT password_hash FROM users WHERE email = ?", email)
    return str(found)


def _parameters(password_hash: str) -> tuple[int, int, int, argon2.Type]:
    found = argon2.extract_parameters(password_hash)
    return found.memory_cost, found.time_cost, found.parallelism, found.type


def test_a_hash_with_other_parameters_is_upgraded_at_the_next_login(server: LiveServer) -> None:
    user = server.create_user()
    assert _parameters(_stored_hash(server, user["email"])) == (19456, 2, 1, argon2.Type.ID)
    old_hash = _OLD.hash(user["password"])
    execute(server, "UPDATE users SET password_hash = ? WHERE email = ?", old_hash, user["email"])

    assert _login(server, user["email"], WRONG).status_code == 401
    assert _stored_hash(server, user["email"]) == old_hash  # a wrong password proves nothing: no rehash

    response = _login(server, user["email"], user["password"])
    assert response.status_code == 303, page_text(response.text)
    new_hash = _stored_hash(server, user["email"])
    assert new_hash != old_hash
    assert _parameters(new_hash) == (19456, 2, 1, argon2.Type.ID)
    assert argon2.PasswordHasher().verify(new_hash, user["password"])

    # The upgraded hash logs in as before, and is left alone once current.
    assert _login(server, user["email"], user["password"]).status_code == 303
    assert _stored_hash(server, user["email"]) == new_hash
    assert _login(server, user["email"], WRONG).status_code == 401
    assert _login(server, "nobody-" + user["email"], user["password"]).status_code == 401


def test_the_configured_parameters_make_every_new_hash_and_upgrade_the_defaults(
    start_server: Callable[..., LiveServer],
) -> None:
    server = start_server(
        "sqlite",
        GATEPASS_SECURITY_PASSWORD_HASH_MEMORY_KIB="12288",
        GATEPASS_SECURITY_PASSWORD_HASH_TIME_COST="3",
        GATEPASS_SECURITY_PASSWORD_HASH_PARALLELISM="2",
    )
    user = server.create_user()  # through the CLI, which reads the same settings
    assert _parameters(_stored_hash(server, user["email"])) == (12288, 3, 2, argon2.Type.ID)
    default_hash = argon2.PasswordHasher(memory_cost=19456, time_cost=2, parallelism=1).hash(user["password"])
    execute(server, "UPDATE users SET password_hash = ? WHERE email = ?", default_hash, user["email"])

    assert _login(server, user["email"], user["password"]).status_code == 303
    assert _parameters(_stored_hash(server, user["email"])) == (12288, 3, 2, argon2.Type.ID)
    assert _login(server, user["email"], user["password"]).status_code == 303


def test_defaults_are_owasps_minimum_for_argon2id() -> None:
    security = load_settings({}).security
    assert (
        security.password_hash_memory_kib,
        security.password_hash_time_cost,
        security.password_hash_parallelism,
    ) == (19456, 2, 1)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"GATEPASS_SECURITY_PASSWORD_HASH_MEMORY_KIB": "4096"},
            "security.password_hash_memory_kib (GATEPASS_SECURITY_PASSWORD_HASH_MEMORY_KIB): 4096 is out of range; "
            "allowed 7168 to 4194304",
        ),
        (
            {"GATEPASS_SECURITY_PASSWORD_HASH_TIME_COST": "0"},
            "security.password_hash_time_cost (GATEPASS_SECURITY_PASSWORD_HASH_TIME_COST): 0 is out of range; "
            "allowed 1 to 20",
        ),
        (
            {"GATEPASS_SECURITY_PASSWORD_HASH_PARALLELISM": "many"},
            "security.password_hash_parallelism (GATEPASS_SECURITY_PASSWORD_HASH_PARALLELISM): 'many' is not a "
            "whole number",
        ),
        (
            {"GATEPASS_SECURITY_PASSWORD_HASH_MEMORY_KIB": "19456", "GATEPASS_SECURITY_PASSWORD_HASH_TIME_COST": "1"},
            "security.password_hash_memory_kib: 19456 KiB with security.password_hash_time_cost 1 is below OWASP's "
            "minimum for argon2id; memory times passes must be at least 35840 (19456 KiB with 2 passes)",
        ),
    ],
)
def test_parameters_below_the_minimum_stop_startup_naming_the_key(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ)
    assert str(caught.value) == message


def test_the_server_does_not_start_with_a_weak_setting(tmp_path: Path) -> None:
    environ = {"GATEPASS_SECURITY_PASSWORD_HASH_TIME_COST": "1", "GATEPASS_SERVER_VAR_DIR": f"{tmp_path}/var"}
    result = subprocess.run(
        [sys.executable, "-m", "gatepass", "serve"], env=environ, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.startswith("Error: security.password_hash_memory_kib: 19456 KiB with ")
