"""CORS for browser clients, only where the issue and the specs want it.

Public documents (discovery, JWKS, resource metadata) answer any origin. The token, revocation,
userinfo and registration endpoints answer only origins of registered clients. The authorization
endpoint and every page get no CORS at all: they are navigations, never fetches.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatepass.compat.frappe import FRAPPE_METHOD_PREFIX

_PUBLIC_PREFIXES = ("/.well-known/",)
_CLIENT_PATHS = frozenset(
    {
        "/oauth/token",
        "/oauth/revoke",
        "/oauth/userinfo",
        "/oauth/register",
        f"{FRAPPE_METHOD_PREFIX}.get_token",
        f"{FRAPPE_METHOD_PREFIX}.revoke_token",
        f"{FRAPPE_METHOD_PREFIX}.openid_profile",
        f"{FRAPPE_METHOD_PREFIX}.register_client",
    }
)
#: DPoP-Nonce: a browser app reads the nonce to put in its next DPoP proof (RFC 9449 §8).
_EXPOSED = "WWW-Authenticate, Retry-After, DPoP-Nonce"


def _kind(path: str) -> str | None:
    if path.startswith(_PUBLIC_PREFIXES):
        return "public"
    if path in _CLIENT_PATHS or path.startswith("/oauth/register/"):
        return "client"
    return None


class CorsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = _kind(scope["path"]) if scope["type"] == "http" else None
        origin = Headers(scope=scope).get("origin") if kind else None
        if kind is None or origin is None:
            await self.app(scope, receive, send)
            return
        allowed = (
            "*" if kind == "public" else origin if await scope["app"].state.gatepass.cors.is_allowed(origin) else None
        )
        if scope["method"] == "OPTIONS":
            await self._preflight(scope, allowed)(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and allowed is not None:
                headers = MutableHeaders(scope=message)
                headers["Access-Control-Allow-Origin"] = allowed
                headers["Access-Control-Expose-Headers"] = _EXPOSED
                headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    def _preflight(scope: Scope, allowed: str | None) -> Response:
        if allowed is None:
            return Response("This origin is not registered for any client", status_code=403, headers={"Vary": "Origin"})
        methods = "GET, PUT, DELETE, OPTIONS" if scope["path"].startswith("/oauth/register/") else "GET, POST, OPTIONS"
        return Response(
            status_code=204,
            headers={
                "Access-Control-Allow-Origin": allowed,
                "Access-Control-Allow-Methods": methods,
                # DPoP: a browser app sends its proof in this header (RFC 9449 §4.1).
                "Access-Control-Allow-Headers": "Authorization, Content-Type, DPoP",
                "Access-Control-Max-Age": "600",
                "Vary": "Origin",
            },
        )
