"""``/openapi.json`` and the interactive docs at ``/api/docs`` (Swagger UI, served from /static).

Swagger UI's files come from the swagger-ui-bundle package, so nothing is fetched from a CDN. The
pages here are the only ones that run scripts: their CSP allows scripts and fetches from this
origin only ('self'); every other page keeps ``default-src 'none'``. The Authorize button runs the
authorization code flow with PKCE against this issuer, in a popup that returns to
``/api/docs/oauth2-redirect`` (register that URI on the client you use for the docs).
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from gatepass.resource.context import doctype_service, issuer_of
from gatepass.resource.openapi import build_openapi

SWAGGER_UI_PATH = "/static/swagger-ui"
REDIRECT_PATH = "/api/docs/oauth2-redirect"
#: Scripts and fetches from this origin only; frame-ancestors as everywhere (RFC 9700 §4.16).
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Gatepass document API</title>
  <link rel="stylesheet" href="{ui}/swagger-ui.css">
</head>
<body data-openapi-url="/openapi.json" data-redirect-url="{redirect}" data-client-id="{client_id}">
  <div id="swagger-ui"></div>
  <script src="{ui}/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""

_REDIRECT_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Signing in to the API docs</title></head>
<body>
  <p>Returning to the API docs…</p>
  <script src="/static/api-docs-redirect.js"></script>
</body>
</html>
"""


async def openapi_json(request: Request) -> Response:
    doctypes = doctype_service(request)
    document = build_openapi(issuer_of(request), await doctypes.list_doctypes(), await doctypes.list_scopes())
    return JSONResponse(document, headers={"Cache-Control": "no-cache"})


async def docs_page(request: Request) -> Response:
    client_id = request.query_params.get("client_id", "")[:128]
    page = _DOCS_PAGE.format(
        ui=SWAGGER_UI_PATH,
        redirect=html.escape(f"{issuer_of(request)}{REDIRECT_PATH}"),
        client_id=html.escape(client_id),
    )
    return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP, "Cache-Control": "no-cache"})


async def oauth2_redirect(request: Request) -> Response:
    return HTMLResponse(_REDIRECT_PAGE, headers={"Content-Security-Policy": DOCS_CSP, "Cache-Control": "no-store"})
