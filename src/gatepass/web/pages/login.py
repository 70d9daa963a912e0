"""Log in and log out: a password form with CSRF, one message for every failure, local redirects only."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gatepass.http.csrf import is_valid_csrf
from gatepass.http.session import current_session
from gatepass.protocol.errors import SlowDown
from gatepass.protocol.oidc.authentication_context import AMR_PASSWORD
from gatepass.services.accounts import LoginResult, source_of
from gatepass.web.context import client_ip, web
from gatepass.web.pages.app_hint import waiting_app
from gatepass.web.pages.login_session import after_first_factor
from gatepass.web.ratelimit import check_rate
from gatepass.web.templates import render

BAD_LOGIN = "Wrong email or password."


def safe_next(value: str | None) -> str:
    """Only local paths: an open redirect on a login page hands phishers our domain."""
    if not value or len(value) > 8192:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith(("//", "/\\")) or "\\" in value:
        return "/"
    return value


async def login_page(request: Request) -> Response:
    # Frappe's login page takes its destination as redirect-to; links and apps written for Frappe send that.
    query = request.query_params
    next_url = safe_next(query.get("next") or query.get("redirect-to"))
    session = await current_session(request)
    is_forced = request.query_params.get("reauth") == "1" or request.query_params.get("switch") == "1"
    if session is not None and not is_forced:
        return RedirectResponse(next_url, status_code=303)
    return render(
        request,
        "login.html",
        {
            "next": next_url,
            "email": (request.query_params.get("login_hint") or "")[:254],
            "error": None,
            "app": await waiting_app(request, next_url),
            # "Log in with …" buttons, one per enabled upstream provider.
            "providers": await web(request).social.providers.list_enabled(),
        },
    )


async def login_submit(request: Request) -> Response:
    context = web(request)
    form = await request.form()
    next_url = safe_next(str(form.get("next") or ""))
    email = str(form.get("email") or "").strip()[:254]
    password = str(form.get("password") or "")
    if not is_valid_csrf(request, str(form.get("csrf_token") or "")):
        return render(
            request,
            "login.html",
            {
                "next": next_url,
                "email": email,
                "error": "The form expired or was sent from another site. Please try again.",
            },
            status_code=400,
        )
    limit = context.rate_limits.login_per_ip_per_minute
    try:
        # Counted per client address as lockouts count it: an IPv6 client holds a whole /64.
        await check_rate(request, "login-ip", source_of(client_ip(request)), limit)
    except SlowDown as error:
        response = render(
            request,
            "login.html",
            {
                "next": next_url,
                "email": email,
                "error": (
                    f"Too many login attempts from your network. Try again in {error.retry_after_seconds} seconds."
                ),
            },
            status_code=429,
        )
        response.headers["Retry-After"] = str(error.retry_after_seconds)
        return response
    if not email or not password:
        return render(
            request,
            "login.html",
            {"next": next_url, "email": email, "error": "Enter your email and password."},
            status_code=400,
        )
    if email.isprintable():
        result = await context.accounts.authenticate(email, password, ip=client_ip(request))
    else:
        # No account's email holds control characters, and PostgreSQL cannot even compare text with NUL.
        result = LoginResult(None)
    if result.retry_after_seconds is not None:
        response = render(
            request,
            "login.html",
            {
                "next": next_url,
                "email": email,
                "error": f"Too many failed attempts. Try again in {result.retry_after_seconds} seconds.",
            },
            status_code=429,
        )
        response.headers["Retry-After"] = str(result.retry_after_seconds)
        return response
    if result.user is None:
        providers = await context.social.providers.list_enabled()
        return render(
            request,
            "login.html",
            {
                "next": next_url,
                "email": email,
                "error": BAD_LOGIN,
                "providers": providers,
                "app": await waiting_app(request, next_url),
            },
            status_code=401,
        )
    return await after_first_factor(request, result.user, (AMR_PASSWORD,), next_url)


async def logout_submit(request: Request) -> Response:
    context = web(request)
    form = await request.form()
    if not is_valid_csrf(request, str(form.get("csrf_token") or "")):
        return render(
            request,
            "error.html",
            {
                "title": "Log out failed",
                "message": "The form expired or was sent from another site. Please try again.",
            },
            status_code=400,
        )
    session = await current_session(request)
    await context.accounts.end_session(request.cookies.get(context.session_cookie), session[1].id if session else None)
    request.scope["gatepass.session"] = None
    response = render(request, "logged_out.html")
    response.delete_cookie(context.session_cookie, path="/", secure=context.is_https, httponly=True, samesite="lax")
    return response
