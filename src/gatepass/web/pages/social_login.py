"""GET /login/{provider}/start and /login/{provider}/callback: HTTP around gatepass.rp.

The state, nonce and PKCE verifier stay on the server (one single-use row per attempt); the
browser only holds a random binding cookie, so a callback completes only the login that this
browser started (RFC 9700 §4.7 login CSRF). Every failure is a page saying what to do.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gatepass.protocol.tokens import new_token
from gatepass.services.social_login import LOGIN_ATTEMPT_TTL_SECONDS, SocialLoginError
from gatepass.services.stores import ProviderConfig
from gatepass.web.context import client_ip, web
from gatepass.web.pages.login import safe_next
from gatepass.web.pages.login_session import after_first_factor
from gatepass.web.templates import render

_log = logging.getLogger("gatepass.web")


def _binding_cookie(request: Request) -> str:
    # __Host- binds the cookie to this exact origin over https (no Domain, Path=/).
    return "__Host-gp_rp" if web(request).is_https else "gp_rp"


def _problem_page(request: Request, error: SocialLoginError, provider: str) -> Response:
    _log.info("social login via %s failed: %s (%s)", provider, error.code, error.detail or error.message)
    return render(
        request,
        "social_login_error.html",
        {"error": error, "provider": provider},
        status_code=error.status_code,
    )


async def social_providers(request: Request) -> list[ProviderConfig]:
    """The enabled providers, for the "Log in with …" buttons."""
    return await web(request).social.providers.list_enabled()


async def social_start(request: Request) -> Response:
    name = request.path_params["provider"]
    context = web(request)
    binding = request.cookies.get(_binding_cookie(request))
    if not binding or len(binding) > 128:
        binding = new_token()
    try:
        url = await context.relying_party.start(
            name, browser_binding=binding, next_url=safe_next(request.query_params.get("next"))
        )
    except SocialLoginError as error:
        return _problem_page(request, error, name)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        _binding_cookie(request),
        binding,
        max_age=LOGIN_ATTEMPT_TTL_SECONDS,
        httponly=True,
        # Lax: the cookie comes along on the provider's top-level redirect back to the callback.
        samesite="lax",
        secure=context.is_https,
        path="/",
    )
    return response


async def social_callback(request: Request) -> Response:
    name = request.path_params["provider"]
    context = web(request)
    params = {key: value for key, value in request.query_params.items() if len(value) <= 4096}
    try:
        user, next_url, amr = await context.relying_party.finish(
            name, params, browser_binding=request.cookies.get(_binding_cookie(request)), ip=client_ip(request)
        )
    except SocialLoginError as error:
        return _problem_page(request, error, name)
    return await after_first_factor(request, user, amr, safe_next(next_url))
