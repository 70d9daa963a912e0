"""A device-flow client written from RFC 8628 alone, and the user's part at /device over HTTP form posts.

The client only reads the server's discovery document and the RFC: it asks the device authorization
endpoint for codes (§3.1), waits ``interval`` seconds between polls of the token endpoint (§3.4), adds
5 seconds on every ``slow_down`` (§3.5) and stops at anything but ``authorization_pending`` and
``slow_down``. How it waits is given to it: against a clock server, moving the server's clock.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from support.browser import HttpBrowser
from support.html import find_form, page_text

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_PAGE = "/device"
_addresses = itertools.count(1)


def unique_address() -> str:
    """An address of the test's own (the clock servers trust the test as their proxy), so the per-address
    budget for user codes is each test's alone."""
    number = next(_addresses)
    return f"198.51.{number // 250}.{number % 250 + 1}"


@dataclass
class DeviceClient:
    """RFC 8628 from the device's side: one client, identified as it registered."""

    http: httpx.AsyncClient
    issuer: str
    client: Mapping[str, Any]
    #: Every error the token endpoint answered while polling, in order.
    poll_errors: list[str] = field(default_factory=list)

    def _credentials(self) -> tuple[dict[str, str], tuple[str, str] | None]:
        secret = self.client.get("client_secret")
        if secret:
            return {}, (self.client["client_id"], secret)
        return {"client_id": self.client["client_id"]}, None

    async def metadata(self) -> dict[str, Any]:
        response = await self.http.get(f"{self.issuer}/.well-known/oauth-authorization-server")
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document

    async def request_codes(self, scope: str | None = "openid profile") -> httpx.Response:
        """§3.1: the device authorization request, at the endpoint discovery names."""
        endpoint = (await self.metadata())["device_authorization_endpoint"]
        form, auth = self._credentials()
        if scope is not None:
            form["scope"] = scope
        return await self.http.post(endpoint, data=form, auth=auth or httpx.USE_CLIENT_DEFAULT)

    async def codes(self, scope: str | None = "openid profile") -> dict[str, Any]:
        response = await self.request_codes(scope)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body: dict[str, Any] = response.json()
        return body

    async def poll_once(self, device_code: str) -> httpx.Response:
        """§3.4: one access token request."""
        form, auth = self._credentials()
        form.update(grant_type=DEVICE_GRANT, device_code=device_code)
        return await self.http.post(f"{self.issuer}/oauth/token", data=form, auth=auth or httpx.USE_CLIENT_DEFAULT)

    async def poll(
        self,
        codes: Mapping[str, Any],
        wait: Callable[[float], Awaitable[None]],
        *,
        until_pending: Callable[[], Awaitable[None]] | None = None,
        max_polls: int = 20,
    ) -> httpx.Response:
        """§3.4-3.5: poll at the interval until the answer is no longer pending; ``until_pending`` runs after the
        first authorization_pending (the user's turn). The last response is returned."""
        interval = int(codes.get("interval", 5))
        for _ in range(max_polls):
            await wait(interval)
            response = await self.poll_once(codes["device_code"])
            if response.status_code == 200:
                return response
            error = response.json()["error"]
            self.poll_errors.append(error)
            if error == "slow_down":
                interval += 5
            elif error != "authorization_pending":
                return response
            elif until_pending is not None:
                await until_pending()
                until_pending = None
        raise AssertionError(f"still pending after {max_polls} polls: {self.poll_errors}")


async def open_device_page(browser: HttpBrowser, user_code: str | None = None) -> httpx.Response:
    """The user opens verification_uri (or its complete form) in a logged-in browser."""
    query = {"user_code": user_code} if user_code is not None else None
    return await browser.http.get(DEVICE_PAGE, params=query)


async def type_code(browser: HttpBrowser, typed: str) -> httpx.Response:
    """The user types a code on the /device page's form and submits it."""
    entry = await open_device_page(browser)
    form = find_form(entry.text, DEVICE_PAGE)
    assert form is not None, page_text(entry.text)[:400]
    return await browser.http.post(DEVICE_PAGE, data={**form.fields, "user_code": typed})


async def decide(browser: HttpBrowser, consent: httpx.Response, decision: str) -> httpx.Response:
    """Allow or Deny on the page that shows the device's app and scopes."""
    assert consent.status_code == 200, page_text(consent.text)[:400]
    form = find_form(consent.text, DEVICE_PAGE)
    assert form is not None and "decision" not in form.fields, page_text(consent.text)[:400]
    return await browser.http.post(DEVICE_PAGE, data={**form.fields, "decision": decision})
