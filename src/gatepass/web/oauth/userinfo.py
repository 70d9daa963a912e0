"""UserInfo (OIDC Core §5.3) on /oauth/userinfo and Frappe's openid_profile."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gatepass.http.bearer import bearer_error, fresh_dpop_nonce, presented_token
from gatepass.protocol.errors import InvalidToken, OAuthError
from gatepass.web.context import web


async def _answer(request: Request, *, is_frappe_path: bool) -> Response:
    context = web(request)
    try:
        token, presented = presented_token(request, context.issuer)
        if token is None:
            raise InvalidToken("Send the access token as Authorization: Bearer <token>")
        claims = await context.oidc.userinfo(token, is_frappe_path=is_frappe_path, presented=presented)
    except OAuthError as error:
        return bearer_error(request, error, realm=context.issuer)
    return JSONResponse(
        claims, headers={"Cache-Control": "no-store", **fresh_dpop_nonce(request, context.dpop.nonce())}
    )


async def userinfo(request: Request) -> Response:
    return await _answer(request, is_frappe_path=False)


async def frappe_openid_profile(request: Request) -> Response:
    return await _answer(request, is_frappe_path=True)
