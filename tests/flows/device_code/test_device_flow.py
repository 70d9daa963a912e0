"""The device authorization grant (RFC 8628) end to end: a device-flow client on httpx (device_support.py)
asks for codes and polls at its interval; the user types or confirms the code at /device and allows or
denies. The servers read a clock the tests move, so waiting for an interval or an expiry takes no time.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from device_support import (
    DEVICE_GRANT,
    DeviceClient,
    decide,
    open_device_page,
    type_code,
    unique_address,
)

from support.backchannel import assert_oauth_error
from support.browser import HttpBrowser
from support.clock_server import ClockServer
from support.html import page_text
from support.provision import World, provision


@pytest.fixture(scope="module")
def device_world(clock_server: ClockServer) -> Iterator[World]:
    users, clients = provision(
        clock_server,
        {"dana": {"first_name": "Dana", "last_name": "Device"}, "eli": {"first_name": "Eli", "last_name": "Else"}},
        lambda _: {
            # A command-line tool: a public client (no secret), as RFC 8628 expects most devices to be.
            "cli": (
                "--name",
                "Gatepass CLI",
                "--public",
                "--grant-type",
                DEVICE_GRANT,
                "--grant-type",
                "refresh_token",
            ),
            "tv": ("--name", "Living Room TV", "--grant-type", DEVICE_GRANT),
            "web": ("--name", "Web Only App"),
        },
    )
    yield World(clock_server, users, clients)


def _server(world: World) -> ClockServer:
    assert isinstance(world.server, ClockServer)
    return world.server


def _device(world: World, http: httpx.AsyncClient, name: str) -> DeviceClient:
    return DeviceClient(http, world.server.url, world.client(name))


def _waits(server: ClockServer) -> Any:
    async def wait(seconds: float) -> None:
        server.clock.advance(seconds=seconds)

    return wait


async def _browser(world: World, name: str) -> HttpBrowser:
    browser = HttpBrowser(world.server, world.user(name))
    browser.http.headers["X-Forwarded-For"] = unique_address()
    await browser.login()
    return browser


async def test_a_public_cli_gets_tokens_once_the_user_allows_it_and_only_once(
    device_world: World, http: httpx.AsyncClient
) -> None:
    server = _server(device_world)
    device = _device(device_world, http, "cli")
    codes = await device.codes("openid profile")
    assert set(codes) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", codes["user_code"])
    assert codes["verification_uri"] == f"{server.url}/device"
    assert codes["verification_uri_complete"] == f"{server.url}/device?user_code={codes['user_code']}"
    assert (codes["expires_in"], codes["interval"]) == (600, 5)

    async with await _browser(device_world, "dana") as browser:

        async def user_allows() -> None:
            consent = await browser.http.get(codes["verification_uri_complete"])
            text = page_text(consent.text)
            assert "Allow Gatepass CLI on your device" in text and codes["user_code"] in text, text
            assert "Dana" in text or device_world.user("dana")["email"] in text
            done = await decide(browser, consent, "allow")
            assert done.status_code == 200 and "Device connected" in page_text(done.text)

        tokens = await device.poll(codes, _waits(server), until_pending=user_allows)
    assert tokens.status_code == 200, tokens.text
    assert device.poll_errors == ["authorization_pending"]
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "openid profile"
    assert body["refresh_token"] and body["id_token"]
    userinfo = await http.get(
        f"{server.url}/oauth/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert userinfo.status_code == 200 and userinfo.json()["given_name"] == "Dana"

    server.clock.advance(seconds=5)
    assert_oauth_error(
        await device.poll_once(codes["device_code"]), 400, "invalid_grant", "The device_code was used already"
    )


async def test_polling_faster_than_the_interval_gets_slow_down_and_5_seconds_more_each_time(
    device_world: World, http: httpx.AsyncClient
) -> None:
    server = _server(device_world)
    device = _device(device_world, http, "tv")
    codes = await device.codes()
    pending = await device.poll_once(codes["device_code"])
    assert_oauth_error(
        pending, 400, "authorization_pending", "The user has not yet allowed or denied this device; poll again later"
    )
    too_soon = await device.poll_once(codes["device_code"])
    assert_oauth_error(too_soon, 400, "slow_down", "Polling too fast; wait 10 seconds between requests")
    server.clock.advance(seconds=5)
    # The old interval is not enough any more: the raised one holds for every later poll.
    still_too_soon = await device.poll_once(codes["device_code"])
    assert_oauth_error(still_too_soon, 400, "slow_down", "Polling too fast; wait 15 seconds between requests")
    server.clock.advance(seconds=15)
    assert (await device.poll_once(codes["device_code"])).json()["error"] == "authorization_pending"


async def test_a_denial_answers_access_denied_and_the_code_cannot_be_allowed_after(
    device_world: World, http: httpx.AsyncClient
) -> None:
    server = _server(device_world)
    device = _device(device_world, http, "tv")
    codes = await device.codes("profile")
    async with await _browser(device_world, "eli") as browser:

        async def user_denies() -> None:
            denied = await decide(browser, await type_code(browser, codes["user_code"]), "deny")
            assert "Device not connected" in page_text(denied.text)

        answer = await device.poll(codes, _waits(server), until_pending=user_denies)
        assert_oauth_error(answer, 400, "access_denied", "The user denied the authorization request")
        again = await open_device_page(browser, codes["user_code"])
    assert again.status_code == 400
    assert "That code was used already" in page_text(again.text)


async def test_an_expired_device_code_answers_expired_token_and_its_user_code_is_refused(
    device_world: World, http: httpx.AsyncClient
) -> None:
    server = _server(device_world)
    device = _device(device_world, http, "cli")
    codes = await device.codes()
    server.clock.advance(seconds=codes["expires_in"] + 1)
    assert_oauth_error(
        await device.poll_once(codes["device_code"]),
        400,
        "expired_token",
        "The device_code has expired; start again with a new device authorization request",
    )
    async with await _browser(device_world, "dana") as browser:
        page = await open_device_page(browser, codes["user_code"])
    assert page.status_code == 400
    assert "That code has expired" in page_text(page.text)


async def test_a_typed_code_ignores_case_dashes_and_spaces_and_a_wrong_one_is_refused_and_audited(
    device_world: World, http: httpx.AsyncClient
) -> None:
    server = _server(device_world)
    device = _device(device_world, http, "cli")
    codes = await device.codes()
    typed = codes["user_code"].replace("-", " ").lower()
    async with await _browser(device_world, "dana") as browser:
        address = browser.http.headers["X-Forwarded-For"]
        wrong = await type_code(browser, "BBBB-BBBB" if codes["user_code"] != "BBBB-BBBB" else "CCCC-CCCC")
        assert wrong.status_code == 400
        assert "That code matches no device waiting for you" in page_text(wrong.text)
        nonsense = await type_code(browser, "<script>")
        assert nonsense.status_code == 400 and "<script>" not in nonsense.text
        consent = await type_code(browser, typed)
        assert codes["user_code"] in page_text(consent.text)
        await decide(browser, consent, "allow")
    tokens = await device.poll(codes, _waits(server))
    assert tokens.status_code == 200, tokens.text

    events = server.run(lambda gatepass: gatepass.audit.list_events(event="device.user_code_failed"))
    assert len([event for event in events if event.ip == address]) == 2


async def test_a_client_not_allowed_the_device_grant_is_refused_at_both_endpoints(
    device_world: World, http: httpx.AsyncClient
) -> None:
    device = _device(device_world, http, "web")
    assert_oauth_error(
        await device.request_codes(),
        400,
        "unauthorized_client",
        f"This client is not allowed to use the {DEVICE_GRANT} grant",
    )
    assert_oauth_error(
        await device.poll_once("anything"),
        400,
        "unauthorized_client",
        f"This client is not allowed to use the {DEVICE_GRANT} grant",
    )


async def test_a_device_code_is_the_clients_own_and_an_unknown_one_is_invalid_grant(
    device_world: World, http: httpx.AsyncClient
) -> None:
    codes = await _device(device_world, http, "tv").codes()
    other = _device(device_world, http, "cli")
    assert_oauth_error(await other.poll_once(codes["device_code"]), 400, "invalid_grant", "The device_code is invalid")
    assert_oauth_error(await other.poll_once("not-a-code"), 400, "invalid_grant", "The device_code is invalid")
    missing = await http.post(
        f"{device_world.server.url}/oauth/token",
        data={"grant_type": DEVICE_GRANT, "client_id": device_world.client("cli")["client_id"]},
    )
    assert_oauth_error(missing, 400, "invalid_request", "Missing required parameter 'device_code'")


async def test_a_confidential_device_must_authenticate_and_ask_for_its_own_scopes(
    device_world: World, http: httpx.AsyncClient
) -> None:
    tv = device_world.client("tv")
    endpoint = f"{device_world.server.url}/oauth/device_authorization"
    wrong_secret = await http.post(endpoint, data={"scope": "openid"}, auth=(tv["client_id"], "wrong"))
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
    unknown_scope = await http.post(
        endpoint, data={"scope": "openid spaceship"}, auth=(tv["client_id"], tv["client_secret"])
    )
    assert_oauth_error(unknown_scope, 400, "invalid_scope", "Scope 'spaceship' is not registered for this client")
    as_get = await http.get(endpoint)
    assert as_get.status_code == 405 and as_get.json()["error"] == "invalid_request"


async def test_the_device_page_sends_a_visitor_to_log_in_and_back_and_wants_its_csrf_token(
    device_world: World, http: httpx.AsyncClient
) -> None:
    codes = await _device(device_world, http, "cli").codes()
    async with HttpBrowser(device_world.server, device_world.user("eli")) as browser:
        browser.http.headers["X-Forwarded-For"] = unique_address()
        first = await browser.http.get(codes["verification_uri_complete"])
        assert first.status_code == 303
        next_page = f"/device?user_code={codes['user_code']}"
        assert first.headers["location"] == f"/login?{urlencode({'next': next_page})}"
        outcome = await browser.follow(first, decision=None)
        assert "Allow Gatepass CLI on your device" in page_text(outcome.response.text)
        forged = await browser.http.post(
            "/device", data={"user_code": codes["user_code"], "decision": "allow", "csrf_token": "forged"}
        )
    assert forged.status_code == 400
    assert "The form expired or was sent from another site" in page_text(forged.text)


async def test_guessing_user_codes_is_limited_per_address_and_per_session(
    device_world: World, http: httpx.AsyncClient
) -> None:
    server = _server(device_world)
    budget = server.settings.rate_limits.user_codes_per_minute
    address = unique_address()
    async with await _browser(device_world, "eli") as guesser:
        guesser.http.headers["X-Forwarded-For"] = address
        # All at once: the budget is spent in a burst and earned back one code per minute/budget (3 s by default),
        # so guesses made one after the other on a slow machine could earn one back before the last.
        guesses = [open_device_page(guesser, f"BCDF-{suffix}") for suffix in _guesses(budget + 1)]
        answers = [answer.status_code for answer in await asyncio.gather(*guesses)]
        assert sorted(answers) == [400] * budget + [429]
        # Another address does not give the same session a new budget.
        guesser.http.headers["X-Forwarded-For"] = unique_address()
        assert (await open_device_page(guesser, "BCDF-GHJK")).status_code == 429
    async with await _browser(device_world, "dana") as same_address:
        same_address.http.headers["X-Forwarded-For"] = address
        limited = await open_device_page(same_address, "BCDF-GHJK")
    assert limited.status_code == 429
    assert "Too many codes tried" in page_text(limited.text)


def _guesses(count: int) -> list[str]:
    letters = "BCDFGHJKLMNPQRSTVWXZ"
    return [letters[index % 20] + letters[index // 20 % 20] + "ZZ" for index in range(count)]
