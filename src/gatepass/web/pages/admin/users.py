"""Admin pages for users: list and search, create, roles, disable/enable, reset password, API key, tokens."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gatepass.protocol.errors import SlowDown
from gatepass.services.accounts import SYSTEM_MANAGER, AccountError
from gatepass.services.stores import NotFound, UserRecord
from gatepass.web.context import client_ip, web
from gatepass.web.pages.account_email import VERIFICATIONS_PER_HOUR
from gatepass.web.pages.admin.context import admin
from gatepass.web.pages.admin.guard import done, page, query_text, read_form
from gatepass.web.ratelimit import check_rate


async def _user(request: Request) -> UserRecord:
    user_id = request.path_params["user_id"]
    found = await admin(request).accounts.get_user(user_id)
    if found is None:
        raise NotFound(f"No user has id {user_id}")
    return found


async def _roles(request: Request) -> list[tuple[str, bool, str]]:
    return await admin(request).accounts.list_roles()


async def list_users(request: Request, me: UserRecord) -> Response:
    return await _list_page(request, {})


async def _list_page(request: Request, extra: dict[str, Any], *, status_code: int = 200) -> Response:
    search = query_text(request, "q", limit=200)
    users = await admin(request).accounts.list_users(search)
    context = {
        "section": "users",
        "users": users,
        "q": search,
        "roles": await _roles(request),
        "values": {"email": "", "first_name": "", "last_name": "", "roles": [], "unverified_email": False},
        **extra,
    }
    return page(request, "admin/users.html", context, status_code=status_code)


async def create_user(request: Request, me: UserRecord) -> Response:
    form = await read_form(request)
    email, first_name, last_name = (
        form.text("email", limit=254),
        form.text("first_name", limit=140),
        form.text("last_name", limit=140),
    )
    roles = form.values("roles")
    is_unverified = form.is_checked("unverified_email")
    values = {
        "email": email,
        "first_name": first_name,
        "last_name": last_name,
        "roles": list(roles),
        "unverified_email": is_unverified,
    }
    password = form.text("password", limit=1024) or None
    try:
        created = await admin(request).accounts.create_user(
            email,
            password,
            first_name=first_name,
            last_name=last_name,
            roles=roles,
            is_email_verified=not is_unverified,
        )
    except AccountError as error:
        return await _list_page(
            request, {"values": values, "error": str(error), "error_field": error.field}, status_code=400
        )
    return done(f"/admin/users/{created.id}", "created")


async def show_user(
    request: Request, me: UserRecord, extra: dict[str, Any] | None = None, *, status_code: int = 200
) -> Response:
    user = await _user(request)
    context = admin(request)
    grants = await context.revocation.list_grants(user_id=user.id)
    sessions = await context.browser_sessions.list_of(user.id)
    return page(
        request,
        "admin/user.html",
        {
            "section": "users",
            "person": user,
            "roles": await _roles(request),
            "grants": grants,
            "sessions": sessions,
            "is_me": user.id == me.id,
            "factors": await context.second_factors.status(user),
            **(extra or {}),
        },
        status_code=status_code,
    )


async def set_roles(request: Request, me: UserRecord) -> Response:
    user = await _user(request)
    form = await read_form(request)
    roles = form.values("roles")
    if user.id == me.id and SYSTEM_MANAGER not in roles:
        return await show_user(
            request,
            me,
            {"error": "You cannot take System Manager away from yourself; ask another System Manager."},
            status_code=400,
        )
    await admin(request).accounts.set_roles(user.id, roles)
    return done(f"/admin/users/{user.id}", "saved")


async def set_enabled(request: Request, me: UserRecord) -> Response:
    user = await _user(request)
    form = await read_form(request)
    is_enabled = form.text("enabled") == "1"
    if user.id == me.id and not is_enabled:
        return await show_user(request, me, {"error": "You cannot disable yourself."}, status_code=400)
    await admin(request).accounts.set_enabled(user.id, is_enabled)
    return done(f"/admin/users/{user.id}", "enabled" if is_enabled else "disabled")


async def set_password(request: Request, me: UserRecord) -> Response:
    """A reset signs the user out everywhere and revokes their apps' tokens; an admin resetting their
    own password gets a fresh session in this browser."""
    user = await _user(request)
    form = await read_form(request)
    accounts = admin(request).accounts
    try:
        await accounts.set_password(user.id, form.text("password", limit=2048), by="admin", ip=client_ip(request))
    except AccountError as error:
        return await show_user(request, me, {"error": str(error), "error_field": "password"}, status_code=400)
    response = done(f"/admin/users/{user.id}", "password")
    if user.id == me.id:
        context = web(request)
        response.set_cookie(
            context.session_cookie,
            await accounts.start_session(me.id, user_agent=request.headers.get("user-agent"), ip=client_ip(request)),
            httponly=True, samesite="lax", secure=context.is_https, path="/",
        )  # fmt: skip
    return response


async def reset_factors(request: Request, me: UserRecord) -> Response:
    """A lost phone: the user's app and recovery codes stop working (audited, with the admin as actor)."""
    user = await _user(request)
    await read_form(request)
    await admin(request).second_factors.reset(user)
    return done(f"/admin/users/{user.id}", "factors_reset")


async def send_verification(request: Request, me: UserRecord) -> Response:
    """The link the account page's "Send me a link to verify it" mails, sent for the user; both share one
    hourly limit per user, so neither can flood the mailbox."""
    user = await _user(request)
    await read_form(request)
    if user.is_email_verified:
        return await show_user(request, me, {"error": "The email address is verified already."}, status_code=400)
    if not user.is_enabled:
        message = "The user is disabled: a link would not work. Enable the user first."
        return await show_user(request, me, {"error": message}, status_code=400)
    try:
        await check_rate(request, "verify-email", str(user.id), VERIFICATIONS_PER_HOUR, window_seconds=3600)
    except SlowDown as error:
        minutes = error.retry_after_seconds // 60 + 1
        message = f"Several links were sent to this user already. Try again in {minutes} minutes."
        return await show_user(request, me, {"error": message}, status_code=429)
    await admin(request).mail_links.send_verification(user, ip=client_ip(request))
    return done(f"/admin/users/{user.id}", "verification_sent")


async def issue_api_key(request: Request, me: UserRecord) -> Response:
    user = await _user(request)
    await read_form(request)
    api_key, api_secret = await admin(request).api_keys.issue(user.id)
    return await show_user(request, me, {"api_key": api_key, "api_secret": api_secret})
