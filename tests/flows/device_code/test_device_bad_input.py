"""Malformed requests to the device authorization endpoint and the /device page get a 4xx with a message,
never a 500: OAuth's JSON on the back channel, the page with its message for the browser."""

from __future__ import annotations

import httpx
import pytest
from device_support import DEVICE_GRANT, unique_address

from support.browser import HttpBrowser
from support.clock_server import ClockServer
from support.html import page_text

FORM = "application/x-www-form-urlencoded"
#: name: (body, content type)
BAD_BODIES = {
    "json": (b'{"client_id": "x"}', "application/json"),
    "not-utf8": (b"client_id=\xff\xfe", FORM),
    "nul": (b"client_id=a%00b", FORM),
    "duplicate": (b"client_id=a&client_id=b", FORM),
    "broken-multipart": (b"--x\r\nContent-Disposition: form-data\r\n\r\n", "multipart/form-data; boundary=x"),
    "huge-code": (b"user_code=" + b"B" * 100_000, FORM),
}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
async def test_the_device_authorization_endpoint_answers_bad_bodies_with_oauth_json(
    sqlite_clock_server: ClockServer, http: httpx.AsyncClient, name: str
) -> None:
    body, content_type = BAD_BODIES[name]
    response = await http.post(
        f"{sqlite_clock_server.url}/oauth/device_authorization", content=body, headers={"Content-Type": content_type}
    )
    assert 400 <= response.status_code < 500, (name, response.status_code, response.text[:300])
    assert response.json()["error"] in ("invalid_request", "invalid_client"), response.text


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
async def test_the_device_page_answers_bad_forms_with_a_message(sqlite_clock_server: ClockServer, name: str) -> None:
    body, content_type = BAD_BODIES[name]
    async with HttpBrowser(sqlite_clock_server, sqlite_clock_server.create_user()) as browser:
        browser.http.headers["X-Forwarded-For"] = unique_address()
        await browser.login()
        response = await browser.http.post("/device", content=body, headers={"Content-Type": content_type})
    assert 400 <= response.status_code < 500, (name, response.status_code, page_text(response.text)[:300])


async def test_a_bad_device_code_or_grant_parameter_is_an_oauth_error(
    sqlite_clock_server: ClockServer, http: httpx.AsyncClient
) -> None:
    client = sqlite_clock_server.create_client("--public", "--grant-type", DEVICE_GRANT, name="Bad Input Device")
    token = f"{sqlite_clock_server.url}/oauth/token"
    base = {"grant_type": DEVICE_GRANT, "client_id": client["client_id"]}
    for extra in ({"device_code": "x" * 5000}, {"device_code": "a", "code": "b"}):
        response = await http.post(token, data={**base, **extra})
        assert response.status_code == 400 and response.json()["error"] in ("invalid_grant", "invalid_request")
