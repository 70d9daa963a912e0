"""Deployment settings: defaults, environment over TOML file, frozen, fail fast with the key named.

STYLE.md §4: one typed, frozen config read once at startup, docs generated from it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gatepass.config import (
    ServerSettings,
    Settings,
    SettingsError,
    issuer_warnings,
    load_instance_secret,
    load_settings,
    render_config_docs,
)
from support.server import LiveServer, free_port

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gatepass.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_gatepass(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`gatepass ...` in its own process, with no GATEPASS_ variable but those given."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("GATEPASS_")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "gatepass", *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=60
    )


# -- loading ----------------------------------------------------------------------------------


def test_defaults_give_a_loopback_issuer_and_frappe_token_lifetimes() -> None:
    settings = load_settings({})
    # The only default not in the dataclass: the issuer, which follows the address served.
    assert settings == dataclasses.replace(Settings(), server=settings.server)
    assert settings.server == dataclasses.replace(ServerSettings(), issuer="http://127.0.0.1:8000")
    assert settings.tokens.access_token_ttl_seconds == 3600
    assert settings.tokens.code_ttl_seconds == 300
    assert settings.database.url == ""
    assert settings.server.var_dir == "./var"
    assert settings.redis.url == ""
    assert settings.is_https is False


def test_environment_variables_set_values_by_group_and_name() -> None:
    settings = load_settings(
        {
            "GATEPASS_SERVER_ISSUER": "https://id.example.com",
            "GATEPASS_TOKENS_ACCESS_TOKEN_TTL_SECONDS": " 600 ",
            "GATEPASS_DATABASE_ECHO": "yes",
            "GATEPASS_REDIS_URL": "redis://127.0.0.1:6379/0",
        }
    )
    assert settings.server.issuer == "https://id.example.com"
    assert settings.is_https is True
    assert settings.tokens.access_token_ttl_seconds == 600
    assert settings.database.echo is True
    assert settings.redis.url == "redis://127.0.0.1:6379/0"


def test_toml_file_sets_values_and_environment_overrides_it(tmp_path: Path) -> None:
    path = write_toml(
        tmp_path,
        '[server]\nissuer = "https://login.example.com"\n'
        "[tokens]\naccess_token_ttl_seconds = 1200\ncode_ttl_seconds = 120\n",
    )
    settings = load_settings({"GATEPASS_TOKENS_ACCESS_TOKEN_TTL_SECONDS": "900"}, config_file=path)
    assert settings.server.issuer == "https://login.example.com"
    assert settings.tokens.code_ttl_seconds == 120
    assert settings.tokens.access_token_ttl_seconds == 900


def test_gatepass_config_variable_names_the_toml_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[tokens]\ncode_ttl_seconds = 60\n")
    assert load_settings({"GATEPASS_CONFIG": str(path)}).tokens.code_ttl_seconds == 60


def test_settings_are_frozen() -> None:
    settings = load_settings({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.tokens.access_token_ttl_seconds = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.server = settings.server  # type: ignore[misc]


@pytest.mark.parametrize(
    ("environ", "issuer"),
    [
        ({"GATEPASS_SERVER_PORT": "8104"}, "http://127.0.0.1:8104"),
        ({"GATEPASS_SERVER_HOST": "localhost", "GATEPASS_SERVER_PORT": "9000"}, "http://localhost:9000"),
        ({"GATEPASS_SERVER_HOST": "::1"}, "http://[::1]:8000"),
        # Not what a local browser types, and plain http must stay on loopback (RFC 9700 §2.6).
        ({"GATEPASS_SERVER_HOST": "0.0.0.0", "GATEPASS_SERVER_PORT": "8080"}, "http://127.0.0.1:8080"),
        ({"GATEPASS_SERVER_HOST": "192.0.2.10"}, "http://127.0.0.1:8000"),
        (
            {"GATEPASS_SERVER_PORT": "8104", "GATEPASS_SERVER_ISSUER": "https://id.example.com"},
            "https://id.example.com",
        ),
    ],
    ids=["port", "localhost", "ipv6-loopback", "wildcard", "public-address", "issuer-set"],
)
def test_without_an_issuer_the_issuer_is_the_address_served(environ: dict[str, str], issuer: str) -> None:
    assert load_settings(environ).server.issuer == issuer


@pytest.mark.parametrize(
    ("environ", "warnings"),
    [
        ({"GATEPASS_SERVER_PORT": "8104"}, []),
        ({"GATEPASS_SERVER_ISSUER": "http://localhost:8104", "GATEPASS_SERVER_PORT": "8104"}, []),
        # Behind a TLS proxy the ports differ on purpose.
        ({"GATEPASS_SERVER_ISSUER": "https://127.0.0.1:8443", "GATEPASS_SERVER_PORT": "8104"}, []),
        ({"GATEPASS_SERVER_ISSUER": "https://id.example.com", "GATEPASS_SERVER_HOST": "0.0.0.0"}, []),
        (
            {"GATEPASS_SERVER_ISSUER": "http://127.0.0.1:8000", "GATEPASS_SERVER_PORT": "8104"},
            [
                "server.issuer is http://127.0.0.1:8000 but gatepass serve listens on http://127.0.0.1:8104: "
                "discovery, redirects and the iss of every token name an address nothing answers on; unset "
                "GATEPASS_SERVER_ISSUER to follow the address served, or make the two agree"
            ],
        ),
        (
            {"GATEPASS_SERVER_ISSUER": "http://[::1]:8000", "GATEPASS_SERVER_HOST": "127.0.0.1"},
            [
                "server.issuer is http://[::1]:8000 but gatepass serve listens on http://127.0.0.1:8000: "
                "discovery, redirects and the iss of every token name an address nothing answers on; unset "
                "GATEPASS_SERVER_ISSUER to follow the address served, or make the two agree"
            ],
        ),
        (
            {"GATEPASS_SERVER_HOST": "0.0.0.0"},
            [
                "gatepass serve listens on http://0.0.0.0:8000, beyond this machine, but the issuer "
                "http://127.0.0.1:8000 is a loopback address other machines cannot reach: set "
                "GATEPASS_SERVER_ISSUER to the https URL clients use (RFC 9700 §2.6)"
            ],
        ),
    ],
    ids=["derived", "localhost-same-port", "https-proxy", "public-issuer", "other-port", "other-loopback", "wildcard"],
)
def test_an_http_loopback_issuer_that_disagrees_with_the_bind_address_is_warned_about(
    environ: dict[str, str], warnings: list[str]
) -> None:
    assert issuer_warnings(load_settings(environ)) == warnings


def _serve(folder: Path, **env: str) -> tuple[subprocess.Popen[str], str]:
    """`gatepass serve` in its own folder and process; returns it once it answers, with what it said."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("GATEPASS_")}
    log = folder / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gatepass", "serve"],
            cwd=folder,
            env={**clean, "GATEPASS_ADMIN_PASSWORD": "admin-password-1", **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(f"http://127.0.0.1:{env['GATEPASS_SERVER_PORT']}/healthz", timeout=1)
            return process, log.read_text()
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"gatepass serve did not start: {log.read_text()}")


