"""GET/POST /device: where a user types (or confirms) a device's user code and allows or denies it (RFC 8628
§3.3). HTTP around services.oauth.device; every user code presented counts against per-address and
per-session rate limits, so a waiting device's code cannot be guessed."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gatepass.http.csrf import is_valid_csrf
from gatepass.http.session import current_session
from gatepass.protocol.errors import SlowDown
from gatepass.services.accounts import source_of
from gatepass.services.oauth.device import DeviceCodeRefused, DeviceRequest
from gatepass.services.scopes import describe_scopes, scopes_readable
from gatepass.services.stores import SessionRecord, UserRecord
from gatepass.web.context import client_ip, web
from gatepass.web.ratelimit import check_rate
from gatepass.web.templates import render

DEVICE_PATH = "/device"
_TOO_MANY = "Too many codes tried. Wait a minute, then type the code your device shows."


def _login_redirect(user_code: str | None) -> RedirectResponse:
    here = f"{DEVICE_PATH}?{urlencode({'user_code': user_code})}" if user_code else DEVICE_PATH
    return RedirectResponse(f"/login?{urlencode({'next': here})}", status_code=303)


def _entry_page(request: Request, *, typed: str = "", error: str | None = None, status_code: int = 200) -> Response:
    return render(request, "device.html", {"typed": typed, "error": error}, status_code=status_code)


async def _find(request: Request, typed: str, session: SessionRecord, user: UserRecord) -> DeviceRequest:
    """The waiting device, after counting this code against the address's and the session's budgets."""
    limit = web(request).rate_limits.user_codes_per_minute
    ip = client_ip(request)
    await check_rate(request, "user-code-ip", source_of(ip), limit)
    await check_rate(request, "user-code-session", str(session.session_id), limit)
    return await web(request).device_verification.find(typed, user, ip=ip)


async def _consent_page(request: Request, found: DeviceRequest, user: UserRecord) -> Response:
    scopes = found.authorization.scopes
    document_scopes = await web(request).doctypes.scope_texts(scopes)
    return render(
        request,
        "device.html",
        {
            "request_shown": True,
            "client": found.client,
            "consenting_user": user,
            "user_code": found.user_code,
            "scopes": describe_scopes(
                scopes_readable(scopes, is_frappe_legacy=found.client.is_frappe_legacy), (), document_scopes
            ),
            "next": f"{DEVICE_PATH}?{urlencode({'user_code': found.user_code})}",
        },
    )


async def device_page(request: Request) -> Response:
    typed = request.query_params.get("user_code", "")
    session = await current_session(request)
    if session is None:
        return _login_redirect(typed)
    if not typed:
        return _entry_page(request)
    return await _look_up(request, typed, *session)


async def _look_up(request: Request, typed: str, session: SessionRecord, user: UserRecord) -> Response:
    try:
        found = await _find(request, typed, session, user)
    except SlowDown:
        return _entry_page(request, typed=typed, error=_TOO_MANY, status_code=429)
    except DeviceCodeRefused as refused:
        return _entry_page(request, typed=typed, error=refused.message, status_code=400)
    return await _consent_page(request, found, user)


async def device_submit(request: Request) -> Response:
    form = await request.form()
    typed = str(form.get("user_code") or "")
    session = await current_session(request)
    if session is None:
        return _login_redirect(typed)
    if not is_valid_csrf(request, str(form.get("csrf_token") or "")):
        return _entry_page(
            request,
            typed=typed,
            error="The form expired or was sent from another site. Please try again.",
            status_code=400,
        )
    decision = str(form.get("decision") or "")
    if decision not in ("allow", "deny"):
        return await _look_up(request, typed, *session)
    login, user = session
    try:
        found = await _find(request, typed, login, user)
        await web(request).device_verification.decide(
            found, user, login, approve=decision == "allow", ip=client_ip(request)
        )
    except SlowDown:
        return _entry_page(request, typed=typed, error=_TOO_MANY, status_code=429)
    except DeviceCodeRefused as refused:
        return _entry_page(request, typed=typed, error=refused.message, status_code=400)
    return render(request, "device.html", {"decided": True, "approved": decision == "allow", "client": found.client})
