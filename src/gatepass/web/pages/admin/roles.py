"""Admin pages for roles (the roles page also lists the document types: see doctypes.py)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gatepass.services.accounts import AccountError
from gatepass.services.stores import DOCUMENT_ACTIONS, UserRecord
from gatepass.web.pages.admin.context import admin
from gatepass.web.pages.admin.guard import done, page, read_form


async def roles_page(
    request: Request, me: UserRecord, extra: dict[str, Any] | None = None, *, status_code: int = 200
) -> Response:
    context = admin(request)
    holders: dict[str, int] = {}
    for user in await context.accounts.list_users():
        for role in user.roles:
            holders[role] = holders.get(role, 0) + 1
    granted: dict[str, list[str]] = {}
    for permission in await context.doctypes.list_permissions():
        actions = "/".join(action for action in DOCUMENT_ACTIONS if action in permission.actions)
        own = " (own)" if permission.if_owner else ""
        granted.setdefault(permission.role, []).append(f"{permission.doctype}{own}: {actions}")
    return page(
        request,
        "admin/roles.html",
        {
            "section": "roles",
            "roles": await context.accounts.list_roles(),
            "holders": holders,
            "granted": granted,
            "doctypes": await context.doctypes.list_doctypes(),
            "values": {"name": "", "description": ""},
            **(extra or {}),
        },
        status_code=status_code,
    )


async def add_role(request: Request, me: UserRecord) -> Response:
    form = await read_form(request)
    values = {"name": form.text("name", limit=200), "description": form.text("description", limit=1000)}
    try:
        await admin(request).accounts.add_role(values["name"], values["description"])
    except AccountError as error:
        return await roles_page(request, me, {"values": values, "error": str(error)}, status_code=400)
    return done("/admin/roles", "created")


# -- document types ---------------------------------------------------------------------------