def test_serve_on_another_port_names_that_port_everywhere(tmp_path: Path) -> None:
    port = free_port()
    process, said = _serve(tmp_path, GATEPASS_SERVER_PORT=str(port))
    try:
        url = f"http://127.0.0.1:{port}"
        assert f"Gatepass serving {url}\n" in said
        assert '"level": "warning"' not in said
        assert httpx.get(f"{url}/.well-known/openid-configuration").json()["issuer"] == url
        assert (
            httpx.get(f"{url}/.well-known/oauth-authorization-server").json()["token_endpoint"] == f"{url}/oauth/token"
        )
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_serve_warns_at_start_when_the_issuer_names_another_port(tmp_path: Path) -> None:
    port = free_port()
    process, said = _serve(tmp_path, GATEPASS_SERVER_PORT=str(port), GATEPASS_SERVER_ISSUER="http://127.0.0.1:8000")
    process.terminate()
    process.wait(timeout=15)
    assert f"Gatepass serving http://127.0.0.1:8000, listening on http://127.0.0.1:{port}\n" in said
    warnings = [json.loads(line) for line in said.splitlines() if line.startswith("{") and '"warning"' in line]
    assert [(entry["level"], entry["logger"], entry["message"]) for entry in warnings] == [
        (
            "warning",
            "gatepass.serve",
            f"server.issuer is http://127.0.0.1:8000 but gatepass serve listens on http://127.0.0.1:{port}: "
            "discovery, redirects and the iss of every token name an address nothing answers on; unset "
            "GATEPASS_SERVER_ISSUER to follow the address served, or make the two agree",
        )
    ]


