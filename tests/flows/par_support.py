"""Pushed authorization requests (RFC 9126) as a real client sends them: oauth4webapi in Node
(par_client.mjs), and the same push over plain HTTP for the refusals a library would never send.

oauth4webapi comes from the project's package.json (`npm ci`); without it (or without node) the
tests that drive it are skipped on a laptop and fail under CI.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from support.backchannel import Backchannel
from support.backends import require
from support.browser import AUTHORIZE, AuthorizationOutcome, HttpBrowser
from support.pkce import Pkce
from support.server import REDIRECT_URI, LiveServer

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).parent / "pushed_authorization" / "par_client.mjs"
PAR = "/oauth/par"
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"


def require_oauth4webapi() -> str:
    """The node binary; skipped on a laptop without node or the package, a failure under CI=true."""
    node = shutil.which("node")
    require(None if node else "node is not installed")
    package = ROOT / "node_modules" / "oauth4webapi"
    require(None if package.exists() else "oauth4webapi is not installed (node_modules/oauth4webapi): run npm ci")
    assert node is not None
    return node


async def run_oauth4webapi(
    command: str, arguments: Mapping[str, Any], *, script: Path = SCRIPT
) -> tuple[int, dict[str, Any]]:
    """One step of par_client.mjs (or another client ``script`` of the same shape): (exit status, its JSON answer)."""
    process = await asyncio.create_subprocess_exec(
        require_oauth4webapi(),
        str(script),
        command,
        json.dumps(dict(arguments)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    assert stdout, f"{script.name} {command} printed nothing: {stderr.decode()}"
    answer: dict[str, Any] = json.loads(stdout)
    return process.returncode, answer


def library_client(
    server: LiveServer, client: Mapping[str, Any], scope: str = "openid profile email"
) -> dict[str, Any]:
    """What par_client.mjs needs to know of a registered client."""
    return {
        "issuer": server.url,
        "client_id": client["client_id"],
        "client_secret": client.get("client_secret"),
        "auth_method": client["token_endpoint_auth_method"],
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
    }


async def push(
    server: LiveServer, client: Mapping[str, Any] | None, params: Mapping[str, str], *, path: str = PAR
) -> httpx.Response:
    """POST an authorization request to the PAR endpoint, authenticating as ``client`` registered."""
    async with httpx.AsyncClient(timeout=60) as http:
        return await Backchannel(http, server).post(path, client, params)


async def pushed_request_uri(server: LiveServer, client: Mapping[str, Any], params: Mapping[str, str]) -> str:
    """A push that must succeed: its request_uri."""
    response = await push(server, client, params)
    assert response.status_code == 201, response.text
    request_uri: str = response.json()["request_uri"]
    return request_uri


def authorize_url(client: Mapping[str, Any], request_uri: str, *, path: str = AUTHORIZE, **extra: str) -> str:
    """RFC 9126 §4: the authorization request that stands for a pushed one."""
    return f"{path}?{urlencode({'client_id': client['client_id'], 'request_uri': request_uri, **extra})}"


async def authorize_as_new_user(
    server: LiveServer, url: str, *, decision: str | None = "allow"
) -> AuthorizationOutcome:
    """Open ``url`` in a new browser as a new user, who logs in and gives ``decision`` on the consent page."""
    async with HttpBrowser(server, server.create_user()) as browser:
        return await browser.authorize_url(url, decision=decision)


def pushed_code_request(pkce: Pkce, **extra: str) -> dict[str, str]:
    """The parameters of a code request without client_id: the push authenticates the client."""
    return {
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email",
        "state": "pushed-state",
        **pkce.params,
        **extra,
    }
