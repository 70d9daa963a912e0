"""A minimal authorization code + PKCE flow over plain HTTP, for the production tests."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx

from support import REDIRECT_URI

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def hidden_fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}


async def login(http: httpx.AsyncClient, email: str, password: str, next_url: str = "/") -> httpx.Response:
    form = await http.get("/login", params={"next": next_url})
    fields = hidden_fields(form.text)
    return await http.post("/login", data={**fields, "email": email, "password": password})


async def authorization_code_flow(
    base_url: str, client: dict[str, str], user: dict[str, str], scope: str = "openid profile"
) -> dict[str, str]:
    """Log in, allow, redeem the code; returns the token response plus the code used."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "client_id": client["client_id"],
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    async with httpx.AsyncClient(base_url=base_url) as browser:
        await login(browser, user["email"], user["password"])
        page = await browser.get("/oauth/authorize", params=params)
        if page.status_code == 200:
            page = await browser.post("/oauth/consent", data={**hidden_fields(page.text), "decision": "allow"})
        location = page.headers["location"]
        code = parse_qs(urlsplit(location).query)["code"][0]
    async with httpx.AsyncClient(base_url=base_url) as backchannel:
        token = await backchannel.post(
            "/oauth/token",
            auth=(client["client_id"], client["client_secret"]),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            },
        )
    assert token.status_code == 200, token.text
    return {**token.json(), "code": code}
