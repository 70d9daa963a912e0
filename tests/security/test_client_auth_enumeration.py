"""Client authentication tells a caller without the secret nothing about which client_ids exist.

An unknown client_id and a wrong secret get the same invalid_client answer on every back-channel
endpoint; what depends on the client (its registered method, whether it is disabled) is said only
to a caller who proved the secret.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from support.backchannel import (
    BASIC_CHALLENGE,
    FRAPPE_INTROSPECT,
    FRAPPE_TOKEN,
    INTROSPECT,
    POST_CLIENT_USED_BASIC,
    REVOKE,
    TOKEN,
    assert_oauth_error,
)
from support.provision import provision
from support.server import LiveServer

FAILED = "Client authentication failed: unknown client or wrong client_secret"
FORMS = {
    TOKEN: {"grant_type": "client_credentials"},
    FRAPPE_TOKEN: {"grant_type": "client_credentials"},
    REVOKE: {"token": "anything"},
    INTROSPECT: {"token": "anything"},
    FRAPPE_INTROSPECT: {"token": "anything"},
}


def _clients(server: LiveServer) -> dict[str, dict[str, Any]]:
    _, clients = provision(
        server,
        {},
        lambda _: {
            "basic": ("--name", "Basic Secret App", "--grant-type", "client_credentials"),
            "post": (
                *("--name", "Post Secret App", "--grant-type", "client_credentials"),
                *("--auth-method", "client_secret_post"),
            ),
            "off": ("--name", "Disabled App", "--grant-type", "client_credentials"),
        },
    )
    server.cli("client", "update", clients["off"]["client_id"], "--disable")
    return clients


@pytest.mark.parametrize("path", list(FORMS), ids=lambda path: path.rsplit("/", 1)[-1])
async def test_an_unknown_client_and_a_wrong_secret_get_the_same_answer(
    server: LiveServer, http: httpx.AsyncClient, path: str
) -> None:
    clients = _clients(server)
    url, form = server.url + path, FORMS[path]
    basic, post = clients["basic"], clients["post"]
    answers = {
        "unknown-by-basic": await http.post(url, data=form, auth=("no-such-client", "some-secret")),
        "wrong-secret-by-basic": await http.post(url, data=form, auth=(basic["client_id"], "some-secret")),
        # A client registered for the body, tried by Basic without its secret: not told its method.
        "post-client-by-basic": await http.post(url, data=form, auth=(post["client_id"], "some-secret")),
        # A disabled client, tried without its secret: not told that it exists.
        "disabled-by-basic": await http.post(url, data=form, auth=(clients["off"]["client_id"], "some-secret")),
    }
    for response in answers.values():
        assert_oauth_error(response, 401, "invalid_client", FAILED, challenge=BASIC_CHALLENGE)
    in_body = {
        "unknown-in-body": {"client_id": "no-such-client", "client_secret": "some-secret"},
        "wrong-secret-in-body": {"client_id": post["client_id"], "client_secret": "some-secret"},
    }
    for fields in in_body.values():
        response = await http.post(url, data={**form, **fields})
        assert_oauth_error(response, 401, "invalid_client", FAILED, challenge=BASIC_CHALLENGE)


async def test_what_depends_on_the_client_is_said_only_to_the_holder_of_its_secret(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    clients = _clients(server)
    url, form = server.url + TOKEN, FORMS[TOKEN]
    post, off = clients["post"], clients["off"]
    assert_oauth_error(
        await http.post(url, data=form, auth=(post["client_id"], post["client_secret"])),
        401,
        "invalid_client",
        POST_CLIENT_USED_BASIC,
        challenge=BASIC_CHALLENGE,
    )
    assert_oauth_error(
        await http.post(url, data=form, auth=(off["client_id"], off["client_secret"])),
        401,
        "invalid_client",
        "Client authentication failed: the client is disabled",
        challenge=BASIC_CHALLENGE,
    )
