"""Admin pages for document types and each document type's role permissions."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from gatepass.services.accounts import AccountError
from gatepass.services.doctypes import parse_field_spec
from gatepass.services.stores import DOCUMENT_ACTIONS, DocTypeRecord, NotFound, UserRecord
from gatepass.web.pages.admin.context import admin
from gatepass.web.pages.admin.guard import done, page, read_form
from gatepass.web.pages.admin.roles import roles_page


async def _doctype(request: Request) -> DocTypeRecord:
    name = request.path_params["name"]
    if not name.isprintable():
        raise NotFound(f"No document type is named {name!r}")
    return await admin(request).doctypes.get_doctype(name)


def _path(name: str) -> str:
    return f"/admin/doctypes/{quote(name, safe='')}"


async def add_doctype(request: Request, me: UserRecord) -> Response:
    form = await read_form(request)
    values = {
        "doctype_name": form.text("name", limit=64),
        "doctype_description": form.text("description", limit=1000),
        "doctype_fields": form.text("fields", limit=65536),
    }
    try:
        fields = tuple(parse_field_spec(line) for line in form.lines("fields"))
        created = await admin(request).doctypes.add_doctype(
            values["doctype_name"], fields, values["doctype_description"]
        )
    except AccountError as error:
        return await roles_page(
            request,
            me,
            {"values": {"name": "", "description": ""}, "doctype_values": values, "doctype_error": str(error)},
            status_code=400,
        )
    return done(_path(created.name), "created")


async def show_doctype(
    request: Request, me: UserRecord, extra: dict[str, Any] | None = None, *, status_code: int = 200
) -> Response:
    doctype = await _doctype(request)
    context = admin(request)
    permissions = sorted(await context.doctypes.list_permissions(doctype.name), key=lambda p: (p.role, p.if_owner))
    scopes = [scope for scope in await context.doctypes.list_scopes() if scope.doctype == doctype.name]
    return page(
        request,
        "admin/doctype.html",
        {
            "section": "roles",
            "doctype": doctype,
            "permissions": permissions,
            "scopes": scopes,
            "roles": [name for name, _, _ in await context.accounts.list_roles()],
            "actions": DOCUMENT_ACTIONS,
            "path": _path(doctype.name),
            **(extra or {}),
        },
        status_code=status_code,
    )


async def set_permission(request: Request, me: UserRecord) -> Response:
    doctype = await _doctype(request)
    form = await read_form(request)
    actions = tuple(action for action in form.values("actions") if action in DOCUMENT_ACTIONS)
    try:
        await admin(request).doctypes.set_permission(
            doctype.name, form.text("role", limit=140), actions, if_owner=form.text("if_owner") == "1"
        )
    except AccountError as error:
        return await show_doctype(request, me, {"error": str(error)}, status_code=400)
    return done(_path(doctype.name), "saved")


async def confirm_delete_doctype(request: Request, me: UserRecord) -> Response:
    doctype = await _doctype(request)
    return page(
        request, "admin/doctype_delete.html", {"section": "roles", "doctype": doctype, "path": _path(doctype.name)}
    )


async def delete_doctype(request: Request, me: UserRecord) -> Response:
    doctype = await _doctype(request)
    form = await read_form(request)
    try:
        await admin(request).doctypes.remove_doctype(doctype.name, with_documents=form.is_checked("with_documents"))
    except AccountError as error:
        message = str(error).replace("give --with-documents", "tick the box below")
        return page(
            request,
            "admin/doctype_delete.html",
            {"section": "roles", "doctype": doctype, "path": _path(doctype.name), "error": message},
            status_code=400,
        )
    return done("/admin/roles", "deleted")
