"""docs/postman/gatepass.postman_collection.json runs green with newman against a real Gatepass.

newman comes from the project's package.json (`npm ci`, which `make test` runs when npm is
there); this test installs nothing. Without newman it is skipped on a laptop and fails under CI.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from support.backends import require
from support.server import REDIRECT_URI, LiveServer

ROOT = Path(__file__).resolve().parents[2]
NEWMAN = ROOT / "node_modules" / ".bin" / "newman"
COLLECTION = ROOT / "docs" / "postman" / "gatepass.postman_collection.json"
#: The variables the collection documents as its inputs (docs/postman/README.md).
INPUTS = ("baseUrl", "clientId", "clientSecret", "redirectUri", "username", "password")


@pytest.fixture
def newman() -> Path:
    """Skip when newman is missing on a laptop; under CI=true a missing newman is a failure."""
    require(None if NEWMAN.exists() else f"newman is not installed ({NEWMAN.relative_to(ROOT)} is missing): run npm ci")
    return NEWMAN


def _requests(items: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for item in items:
        if "item" in item:
            names += _requests(item["item"])
        else:
            names.append(item["name"])
    return names


def _collection() -> dict[str, Any]:
    collection: dict[str, Any] = json.loads(COLLECTION.read_text(encoding="utf-8"))
    return collection


def test_collection_declares_its_inputs() -> None:
    collection = _collection()
    assert collection["info"]["schema"] == "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
    declared = {variable["key"] for variable in collection["variable"]}
    assert set(INPUTS) <= declared


def test_collection_runs_green_against_a_live_server(newman: Path, sqlite_server: LiveServer, tmp_path: Path) -> None:
    user = sqlite_server.create_user(first_name="Postman", last_name="Runner")
    client = sqlite_server.create_client("--redirect-uri", REDIRECT_URI, name="Postman collection")
    report = tmp_path / "newman-report.json"
    overrides = {
        "baseUrl": sqlite_server.url,
        "clientId": client["client_id"],
        "clientSecret": client["client_secret"],
        "redirectUri": REDIRECT_URI,
        "username": user["email"],
        "password": user["password"],
    }
    command = [str(newman), "run", str(COLLECTION), "--reporters", "cli,json", "--reporter-json-export", str(report)]
    command += ["--color", "off", "--disable-unicode", "--timeout-request", "20000"]
    for key, value in overrides.items():
        command += ["--env-var", f"{key}={value}"]

    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)

    output = f"{result.stdout[-8000:]}\n{result.stderr[-2000:]}"
    assert result.returncode == 0, output
    run = json.loads(report.read_text(encoding="utf-8"))["run"]
    stats = run["stats"]
    assert run["failures"] == [], output
    assert stats["requests"]["total"] == len(_requests(_collection()["item"])), output
    assert stats["requests"]["failed"] == 0
    assert stats["prerequestScripts"]["failed"] == 0
    assert stats["testScripts"]["failed"] == 0
    assert stats["assertions"]["failed"] == 0
    assertions = [assertion for execution in run["executions"] for assertion in execution.get("assertions", [])]
    assert len(assertions) == stats["assertions"]["total"] >= 50
    assert [a["assertion"] for a in assertions if a.get("error") or a.get("skipped")] == []
    # Every request that the collection lists was sent and answered.
    executed = [execution["item"]["name"] for execution in run["executions"] if execution.get("response")]
    assert executed == _requests(_collection()["item"])
