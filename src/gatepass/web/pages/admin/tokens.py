"""Admin pages for live tokens (grants: an access token with its refresh family)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gatepass.services.stores import NotFound, UserRecord
from gatepass.web.context import client_ip
from gatepass.web.pages.admin.context import admin
from gatepass.web.pages.admin.guard import done, page, query_text, read_form


async def list_tokens(request: Request, me: UserRecord) -> Response:
    context = admin(request)
    email = query_text(request, "user").lower()
    client_id = query_text(request, "client", limit=128)
    found = await context.accounts.find_user(email) if email else None
    error = f"No user has the email {email}" if email and found is None else None
    grants = (
        []
        if error
        else await context.revocation.list_grants(user_id=found.id if found else None, client_id=client_id or None)
    )
    return page(
        request,
        "admin/tokens.html",
        {
            "section": "tokens",
            "grants": grants,
            "user_filter": email,
            "client_filter": client_id,
            "clients": await context.clients.search(),
            "error": error,
            "back": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        },
    )


def _safe_back(value: str) -> str:
    """Only admin pages: the form's return address must never leave the console."""
    if value.startswith("/admin/") and "//" not in value and "\\" not in value and len(value) < 2048:
        return value
    return "/admin/tokens"


async def revoke_token(request: Request, me: UserRecord) -> Response:
    form = await read_form(request)
    grant_id = request.path_params["grant_id"]
    if await admin(request).revocation.revoke_grant_by_id(grant_id, ip=client_ip(request)) is None:
        raise NotFound(f"No live grant has id {grant_id}: it expired or was revoked already")
    return done(_safe_back(form.text("back")), "revoked")


async def purge(request: Request, me: UserRecord) -> Response:
    """What `gatepass purge` does: drop rows that can never be valid again (the live ones stay)."""
    await read_form(request)
    await admin(request).purge()
    return done("/admin/tokens", "purged")
