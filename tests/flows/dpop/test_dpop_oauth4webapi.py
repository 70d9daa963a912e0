"""DPoP (RFC 9449) as oauth4webapi does it: a code redeemed with a proof, userinfo read with the DPoP-bound
token and a fresh proof, and a refresh with a proof by the same key; on a server that requires nonces, each
first proof is answered use_dpop_nonce with a nonce, which the library puts in its next proof."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from par_support import authorize_as_new_user, library_client, run_oauth4webapi

from support.backends import FLOW_BACKENDS
from support.browser import is_client_redirect
from support.provision import World
from support.server import LiveServer

SCRIPT = Path(__file__).parent / "dpop_client.mjs"
ALGS = ["ES256", "PS256", "RS256", "EdDSA"]


async def run_dpop_flow(server: LiveServer, client: dict[str, object], *, bind_code: bool) -> dict[str, object]:
    """The library's whole flow, the Python test playing the user: what dpop_client.mjs redeem prints."""
    arguments = {**library_client(server, client, scope="openid profile email"), "bind_code": bind_code}
    status, started = await run_oauth4webapi("authorize", arguments, script=SCRIPT)
    assert status == 0, started
    assert started["dpop_algs"] == ALGS
    outcome = await authorize_as_new_user(server, str(started["authorization_url"]))
    assert is_client_redirect(outcome.location)
    redeem = {
        **arguments,
        "callback_url": outcome.location,
        **{name: started[name] for name in ("code_verifier", "state", "nonce", "dpop_private_jwk")},
    }
    status, result = await run_oauth4webapi("redeem", redeem, script=SCRIPT)
    assert status == 0, result
    return result


@pytest.mark.parametrize(
    ("name", "bind_code"), [("spa", True), ("web", False)], ids=["public, dpop_jkt", "confidential"]
)
async def test_oauth4webapi_gets_dpop_tokens_and_reads_userinfo_with_them(
    world: World, name: str, bind_code: bool
) -> None:
    result = await run_dpop_flow(world.server, world.client(name), bind_code=bind_code)
    assert (result["token_type"], result["refreshed_token_type"]) == ("dpop", "dpop")
    userinfo = result["userinfo"]
    assert isinstance(userinfo, dict)
    assert userinfo["email_verified"] in (True, False)
    assert "email" in userinfo
    assert result["nonce_retries"] == 0


@pytest.mark.parametrize("backend", FLOW_BACKENDS)
async def test_oauth4webapi_supplies_the_nonce_a_server_requires(
    start_server: Callable[..., LiveServer], backend: str
) -> None:
    server = start_server(backend, GATEPASS_SECURITY_REQUIRE_DPOP_NONCE="true")
    client = server.create_client("--public", name="Nonce App")
    result = await run_dpop_flow(server, client, bind_code=False)
    assert (result["token_type"], result["refreshed_token_type"]) == ("dpop", "dpop")
    # The token endpoint asked once; its answers then carried the nonce that userinfo and the refresh used.
    assert result["nonce_retries"] == 1
