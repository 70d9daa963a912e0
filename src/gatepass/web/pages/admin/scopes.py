"""Admin page for scopes: the built-in ones, and document scopes with a preview of their consent wording."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gatepass.services.accounts import AccountError
from gatepass.services.scopes import BUILTIN_SCOPES, ScopeDescription, describe_scopes
from gatepass.services.stores import DOCUMENT_ACTIONS, UserRecord
from gatepass.web.pages.admin.context import admin
from gatepass.web.pages.admin.guard import AdminForm, done, page, read_form

_BLANK = {"name": "", "doctype": "", "actions": ["read"], "title": "", "description": ""}


async def scopes_page(
    request: Request, me: UserRecord, extra: dict[str, Any] | None = None, *, status_code: int = 200
) -> Response:
    doctypes = admin(request).doctypes
    return page(
        request,
        "admin/scopes.html",
        {
            "section": "scopes",
            "builtin": [(name, title, description) for name, (title, description) in BUILTIN_SCOPES.items()],
            "scopes": await doctypes.list_scopes(),
            "doctypes": [doctype.name for doctype in await doctypes.list_doctypes()],
            "actions": DOCUMENT_ACTIONS,
            "values": dict(_BLANK),
            **(extra or {}),
        },
        status_code=status_code,
    )


def _consent_preview(values: dict[str, Any]) -> list[ScopeDescription]:
    """The scope as the consent screen will list it, through the consent screen's own wording function."""
    name = values["name"] or "new-scope"
    return describe_scopes((name,), (), {name: (values["title"] or "(no title yet)", values["description"])})


def _values(form: AdminForm) -> dict[str, Any]:
    return {
        "name": form.text("name", limit=128),
        "doctype": form.text("doctype", limit=64),
        "actions": [action for action in form.values("actions") if action in DOCUMENT_ACTIONS],
        "title": form.text("title", limit=140),
        "description": form.text("description", limit=1000),
    }


async def add_scope(request: Request, me: UserRecord) -> Response:
    form = await read_form(request)
    values = _values(form)
    if form.text("intent") == "preview":
        # Only show how the consent screen will word it; nothing is saved.
        return await scopes_page(request, me, {"values": values, "preview": _consent_preview(values)})
    try:
        # The console's own words for what the CLI calls flags.
        if not values["actions"]:
            raise AccountError("Tick at least one action: read, write, create or delete", field="actions")
        if not values["title"]:
            raise AccountError("Give the scope a title: the consent screen shows it to users", field="title")
        await admin(request).doctypes.add_scope(
            values["name"], values["doctype"], tuple(values["actions"]), values["title"], values["description"]
        )
    except AccountError as error:
        return await scopes_page(request, me, {"values": values, "error": str(error)}, status_code=400)
    return done("/admin/scopes", "created")


async def delete_scope(request: Request, me: UserRecord) -> Response:
    form = await read_form(request)
    await admin(request).doctypes.remove_scope(form.text("name", limit=128))
    return done("/admin/scopes", "deleted")
