"""Passkeys in the browser: the account's list (add, rename, remove), and logging in with one, passwordless
from the login page or as the second step after a password.

Each ceremony is two requests: ``…/options`` answers the WebAuthn options as JSON (a fresh challenge, bound
to this browser by the ``gp_passkey`` cookie), then static/passkeys.js posts the authenticator's answer in an
ordinary form, whose answer is a page like any other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from gatepass.http.csrf import is_valid_csrf
from gatepass.http.session import current_session
from gatepass.protocol.errors import SlowDown
from gatepass.services.accounts import AccountError, source_of
from gatepass.services.passkeys import CHALLENGE_SECONDS, LOG_IN_AGAIN, PasskeyRefused, passkey_amr
from gatepass.services.stores import UserRecord
from gatepass.web.context import client_ip, web
from gatepass.web.pages import second_factor
from gatepass.web.pages.login import safe_next
from gatepass.web.pages.login_session import redirect_with_session
from gatepass.web.ratelimit import check_rate
from gatepass.web.templates import render

PASSKEYS_PATH = "/account/passkeys"
BINDING_COOKIE = "gp_passkey"
_EXPIRED_FORM = "The form expired or was sent from another site. Please reload the page and try again."
_NOTICES = {
    "added": "Your passkey was added. You can log in with it, with or without your password.",
    "removed": "The passkey was removed: it no longer logs in to this account.",
    "renamed": "The passkey was renamed.",
}


def _json_refusal(message: str, status_code: int) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status_code, headers={"Cache-Control": "no-store"})


def _with_binding(request: Request, binding: str, response: Response) -> Response:
    response.set_cookie(
        BINDING_COOKIE, binding, max_age=CHALLENGE_SECONDS, httponly=True, samesite="strict",
        secure=web(request).is_https, path="/",
    )  # fmt: skip
    return response


async def _checked_form(request: Request, *, is_login: bool) -> dict[str, str] | str:
    """The form, or why it is refused: CSRF first, then (for logins) the login rate limit of the address."""
    form = {key: str(value) for key, value in (await request.form()).items()}
    if not is_valid_csrf(request, form.get("csrf_token")):
        return _EXPIRED_FORM
    if is_login:
        try:
            limit = web(request).rate_limits.login_per_ip_per_minute
            await check_rate(request, "login-ip", source_of(client_ip(request)), limit)
        except SlowDown as error:
            return f"Too many login attempts from your network. Try again in {error.retry_after_seconds} seconds."
    return form


# The account's passkeys.


async def _page(request: Request, user: UserRecord, error: str | None = None, *, status_code: int = 200) -> Response:
    context = web(request)
    session = await current_session(request)
    values = {
        "is_recent_login": session is not None and context.passkeys.is_recent_login(session[0].auth_time),
        "passkeys": await context.passkeys.list_of(user.id),
        "status": await context.second_factors.status(user),
        "notice": _NOTICES.get(request.query_params.get("done", "")),
        "error": error,
    }
    return render(request, "passkeys.html", values, status_code=status_code)


async def passkeys_page(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return RedirectResponse(f"/login?next={PASSKEYS_PATH}", status_code=303)
    return await _page(request, session[1])


async def registration_options(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return _json_refusal("You are not logged in any more. Log in again to add a passkey.", 401)
    form = await _checked_form(request, is_login=False)
    if isinstance(form, str):
        return _json_refusal(form, 400)
    passkeys = web(request).passkeys
    if not passkeys.is_recent_login(session[0].auth_time):
        return _json_refusal(LOG_IN_AGAIN, 403)
    binding = passkeys.new_binding()
    options = await passkeys.registration_options(session[1], binding)
    return _with_binding(request, binding, Response(options, media_type="application/json"))


async def _account_form(request: Request) -> tuple[UserRecord, dict[str, str]] | Response:
    session = await current_session(request)
    if session is None:
        return RedirectResponse(f"/login?next={PASSKEYS_PATH}", status_code=303)
    form = await _checked_form(request, is_login=False)
    if isinstance(form, str):
        return await _page(request, session[1], form, status_code=400)
    return session[1], form


async def _change(
    request: Request, done: str, change: Callable[[UserRecord, dict[str, str]], Awaitable[object]]
) -> Response:
    """A change to the user's passkeys from a posted form: back to the list saying it is done, or why not."""
    found = await _account_form(request)
    if isinstance(found, Response):
        return found
    user, form = found
    try:
        await change(user, form)
    except AccountError as error:
        return await _page(request, user, str(error), status_code=400)
    return RedirectResponse(f"{PASSKEYS_PATH}?done={done}", status_code=303)


