"""Reading a Frappe site through its REST API (``/api/resource``) with an API key pair, for the import.

Everything is read before anything is written: ``read_site`` returns the whole snapshot or raises
``FrappeSiteError`` with a sentence an admin can act on (which URL, which permission, which document).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from gatepass.services.frappe_import import FrappeSnapshot

#: What the API key's user needs to read each document type (Frappe's default permissions).
NEEDED_ROLE = {
    "OAuth Client": "System Manager",
    "User": "System Manager",
    "Role": "System Manager",
    "DocType": "System Manager (or Administrator)",
}
_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class FrappeSiteError(Exception):
    """The site could not be read; the message says why and what to do."""


def check_site_url(url: str) -> str:
    """The site's base URL without a trailing slash; FrappeSiteError when it is not an http(s) address."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FrappeSiteError(f"--url {url!r}: give the site's address, e.g. https://erp.example.com")
    return url.strip().rstrip("/")


class FrappeSite:
    def __init__(self, url: str, api_key: str, api_secret: str, *, transport: httpx.AsyncBaseTransport | None = None):
        self.url = check_site_url(url)
        self._client = httpx.AsyncClient(
            base_url=self.url,
            headers={"Authorization": f"token {api_key}:{api_secret}", "Accept": "application/json"},
            timeout=_TIMEOUT,
            transport=transport,
            follow_redirects=False,
        )
        self.user = "the API key's user"

    async def __aenter__(self) -> FrappeSite:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def _get(self, path: str, params: dict[str, str] | None = None, *, doctype: str = "", name: str = "") -> Any:
        try:
            response = await self._client.get(path, params=params)
        except httpx.TimeoutException:
            raise FrappeSiteError(f"{self.url} did not answer {path} in time") from None
        except httpx.HTTPError as exc:
            raise FrappeSiteError(f"cannot reach {self.url}: {exc or type(exc).__name__}") from None
        if response.status_code == 401:
            raise FrappeSiteError(
                f"{self.url} refused the API key (401): check --api-key and the secret given on standard input"
            )
        if response.status_code == 403:
            raise FrappeSiteError(
                f"{self.user} may not read {doctype or path} on {self.url} (403): give that user the role "
                f"{NEEDED_ROLE.get(doctype, 'with read permission on ' + doctype)} in Frappe, or use another key"
            )
        if response.status_code == 404 and name:
            raise FrappeSiteError(f"{self.url} has no {doctype} {name!r} (404)")
        if 300 <= response.status_code < 400:
            raise FrappeSiteError(
                f"{self.url}{path} redirects to {response.headers.get('location', '?')}: give the site's own "
                "address (https, the final host name) as --url"
            )
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            raise FrappeSiteError(
                f"{self.url}{path} answered {response.status_code} with "
                f"{response.headers.get('content-type', 'no content type')}, not Frappe's JSON: is --url a Frappe site?"
            )
        if response.status_code >= 400:
            raise FrappeSiteError(
                f"{self.url}{path} answered {response.status_code} "
                f"{body.get('exc_type') or ''}: {_server_message(body) or 'no message'}".replace("  ", " ")
            )
        return body

    async def identify(self) -> str:
        """Who the API key belongs to; also the check that the address is a Frappe site."""
        body = await self._get("/api/method/frappe.auth.get_logged_user")
        user = body.get("message")
        if not isinstance(user, str) or not user:
            raise FrappeSiteError(f"{self.url} answered, but not as a Frappe site (no logged-in user): check --url")
        self.user = f"the API key's user {user}"
        return user

    async def get_doc(self, doctype: str, name: str) -> dict[str, Any]:
        path = f"/api/resource/{quote(doctype, safe='')}/{quote(name, safe='')}"
        body = await self._get(path, doctype=doctype, name=name)
        doc = body.get("data")
        if not isinstance(doc, dict):
            raise FrappeSiteError(f"{self.url}: {doctype} {name!r} came without its document ('data')")
        return doc

    async def get_all(self, doctype: str) -> tuple[dict[str, Any], ...]:
        """Every document of the type with its child tables (the list leaves them out, so each is read too)."""
        params = {"fields": '["*"]', "limit_page_length": "0"}
        body = await self._get(f"/api/resource/{quote(doctype, safe='')}", params, doctype=doctype)
        rows = body.get("data")
        if not isinstance(rows, list) or not all(isinstance(row, dict) and row.get("name") for row in rows):
            raise FrappeSiteError(f'{self.url}: the list of {doctype} is not Frappe\'s {{"data": [...]}}')
        return tuple([await self.get_doc(doctype, str(row["name"])) for row in rows])


def _server_message(body: dict[str, Any]) -> str:
    """The first message Frappe's ``frappe.throw`` put in ``_server_messages`` (a JSON string of JSON strings)."""
    try:
        messages = json.loads(body.get("_server_messages") or "[]")
        first = json.loads(messages[0]) if messages else {}
        return str(first.get("message", "")) if isinstance(first, dict) else str(first)
    except (json.JSONDecodeError, TypeError, IndexError):
        return str(body.get("_error_message") or body.get("exception") or "")


async def read_site(site: FrappeSite, doctypes: tuple[str, ...]) -> FrappeSnapshot:
    await site.identify()
    return FrappeSnapshot(
        roles=await site.get_all("Role"),
        users=await site.get_all("User"),
        clients=await site.get_all("OAuth Client"),
        doctypes=tuple([await site.get_doc("DocType", name) for name in doctypes]),
    )
