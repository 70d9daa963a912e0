"""A Frappe-shaped site for the import tests: Frappe's REST answers (REFERENCE.md §4) on a real port.

A real Frappe (MariaDB, Redis, bench) cannot run here, so this serves what Frappe's v1 API documents:
``GET /api/resource/<DocType>`` (``{"data": [...]}``, every column with ``fields=["*"]``, no child tables),
``GET /api/resource/<DocType>/<name>`` (the full document with its child rows), Frappe's error bodies
(``exc_type``, ``_server_messages``) with its status codes, ``Authorization: token KEY:SECRET`` checked.
It can refuse one document type (403), answer 500 at its N-th request, or not be Frappe at all.
"""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from support.server import free_port

with warnings.catch_warnings():
    # passlib 1.7 imports the standard library's crypt, deprecated since Python 3.11; Frappe still uses it.
    warnings.simplefilter("ignore", DeprecationWarning)
    from passlib.context import CryptContext  # type: ignore[import-untyped]

API_KEY = "5e1f7c0a9b2d4e6"
API_SECRET = "8d3a1b6c4f2e9a7"
API_USER = "integration@shop.example.com"
#: Frappe's own password context (frappe/utils/password.py): new hashes are pbkdf2_sha256.
FRAPPE_PASSLIB = CryptContext(schemes=["pbkdf2_sha256", "argon2"])

STANDARD = {"owner": "Administrator", "creation": "2025-01-02 10:00:00.000000", "modified": "2025-03-04 11:00:00"}


def frappe_doc(doctype: str, name: str, **values: Any) -> dict[str, Any]:
    """A document as Frappe returns it: standard columns, its fields, child rows with their parent columns."""
    doc: dict[str, Any] = {"name": name, **STANDARD, "modified_by": "Administrator", "docstatus": 0, "idx": 0}
    for key, value in values.items():
        if isinstance(value, list):
            value = [
                {"name": f"{name}-{key}-{i}", **STANDARD, "parent": name, "parentfield": key, "parenttype": doctype,
                 "idx": i, "docstatus": 0, **row}
                for i, row in enumerate(value, start=1)
            ]  # fmt: skip
        doc[key] = value
    doc["doctype"] = doctype
    return doc


def role(name: str, desk_access: int = 1) -> dict[str, Any]:
    return frappe_doc("Role", name, role_name=name, desk_access=desk_access, disabled=0, two_factor_auth=0)


def user(email: str, *roles: str, enabled: int = 1, first_name: str = "", last_name: str = "") -> dict[str, Any]:
    return frappe_doc(
        "User", email, email=email, first_name=first_name, last_name=last_name, enabled=enabled,
        user_type="System User", roles=[{"role": r, "doctype": "Has Role"} for r in roles],
    )  # fmt: skip


def oauth_client(
    client_id: str, secret: str, *redirect_uris: str, allowed_roles: tuple[str, ...] = ()
) -> dict[str, Any]:
    return frappe_doc(
        "OAuth Client", client_id, client_id=client_id, client_secret=secret, app_name=f"App {client_id}",
        user=None, skip_authorization=0, scopes="all openid", redirect_uris="\n".join(redirect_uris),
        default_redirect_uri=redirect_uris[0], grant_type="Authorization Code", response_type="Code",
        allowed_roles=[{"role": r, "doctype": "OAuth Client Role"} for r in allowed_roles],
    )  # fmt: skip


def doctype(name: str, fields: list[dict[str, Any]], permissions: list[dict[str, Any]]) -> dict[str, Any]:
    return frappe_doc(
        "DocType", name, module="Selling", istable=0, issingle=0, description="",
        fields=[{"doctype": "DocField", "reqd": 0, "default": None, "options": None, **f} for f in fields],
        permissions=[{"doctype": "DocPerm", "permlevel": 0, "if_owner": 0, **p} for p in permissions],
    )  # fmt: skip


def _error(status: int, exc_type: str, message: str) -> JSONResponse:
    server_messages = json.dumps([json.dumps({"message": message, "title": "Message", "indicator": "red"})])
    return JSONResponse({"exc_type": exc_type, "_server_messages": server_messages}, status_code=status)


@dataclass
class FakeFrappeSite:
    documents: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    forbidden: set[str] = field(default_factory=set)
    #: Answer this request (1 = the first) with Frappe's 500, as a site failing midway would.
    fail_at: int | None = None
    is_frappe: bool = True
    requests: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, *docs: dict[str, Any]) -> FakeFrappeSite:
        for doc in docs:
            self.documents.setdefault(doc["doctype"], {})[doc["name"]] = doc
        return self

    def _check(self, request: Request, doctype: str | None) -> Response | None:
        self.requests.append(request.url.path)
        if not self.is_frappe:
            return HTMLResponse("<html><body><h1>Welcome to nginx!</h1></body></html>")
        if self.fail_at is not None and len(self.requests) == self.fail_at:
            return _error(500, "OperationalError", "Server Error")
        if request.headers.get("authorization") != f"token {API_KEY}:{API_SECRET}":
            return _error(401, "AuthenticationError", "Invalid Authorization")
        if doctype in self.forbidden:
            return _error(403, "PermissionError", f"No permission for {doctype}")
        return None

    async def logged_user(self, request: Request) -> Response:
        return self._check(request, None) or JSONResponse({"message": API_USER})

    async def list_docs(self, request: Request) -> Response:
        doctype = request.path_params["doctype"]
        refused = self._check(request, doctype)
        if refused:
            return refused
        fields = json.loads(request.query_params.get("fields", '["name"]'))
        page = int(request.query_params.get("limit_page_length", "20")) or None
        docs = list(self.documents.get(doctype, {}).values())[:page]
        if fields == ["*"]:  # every column, child tables left out as Frappe's get_list does
            rows = [{k: v for k, v in doc.items() if not isinstance(v, list) and k != "doctype"} for doc in docs]
        else:
            rows = [{name: doc.get(name) for name in fields} for doc in docs]
        return JSONResponse({"data": rows})

    async def get_doc(self, request: Request) -> Response:
        doctype, name = request.path_params["doctype"], request.path_params["name"]
        refused = self._check(request, doctype)
        if refused:
            return refused
        doc = self.documents.get(doctype, {}).get(name)
        if doc is None:
            return _error(404, "DoesNotExistError", f"{doctype} {name} not found")
        return JSONResponse({"data": doc})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/method/frappe.auth.get_logged_user", self.logged_user),
                Route("/api/resource/{doctype}", self.list_docs),
                Route("/api/resource/{doctype}/{name:path}", self.get_doc),
            ]
        )


def serving(site: FakeFrappeSite) -> Iterator[FakeFrappeSite]:
    """Serve the site on its port in a thread until the generator is closed (use as a fixture body)."""
    server = uvicorn.Server(uvicorn.Config(site.app(), host="127.0.0.1", port=site.port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"frappe-{site.port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the fake Frappe site did not start"
        time.sleep(0.02)
    try:
        yield site
    finally:
        server.should_exit = True
        thread.join(10)
