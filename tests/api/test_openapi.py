"""/openapi.json, the docs page with its own CSP, and a schemathesis run with zero server errors."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
from api_support import api_user

from support.logs import LogWindow
from support.server import LiveServer

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def test_openapi_describes_each_type_with_an_oauth2_code_flow_on_this_issuer(sqlite_server: LiveServer) -> None:
    document = httpx.get(f"{sqlite_server.url}/openapi.json").json()
    assert document["openapi"] == "3.0.3"
    assert document["servers"] == [{"url": sqlite_server.url}]
    flow = document["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == f"{sqlite_server.url}/oauth/authorize"
    assert flow["tokenUrl"] == f"{sqlite_server.url}/oauth/token"
    assert "all" in flow["scopes"]
    assert {"/api/resource/ToDo", "/api/resource/ToDo/{name}", "/api/resource/Note"} <= set(document["paths"])
    todo = document["components"]["schemas"]["ToDo"]["properties"]
    assert todo["status"]["enum"] == ["Open", "Closed", "Cancelled"]
    assert document["components"]["schemas"]["ToDo_new"]["required"] == ["description"]


def test_the_docs_page_loads_swagger_ui_from_static_under_its_own_csp(sqlite_server: LiveServer) -> None:
    page = httpx.get(f"{sqlite_server.url}/api/docs")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
    assert '<script src="/static/swagger-ui/swagger-ui-bundle.js">' in page.text
    assert httpx.get(f"{sqlite_server.url}/static/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert httpx.get(f"{sqlite_server.url}/static/api-docs.js").status_code == 200
    login = httpx.get(f"{sqlite_server.url}/login")
    # Other pages keep their own, stricter policy: at most this origin's scripts (the login page's passkey button).
    login_csp = login.headers["content-security-policy"]
    assert login_csp.startswith("default-src 'none'") and "unsafe" not in login_csp
    assert "swagger" not in login_csp and all(
        part.split() == ["script-src", "'self'"] for part in login_csp.split(";") if "script-src" in part
    ), login_csp


#: Parsing and validating the input is the same code on every backend, so every phase runs once, on
#: SQLite, with 25 generated cases per operation and a fixed seed. What differs between backends is
#: how the stores take the same values, and the values a store may take differently (the longest
#: strings, the largest numbers, the edge dates) are what the coverage phase sends, derived from the
#: schema rather than drawn at random; so PostgreSQL and MariaDB run that phase alone.
PHASES = {"sqlite": "examples,coverage,fuzzing,stateful", "postgresql": "coverage", "mariadb": "coverage"}
FUZZ_EXAMPLES = 25


def test_schemathesis_finds_no_server_error(
    server: LiveServer, start_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    # A server of its own: as a System Manager, the fuzzer changes and deletes whatever documents the API lists,
    # and on the shared server those are other tests' fixtures.
    fuzzed = start_server(server.backend)
    fuzzed.cli(
        "doctype", "add", f"Fuzz{tmp_path.name[-6:].replace('_', '')}",
        "--field", "title:Data:required", "--field", "count:Int", "--field", "price:Float", "--field", "done:Check",
        "--field", "due:Date", "--field", "at:Datetime", "--field", "kind:Select:A:B", "--field", "todo:Link:ToDo",
    )  # fmt: skip
    manager = api_user(fuzzed, scopes=("all",), roles=("System Manager",))
    log = LogWindow(fuzzed)
    result = subprocess.run(
        [
            str(SCHEMATHESIS), "run", f"{fuzzed.url}/openapi.json",
            "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance",
            "-H", f"Authorization: Bearer {manager.token(fuzzed, 'all')}",
            "--phases", PHASES[fuzzed.backend], "--max-examples", str(FUZZ_EXAMPLES), "--seed", "5",
            "--no-color", "--generation-database", "none",
            "--report-dir", str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:]
    server_errors = [line for line in log.text().splitlines() if '"status": 5' in line]
    assert server_errors == []
