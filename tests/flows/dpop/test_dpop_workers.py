"""DPoP across the workers of one server (RFC 9449 §11.1 and §8): a proof sent to several workers at once is
accepted by one of them only, and a nonce one worker gave is taken by every other."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from dpop_support import TOKEN, USERINFO, DpopKey, token_request

from support.backends import FLOW_BACKENDS
from support.server import ADMIN_EMAIL, LiveServer


@pytest.mark.parametrize("backend", FLOW_BACKENDS)
async def test_a_proof_sent_to_every_worker_at_once_is_accepted_once_and_nonces_hold_on_each(
    start_server: Callable[..., LiveServer], http: httpx.AsyncClient, backend: str
) -> None:
    server = start_server(backend, GATEPASS_SERVER_WORKERS="2", GATEPASS_SECURITY_REQUIRE_DPOP_NONCE="true")
    client = server.create_client("--grant-type", "client_credentials", "--service-user", ADMIN_EMAIL)
    key, token_url = DpopKey.new(), server.url + TOKEN
    data = {"grant_type": "client_credentials", "scope": "openid"}
    nonce = (await token_request(http, server, client, data, proof=key.proof("POST", token_url))).headers["dpop-nonce"]
    granted = await token_request(http, server, client, data, proof=key.proof("POST", token_url, nonce=nonce))
    access = granted.json()["access_token"]

    # The shared client opens a new connection per request, which the kernel spreads over both workers.
    def fresh() -> dict[str, str]:
        proof = key.proof("GET", server.url + USERINFO, access_token=access, nonce=nonce)
        return {"Authorization": f"DPoP {access}", "DPoP": proof}

    each_fresh = await asyncio.gather(*(http.get(server.url + USERINFO, headers=fresh()) for _ in range(12)))
    assert [answer.status_code for answer in each_fresh] == [200] * 12
    same = fresh()
    replays = await asyncio.gather(*(http.get(server.url + USERINFO, headers=same) for _ in range(12)))
    assert sorted(answer.status_code for answer in replays) == [200] + [401] * 11
    refused = {answer.json()["error_description"] for answer in replays if answer.status_code == 401}
    assert refused == {"This DPoP proof was used before: make a new proof, with a new jti, for each request"}
