"""The account's two-factor page: set up an authenticator app, renew the recovery codes, switch it off."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gatepass.http.csrf import is_valid_csrf
from gatepass.http.session import current_session
from gatepass.services.accounts import AccountError
from gatepass.services.stores import UserRecord
from gatepass.web.context import client_ip, web
from gatepass.web.errors import error_page
from gatepass.web.templates import render

TWO_FACTOR_PATH = "/account/two-factor"
_NOTICES = {"removed": "Two-factor login is off: your authenticator app and recovery codes no longer work."}


async def _page(
    request: Request, user: UserRecord, extra: dict[str, Any] | None = None, *, status: int = 200
) -> Response:
    factors = web(request).second_factors
    factor_status = await factors.status(user)
    values: dict[str, Any] = {
        "status": factor_status,
        "notice": _NOTICES.get(request.query_params.get("done", "")),
        "error": None,
        "field": None,
        **(extra or {}),
    }
    if not factor_status.has_totp:
        values.setdefault("enrolment", factors.begin_enrolment(user))
        values.update(action=f"{TWO_FACTOR_PATH}/enrol", next=TWO_FACTOR_PATH, is_at_login=False)
        return render(request, "two_factor_enrol.html", values, status_code=status)
    return render(request, "two_factor.html", values, status_code=status)


async def two_factor_page(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return RedirectResponse(f"/login?next={TWO_FACTOR_PATH}", status_code=303)
    return await _page(request, session[1])


async def _form_of(request: Request, what: str) -> tuple[UserRecord, dict[str, str]] | Response:
    session = await current_session(request)
    if session is None:
        return RedirectResponse(f"/login?next={TWO_FACTOR_PATH}", status_code=303)
    form = await request.form()
    if not is_valid_csrf(request, str(form.get("csrf_token") or "")):
        return error_page(request, what, "The form expired or was sent from another site. Please try again.")
    return session[1], {key: str(value) for key, value in form.items()}


async def enrol(request: Request) -> Response:
    found = await _form_of(request, "Two-factor login not set up")
    if isinstance(found, Response):
        return found
    user, form = found
    factors = web(request).second_factors
    try:
        codes = await factors.confirm_enrolment(
            user, form.get("sealed", ""), form.get("code", ""), ip=client_ip(request)
        )
    except AccountError as error:
        try:
            enrolment = factors.resume_enrolment(user, form.get("sealed", ""))
        except AccountError:
            enrolment = factors.begin_enrolment(user)
        return await _page(request, user, {"enrolment": enrolment, "error": str(error)}, status=400)
    return render(request, "recovery_codes.html", {"codes": codes, "next": TWO_FACTOR_PATH, "is_new_factor": True})


async def renew_recovery_codes(request: Request) -> Response:
    found = await _form_of(request, "Recovery codes not renewed")
    if isinstance(found, Response):
        return found
    user, form = found
    try:
        codes = await web(request).second_factors.regenerate_recovery_codes(
            user, form.get("proof", ""), ip=client_ip(request)
        )
    except AccountError as error:
        return await _page(request, user, {"error": str(error), "field": "renew"}, status=400)
    return render(request, "recovery_codes.html", {"codes": codes, "next": TWO_FACTOR_PATH, "is_new_factor": False})


async def remove(request: Request) -> Response:
    found = await _form_of(request, "Two-factor login not switched off")
    if isinstance(found, Response):
        return found
    user, form = found
    try:
        await web(request).second_factors.remove(user, form.get("proof", ""), ip=client_ip(request))
    except AccountError as error:
        return await _page(request, user, {"error": str(error), "field": "remove"}, status=400)
    return RedirectResponse(f"{TWO_FACTOR_PATH}?done=removed", status_code=303)