@pytest.mark.parametrize(
    "issuer",
    ["http://127.0.0.1:8000", "http://localhost:8080", "http://[::1]:9000", "https://id.example.com/tenant"],
    ids=["ipv4-loopback", "localhost", "ipv6-loopback", "https-with-path"],
)
def test_issuer_may_be_http_only_on_a_loopback_host(issuer: str) -> None:
    assert load_settings({"GATEPASS_SERVER_ISSUER": issuer}).server.issuer == issuer


# -- bad values stop with a message naming the key -----------------------------------------------


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"GATEPASS_TOKENS_ACCESS_TOKEN_TTL_SECONDS": "abc"},
            "tokens.access_token_ttl_seconds (GATEPASS_TOKENS_ACCESS_TOKEN_TTL_SECONDS): 'abc' is not a whole number",
        ),
        (
            {"GATEPASS_TOKENS_CODE_TTL_SECONDS": "601"},
            "tokens.code_ttl_seconds (GATEPASS_TOKENS_CODE_TTL_SECONDS): 601 is out of range; allowed 10 to 600",
        ),
        (
            {"GATEPASS_SERVER_PORT": "0"},
            "server.port (GATEPASS_SERVER_PORT): 0 is out of range; allowed 1 to 65535",
        ),
        (
            {"GATEPASS_DATABASE_ECHO": "maybe"},
            "database.echo (GATEPASS_DATABASE_ECHO): 'maybe' is not a boolean; use true or false",
        ),
        (
            {"GATEPASS_SERVER_ISSUER": "http://id.example.com"},
            "server.issuer: 'http://id.example.com' uses http on a non-loopback host; use https (RFC 9700 §2.6)",
        ),
        (
            {"GATEPASS_SERVER_ISSUER": "https://id.example.com/"},
            "server.issuer: 'https://id.example.com/' must have no query, fragment or trailing slash (RFC 8414 §2)",
        ),
        (
            {"GATEPASS_SERVER_ISSUER": "id.example.com"},
            "server.issuer: 'id.example.com' must be an absolute http(s) URL",
        ),
        (
            {"GATEPASS_SERVER_LOG_LEVEL": "loud"},
            "server.log_level: 'loud'; allowed debug, info, warning, error",
        ),
        (
            {"GATEPASS_DATABASE_URL": "oracle://db.example.com/gatepass"},
            "database.url: 'oracle' is not supported; use sqlite, postgresql or mysql",
        ),
        (
            {"GATEPASS_REDIS_URL": "http://127.0.0.1:6379"},
            "redis.url: must start with redis://, rediss:// or unix://",
        ),
        (
            {"GATEPASS_TOKENS_ACCESS_TTL": "60"},
            "GATEPASS_TOKENS_ACCESS_TTL: unknown setting; see docs/configuration.md for the list",
        ),
    ],
    ids=[
        "not-an-int",
        "code-ttl-over-600",
        "port-zero",
        "not-a-bool",
        "http-issuer-on-public-host",
        "issuer-trailing-slash",
        "issuer-not-absolute",
        "unknown-log-level",
        "unsupported-database",
        "redis-url-scheme",
        "unknown-gatepass-variable",
    ],
)
def test_bad_environment_value_stops_with_a_message_naming_the_key(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ)
    assert str(caught.value) == message


