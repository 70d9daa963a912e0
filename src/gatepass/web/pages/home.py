"""The account page: who is logged in, which apps hold access (connected apps), and the password."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gatepass.http.csrf import is_valid_csrf
from gatepass.http.session import current_session
from gatepass.services.accounts import AccountError
from gatepass.services.revoke import ConnectedApp
from gatepass.services.scopes import describe_scopes
from gatepass.services.stores import UserRecord
from gatepass.web.context import client_ip, web
from gatepass.web.errors import error_page
from gatepass.web.templates import render


async def _scope_words(request: Request, apps: list[ConnectedApp]) -> dict[str, list[str]]:
    """Each app's access in the words the consent screen used, so the user recognises what they allowed."""
    every_scope = tuple(dict.fromkeys(scope for app in apps for scope in app.scopes))
    document_scopes = await web(request).doctypes.scope_texts(every_scope) if every_scope else {}
    return {
        app.client_id: [described.title for described in describe_scopes(app.scopes, app.scopes, document_scopes)]
        for app in apps
    }


async def home(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    return await _account_page(request, session[1])


async def _account_page(
    request: Request, user: UserRecord, extra: dict[str, Any] | None = None, *, status_code: int = 200
) -> Response:
    context = web(request)
    grants = await context.revocation.connected_apps(user.id)
    session = await current_session(request)
    sessions = await context.browser_sessions.list_of(
        user.id, current_session_id=session[0].session_id if session else None
    )
    revoked = request.query_params.get("revoked")
    revoked_client = await context.clients.get(revoked) if revoked else None
    return render(
        request,
        "home.html",
        {
            "grants": grants,
            "access_words": await _scope_words(request, grants),
            "revoked_app_name": revoked_client.info.app_name if revoked_client else None,
            "password_notice": _PASSWORD_NOTICES.get(request.query_params.get("password", "")),
            "password_error": None,
            "password_field": None,
            "keep_this_session": True,
            "two_factor": await context.second_factors.status(user),
            "sessions": sessions,
            "sessions_notice": _SESSIONS_NOTICES.get(request.query_params.get("sessions", "")),
            "email_notice": _EMAIL_NOTICES.get(request.query_params.get("email", "")),
            **(extra or {}),
        },
        status_code=status_code,
    )


_SESSIONS_NOTICES = {
    "one": "That session was signed out: its browser must log in again.",
    "others": "Every other session was signed out: those browsers must log in again.",
}
_EMAIL_NOTICES = {
    "sent": "A link to confirm your address is on its way to it. It works once.",
}
_PASSWORD_NOTICES = {
    "changed": "Your password was changed. You were signed out everywhere else, and every app must ask you again.",
}


async def change_password(request: Request) -> Response:
    """The current password proves it is the user; every other session and every app's tokens end, and
    this browser gets a fresh session unless the user chose to be signed out here too."""
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    user, context = session[1], web(request)
    form = await request.form()
    if not is_valid_csrf(request, str(form.get("csrf_token") or "")):
        return error_page(
            request, "Password not changed", "The form expired or was sent from another site. Please try again."
        )
    new_password = str(form.get("new_password") or "")
    keeps_this_session = form.get("keep_this_session") == "1"
    try:
        if new_password != str(form.get("new_password_again") or ""):
            raise AccountError("The two new passwords differ", field="new_password")
        await context.accounts.change_own_password(
            user, str(form.get("current_password") or ""), new_password,
            keeps_this_session=keeps_this_session, ip=client_ip(request),
        )  # fmt: skip
    except AccountError as error:
        return await _account_page(
            request, user,
            {"password_error": str(error), "password_field": error.field, "keep_this_session": keeps_this_session},
            status_code=400,
        )  # fmt: skip
    if not keeps_this_session:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(context.session_cookie, path="/", secure=context.is_https, httponly=True, samesite="lax")
        return response
    response = RedirectResponse("/?password=changed", status_code=303)
    cookie = await context.accounts.start_session(
        user.id, user_agent=request.headers.get("user-agent"), ip=client_ip(request)
    )
    response.set_cookie(
        context.session_cookie, cookie, httponly=True, samesite="lax", secure=context.is_https, path="/"
    )
    return response


async def revoke_app(request: Request) -> Response:
    """GET asks first (what the app loses, and that it will have to ask again); POST with CSRF revokes."""
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    context = web(request)
    if request.method == "GET":
        client_id = request.query_params.get("client_id", "")
        apps = await context.revocation.connected_apps(session[1].id)
        app = next((candidate for candidate in apps if candidate.client_id == client_id), None)
        if app is None:
            return RedirectResponse("/", status_code=303)
        words = (await _scope_words(request, [app]))[app.client_id]
        return render(request, "account_revoke.html", {"app": app, "access_words": words})
    form = await request.form()
    if not is_valid_csrf(request, str(form.get("csrf_token") or "")):
        return error_page(request, "Not revoked", "The form expired or was sent from another site. Please try again.")
    client_id = str(form.get("client_id") or "")
    await context.revocation.revoke_app_access(session[1].id, client_id)
    return RedirectResponse(f"/?{urlencode({'revoked': client_id})}", status_code=303)