async def register(request: Request) -> Response:
    passkeys, binding, ip = web(request).passkeys, request.cookies.get(BINDING_COOKIE, ""), client_ip(request)

    async def add(user: UserRecord, form: dict[str, str]) -> None:
        session = await current_session(request)
        if session is None or not passkeys.is_recent_login(session[0].auth_time):
            raise AccountError(LOG_IN_AGAIN, field="passkey")
        await passkeys.register(user, form.get("credential", ""), form.get("name", ""), binding, ip=ip)

    return await _change(request, "added", add)


def _passkey_id(request: Request) -> int:
    raw = str(request.path_params.get("passkey_id", ""))
    return int(raw) if raw.isdigit() and len(raw) < 19 else 0


async def rename(request: Request) -> Response:
    passkeys, passkey_id = web(request).passkeys, _passkey_id(request)
    return await _change(request, "renamed", lambda user, form: passkeys.rename(user, passkey_id, form.get("name", "")))


async def remove(request: Request) -> Response:
    passkeys, passkey_id, ip = web(request).passkeys, _passkey_id(request), client_ip(request)
    return await _change(request, "removed", lambda user, form: passkeys.remove(user, passkey_id, ip=ip))


# Logging in: passwordless from the login page, or as the second step.


async def login_options(request: Request) -> Response:
    form = await _checked_form(request, is_login=True)
    if isinstance(form, str):
        return _json_refusal(form, 400)
    context = web(request)
    user = None
    if form.get("purpose") == "second-factor":
        who = await second_factor.who_is_logging_in(request)
        if who is None:
            return _json_refusal("This login expired. Log in again.", 401)
        user = who.user
    binding = context.passkeys.new_binding()
    options = await context.passkeys.login_options(user, binding)
    return _with_binding(request, binding, Response(options, media_type="application/json"))


async def login_submit(request: Request) -> Response:
    form = await _checked_form(request, is_login=True)
    next_url = safe_next(form.get("next") if isinstance(form, dict) else None)
    if isinstance(form, str):
        return render(request, "login.html", {"next": next_url, "email": "", "error": form}, status_code=400)
    if form.get("purpose") == "second-factor":
        return await _second_factor(request, form, next_url)
    try:
        login = await web(request).passkeys.authenticate(
            form.get("credential", ""), request.cookies.get(BINDING_COOKIE, ""), user=None, ip=client_ip(request)
        )
    except PasskeyRefused as error:
        return render(request, "login.html", {"next": next_url, "email": "", "error": str(error)}, status_code=401)
    response = await redirect_with_session(request, login.user_id, login.amr, next_url)
    response.delete_cookie(BINDING_COOKIE, path="/", secure=web(request).is_https, httponly=True, samesite="strict")
    return response


async def _second_factor(request: Request, form: dict[str, str], next_url: str) -> Response:
    who = await second_factor.who_is_logging_in(request)
    if who is None:
        return RedirectResponse(f"/login?{urlencode({'next': next_url})}", status_code=303)
    try:
        login = await web(request).passkeys.authenticate(
            form.get("credential", ""), request.cookies.get(BINDING_COOKIE, ""), user=who.user, ip=client_ip(request)
        )
    except PasskeyRefused as error:
        return await second_factor.step_page_after(request, who, next_url, str(error))
    amr = (*who.amr, *(method for method in login.amr if method not in who.amr))
    response = RedirectResponse(next_url, status_code=303)
    return await second_factor.finish_second_step(request, who, next_url, response, amr=amr)


# Setting one up at login, when the policy requires a second factor of a user who has none.


async def registration_options_at_login(request: Request) -> Response:
    form = await _checked_form(request, is_login=True)
    if isinstance(form, str):
        return _json_refusal(form, 400)
    who = await second_factor.who_is_logging_in(request)
    if who is None:
        return _json_refusal("This login expired. Log in again.", 401)
    passkeys = web(request).passkeys
    binding = passkeys.new_binding()
    options = await passkeys.registration_options(who.user, binding)
    return _with_binding(request, binding, Response(options, media_type="application/json"))


async def register_at_login(request: Request) -> Response:
    """The new passkey is the second factor of this login: the ceremony proved the user holds it."""
    form = await _checked_form(request, is_login=True)
    next_url = safe_next(form.get("next") if isinstance(form, dict) else None)
    who = await second_factor.who_is_logging_in(request)
    if who is None:
        return RedirectResponse(f"/login?{urlencode({'next': next_url})}", status_code=303)
    if isinstance(form, str):
        return await second_factor.enrol_page_after(request, who, next_url, form)
    try:
        added = await web(request).passkeys.register(
            who.user, form.get("credential", ""), form.get("name", ""), request.cookies.get(BINDING_COOKIE, ""),
            ip=client_ip(request),
        )  # fmt: skip
    except AccountError as error:
        return await second_factor.enrol_page_after(request, who, next_url, str(error))
    amr = (*who.amr, passkey_amr(added))
    response = RedirectResponse(next_url, status_code=303)
    return await second_factor.finish_second_step(request, who, next_url, response, amr=amr)