def test_bad_toml_values_stop_with_a_message_naming_the_key(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[tokens]\naccess_token_ttl_seconds = true\n")
    with pytest.raises(SettingsError) as caught:
        load_settings({}, config_file=path)
    assert str(caught.value) == "tokens.access_token_ttl_seconds (config file): True is not a whole number"

    path = write_toml(tmp_path, "[server]\nissuer = 8000\n")
    with pytest.raises(SettingsError) as caught:
        load_settings({}, config_file=path)
    assert str(caught.value) == "server.issuer (config file): expected text, got 8000"


def test_unknown_toml_key_stops_with_a_message_listing_the_allowed_keys(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[tokens]\naccess_ttl = 60\n")
    with pytest.raises(SettingsError) as caught:
        load_settings({}, config_file=path)
    message = str(caught.value)
    assert message.startswith(f"config file {path}: [tokens] has unknown key(s) ['access_ttl']; allowed ")
    assert "access_token_ttl_seconds" in message.split("; allowed ", 1)[1]


def test_unknown_toml_section_stops_with_a_message_listing_the_sections(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[token]\naccess_token_ttl_seconds = 60\n")
    with pytest.raises(SettingsError) as caught:
        load_settings({}, config_file=path)
    message = str(caught.value)
    assert message.startswith(f"config file {path}: unknown section(s) ['token']; allowed [")
    assert "'tokens'" in message.split("; allowed ", 1)[1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[tokens\n", "is not valid TOML: "),
        (b"\xff\xfe[server]\n", "is not UTF-8 text; save it as UTF-8"),
        (b"tokens = 3\n", ": [tokens] must be a table"),
    ],
    ids=["broken-toml", "not-utf8", "section-not-a-table"],
)
def test_unreadable_toml_file_stops_with_a_message_naming_the_file(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "gatepass.toml"
    path.write_bytes(content)
    with pytest.raises(SettingsError) as caught:
        load_settings({}, config_file=path)
    assert str(caught.value).startswith(f"config file {path}")
    assert message in str(caught.value)


def test_missing_toml_file_stops_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(SettingsError) as caught:
        load_settings({}, config_file=path)
    assert str(caught.value) == f"config file {path} does not exist"


# -- instance secret ------------------------------------------------------------------------------


def test_instance_secret_is_generated_once_into_the_var_dir_readable_by_owner_only(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    settings = load_settings({"GATEPASS_SERVER_VAR_DIR": str(var_dir)})

    first = load_instance_secret(settings)
    path = var_dir / "instance_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert path.read_text(encoding="utf-8").strip().encode() == first

    assert load_instance_secret(settings) == first
    assert load_instance_secret(load_settings({"GATEPASS_SERVER_VAR_DIR": str(var_dir)})) == first


def test_configured_instance_secret_is_used_and_must_be_long_enough(tmp_path: Path) -> None:
    secret = "s" * 40
    settings = load_settings({"GATEPASS_SERVER_VAR_DIR": str(tmp_path), "GATEPASS_SERVER_INSTANCE_SECRET": secret})
    assert load_instance_secret(settings) == secret.encode()
    assert not (tmp_path / "instance_secret").exists()

    short = load_settings({"GATEPASS_SERVER_INSTANCE_SECRET": "too-short"})
    with pytest.raises(SettingsError) as caught:
        load_instance_secret(short)
    assert str(caught.value) == "server.instance_secret: must be at least 32 characters"


def test_running_server_keeps_its_instance_secret_owner_only(sqlite_server: LiveServer) -> None:
    path = sqlite_server.var_dir / "instance_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text(encoding="utf-8").strip()) >= 32


# -- generated docs and the command line ----------------------------------------------------------


def test_configuration_docs_match_the_settings_in_code() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_config_docs(), (
        "docs/configuration.md is out of date: run `gatepass config-docs > docs/configuration.md`"
    )


def test_config_docs_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text(render_config_docs().replace("3600", "7200"), encoding="utf-8")
    result = run_gatepass(tmp_path, "config-docs", "--check", str(stale))
    assert result.returncode == 1
    assert result.stderr == f"{stale} is out of date: run `gatepass config-docs > {stale}`\n"

    result = run_gatepass(tmp_path, "config-docs", "--check", str(DOCS))
    assert (result.returncode, result.stderr) == (0, "")


def test_cli_with_a_bad_config_file_exits_2_naming_the_key_before_touching_anything(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[tokens]\ncode_ttl_seconds = 900\n", encoding="utf-8")
    result = run_gatepass(tmp_path, "--config", "bad.toml", "migrate", GATEPASS_SERVER_VAR_DIR=str(tmp_path / "var"))
    assert result.returncode == 2
    assert result.stderr == "Error: tokens.code_ttl_seconds (config file): 900 is out of range; allowed 10 to 600\n"
    assert result.stdout == ""
    assert not (tmp_path / "var").exists()


def test_cli_with_an_unknown_environment_variable_exits_2(tmp_path: Path) -> None:
    result = run_gatepass(tmp_path, "user", "list", GATEPASS_SERVER_VAR_DIR=str(tmp_path), GATEPASS_TOKEN_TTL="60")
    assert result.returncode == 2
    assert result.stderr == "Error: GATEPASS_TOKEN_TTL: unknown setting; see docs/configuration.md for the list\n"
