"""The second step of a login (a code from the user's app, or a recovery code), and setting up an app there
when the policy requires one; the same page steps a logged-in user up when an app asks for two factors."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gatepass.http.csrf import is_valid_csrf
from gatepass.http.session import current_session
from gatepass.protocol.errors import SlowDown
from gatepass.protocol.oidc.authentication_context import AMR_ONE_TIME_PASSWORD
from gatepass.services.accounts import AccountError, source_of
from gatepass.services.second_factors import Enrolment, TooManyAttempts
from gatepass.services.stores import UserRecord
from gatepass.web.context import client_ip, web
from gatepass.web.pages.login import safe_next
from gatepass.web.pages.login_session import PENDING_COOKIE, SECOND_FACTOR_PATH, start_login_session
from gatepass.web.ratelimit import check_rate
from gatepass.web.templates import render

_EXPIRED_FORM = "The form expired or was sent from another site. Please try again."


@dataclass(frozen=True)
class _Who:
    user: UserRecord
    #: The factors already shown: the password (or provider) of a login under way, or the session's.
    amr: tuple[str, ...]
    #: A login under way (the browser has no session yet), rather than a step-up of the session.
    is_pending: bool


async def who_is_logging_in(request: Request) -> _Who | None:
    """A login under way takes precedence over the session it will replace (a switch of account)."""
    context = web(request)
    pending = context.second_factors.open_pending_login(request.cookies.get(PENDING_COOKIE))
    if pending is not None:
        user = await context.accounts.get_user(pending.user_id)
        return _Who(user, pending.amr, is_pending=True) if user is not None and user.is_enabled else None
    session = await current_session(request)
    return _Who(session[1], session[0].amr, is_pending=False) if session is not None else None


async def _step_page(
    request: Request, who: _Who, next_url: str, error: str | None, *, status_code: int = 200
) -> Response:
    """The code field for a user with an app, the passkey button for a user with passkeys; both for both."""
    status = await web(request).second_factors.status(who.user)
    return render(
        request, "second_factor.html",
        {"next": next_url, "error": error, "is_step_up": not who.is_pending, "login_user": who.user,
         "has_code": status.has_totp or status.recovery_codes_left > 0, "has_passkey": status.passkey_count > 0},
        status_code=status_code,
    )  # fmt: skip


async def step_page_after(request: Request, who: _Who, next_url: str, error: str) -> Response:
    """The second step again, saying why the last try was refused."""
    return await _step_page(request, who, next_url, error, status_code=401)


def _enrol_page(
    request: Request, enrolment: Enrolment, next_url: str, error: str | None, *, status_code: int = 200
) -> Response:
    return render(
        request, "two_factor_enrol.html",
        {"enrolment": enrolment, "next": next_url, "error": error, "action": f"{SECOND_FACTOR_PATH}/enrol",
         "is_at_login": True},
        status_code=status_code,
    )  # fmt: skip


async def enrol_page_after(request: Request, who: _Who, next_url: str, error: str) -> Response:
    """The setup page again (a new app key), saying why adding a passkey there was refused."""
    enrolment = web(request).second_factors.begin_enrolment(who.user)
    return _enrol_page(request, enrolment, next_url, error, status_code=400)


async def second_factor_page(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    who = await who_is_logging_in(request)
    if who is None:
        return RedirectResponse(f"/login?{urlencode({'next': next_url})}", status_code=303)
    factors = web(request).second_factors
    if await factors.has_factor(who.user.id):
        return await _step_page(request, who, next_url, None)
    if who.is_pending and not await factors.is_required_for(who.user):
        # The factor was reset while this login was under way, and nothing requires one: the password will do.
        response = RedirectResponse(next_url, status_code=303)
        return await finish_second_step(request, who, next_url, response, amr=who.amr)
    return _enrol_page(request, factors.begin_enrolment(who.user), next_url, None)


async def _refusal(request: Request) -> Response | None:
    """CSRF first, then the login rate limit of the client's address (as for passwords)."""
    form = await request.form()
    if not is_valid_csrf(request, str(form.get("csrf_token") or "")):
        return render(request, "error.html", {"title": "Not logged in", "message": _EXPIRED_FORM}, status_code=400)
    try:
        limit = web(request).rate_limits.login_per_ip_per_minute
        await check_rate(request, "login-ip", source_of(client_ip(request)), limit)
    except SlowDown as error:
        message = f"Too many login attempts from your network. Try again in {error.retry_after_seconds} seconds."
        response = render(request, "error.html", {"title": "Not logged in", "message": message}, status_code=429)
        response.headers["Retry-After"] = str(error.retry_after_seconds)
        return response
    return None


async def finish_second_step(
    request: Request, who: _Who, next_url: str, response: Response, *, amr: tuple[str, ...] | None = None
) -> Response:
    """The session, by default with the second factor among its methods; a step-up replaces the session."""
    if amr is None:
        amr = (*who.amr, AMR_ONE_TIME_PASSWORD) if AMR_ONE_TIME_PASSWORD not in who.amr else who.amr
    response = await start_login_session(request, who.user.id, amr, response)
    response.delete_cookie(PENDING_COOKIE, path="/login", secure=web(request).is_https, httponly=True, samesite="lax")
    return response


@dataclass(frozen=True)
class _Submitted:
    who: _Who
    next_url: str
    code: str
    sealed: str


async def _submitted(request: Request) -> _Submitted | Response:
    """The posted form, once it passed CSRF and the rate limit, with whose login it continues."""
    refusal = await _refusal(request)
    if refusal is not None:
        return refusal
    form = await request.form()
    next_url = safe_next(str(form.get("next") or ""))
    who = await who_is_logging_in(request)
    if who is None:
        return RedirectResponse(f"/login?{urlencode({'next': next_url})}", status_code=303)
    return _Submitted(who, next_url, str(form.get("code") or ""), str(form.get("sealed") or ""))


async def second_factor_submit(request: Request) -> Response:
    submitted = await _submitted(request)
    if isinstance(submitted, Response):
        return submitted
    who, next_url = submitted.who, submitted.next_url
    if not await web(request).second_factors.has_factor(who.user.id):
        # Reset meanwhile: the page says what happens now (setup, or the login goes on without a code).
        return RedirectResponse(f"{SECOND_FACTOR_PATH}?{urlencode({'next': next_url})}", status_code=303)
    try:
        await web(request).second_factors.verify(who.user, submitted.code, ip=client_ip(request))
    except AccountError as error:
        status_code = 429 if isinstance(error, TooManyAttempts) else 401
        return await _step_page(request, who, next_url, str(error), status_code=status_code)
    return await finish_second_step(request, who, next_url, RedirectResponse(next_url, status_code=303))


async def enrol_submit(request: Request) -> Response:
    submitted = await _submitted(request)
    if isinstance(submitted, Response):
        return submitted
    who, next_url, sealed = submitted.who, submitted.next_url, submitted.sealed
    factors = web(request).second_factors
    try:
        codes = await factors.confirm_enrolment(who.user, sealed, submitted.code, ip=client_ip(request))
    except AccountError as error:
        try:
            enrolment = factors.resume_enrolment(who.user, sealed)
        except AccountError:
            enrolment = factors.begin_enrolment(who.user)
        return _enrol_page(request, enrolment, next_url, str(error), status_code=400)
    page = render(request, "recovery_codes.html", {"codes": codes, "next": next_url, "is_new_factor": True})
    return await finish_second_step(request, who, next_url, page)
