"""Admin pages for OAuth clients: list, create, edit, secret rotation, enable/disable, delete, "try it"."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gatepass.services import service_users
from gatepass.services.accounts import AccountError
from gatepass.services.client_trial import build_trial_authorization
from gatepass.services.clients import ClientChanges
from gatepass.services.stores import ClientRecord, NotFound, UserRecord
from gatepass.web.context import web
from gatepass.web.pages.admin.client_form import (
    blank_values,
    changes_from,
    choices,
    frappe_preset_values,
    submitted_values,
    values_of,
)
from gatepass.web.pages.admin.context import admin
from gatepass.web.pages.admin.guard import done, page, query_text, read_form


async def _record(request: Request) -> ClientRecord:
    client_id = request.path_params["client_id"]
    record = await admin(request).clients.get(client_id) if client_id.isprintable() else None
    if record is None:
        raise NotFound(f"No client has client_id {client_id}")
    return record


def _path(record: ClientRecord) -> str:
    return f"/admin/clients/{quote(record.info.client_id, safe='')}"


async def list_clients(request: Request, me: UserRecord) -> Response:
    search = query_text(request, "q", limit=200)
    context = admin(request)
    records = await context.clients.search(search)
    counts: dict[str, int] = {}
    for grant in await context.revocation.list_grants():
        counts[grant.client_id] = counts.get(grant.client_id, 0) + 1
    return page(
        request, "admin/clients.html", {"section": "clients", "clients": records, "q": search, "grant_counts": counts}
    )


# -- create -----------------------------------------------------------------------------------


async def new_client(request: Request, me: UserRecord) -> Response:
    preset = request.query_params.get("preset")
    values = frappe_preset_values() if preset == "frappe" else blank_values()
    return page(
        request,
        "admin/client_new.html",
        {"section": "clients", "values": values, "preset": preset, **await choices(request)},
    )


async def create_client(request: Request, me: UserRecord) -> Response:
    form = await read_form(request)
    try:
        changes = changes_from(form)
        if not changes.app_name:
            raise AccountError("Give the app a name: users see it on the consent screen", field="app_name")
        await admin(request).doctypes.check_scopes_known(changes.scopes or ())
        context = admin(request)
        saved = await service_users.create_client(
            context.clients, context.accounts, changes, client_id=form.text("client_id", limit=128) or None
        )
        info, secret = saved.info, saved.secret
    except AccountError as error:
        values = submitted_values(form)
        return page(
            request,
            "admin/client_new.html",
            {
                "section": "clients",
                "values": values,
                "error": str(error),
                "error_field": error.field,
                **await choices(request, tuple(values["scopes"])),
            },
            status_code=400,
        )
    return _show_secret_once(request, info.client_id, secret, is_new=True)


#: The one showing of a new secret travels from the POST to the page that shows it in this cookie,
#: encrypted with the instance key and scoped to that page, so a reload creates nothing and the
#: secret never stands in an address, the browser's history or a server-side store.
_SHOWN_ONCE_COOKIE = "gatepass_shown_once"
_SHOWN_ONCE_SECONDS = 120


def _show_secret_once(request: Request, client_id: str, secret: str | None, *, is_new: bool) -> Response:
    """Post/redirect/get: answer the POST with a redirect to the credentials page, carrying the secret."""
    context = web(request)
    target = f"/admin/clients/{quote(client_id, safe='')}/credentials"
    response = RedirectResponse(target, status_code=303)
    sealed = {"client_id": client_id, "secret": secret, "is_new": is_new, "until": time.time() + _SHOWN_ONCE_SECONDS}
    response.set_cookie(
        _SHOWN_ONCE_COOKIE,
        context.keys.encrypt(json.dumps(sealed)),
        max_age=_SHOWN_ONCE_SECONDS,
        path=target,
        secure=context.is_https,
        httponly=True,
        samesite="strict",
    )
    return response


def _opened_once(request: Request, client_id: str) -> dict[str, Any] | None:
    """What the POST sealed for this client, if it is still fresh; None after it was shown or expired."""
    sealed = request.cookies.get(_SHOWN_ONCE_COOKIE)
    if not sealed:
        return None
    try:
        opened: dict[str, Any] = json.loads(web(request).keys.decrypt(sealed))
    except ValueError:  # a cookie from another instance secret, or tampered with
        return None
    if opened.get("client_id") != client_id or float(opened.get("until", 0)) < time.time():
        return None
    return opened


async def show_credentials(request: Request, me: UserRecord) -> Response:
    """The client_id and, this once, the new secret; a reload shows that it was already shown."""
    record = await _record(request)
    opened = _opened_once(request, record.info.client_id)
    response = page(
        request,
        "admin/client_secret.html",
        {
            "section": "clients",
            "client_id": record.info.client_id,
            "app_name": record.info.app_name,
            "is_public": record.info.is_public,
            "secret": opened["secret"] if opened else None,
            "is_new": bool(opened and opened["is_new"]),
            "was_shown": opened is None,
            "client_path": _path(record),
        },
    )
    response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(_SHOWN_ONCE_COOKIE, path=request.url.path, secure=web(request).is_https, httponly=True)
    return response


# -- one client -------------------------------------------------------------------------------


async def show_client(request: Request, me: UserRecord) -> Response:
    record = await _record(request)
    grants = await admin(request).revocation.list_grants(client_id=record.info.client_id)
    exchange_policies = await admin(request).exchange_policies.list(client_id=record.info.client_id)
    return page(
        request,
        "admin/client.html",
        {
            "section": "clients",
            "client": record.info,
            "record": record,
            "values": await values_of(request, record),
            "grant_count": len(grants),
            "exchange_policies": exchange_policies,
            "path": _path(record),
            **await choices(request, record.info.scopes),
        },
    )


async def update_client(request: Request, me: UserRecord) -> Response:
    record = await _record(request)
    form = await read_form(request)
    try:
        changes = changes_from(form)
        # Like the CLI: only built-in scopes and defined document scopes.
        await admin(request).doctypes.check_scopes_known(changes.scopes or ())
        context = admin(request)
        saved = await service_users.update_client(context.clients, context.accounts, record.info.client_id, changes)
        info, secret = saved.info, saved.secret
    except AccountError as error:
        values = {**submitted_values(form), "client_id": record.info.client_id}
        return page(
            request,
            "admin/client.html",
            {
                "section": "clients",
                "client": record.info,
                "record": record,
                "values": values,
                "error": str(error),
                "error_field": error.field,
                "grant_count": None,
                "path": _path(record),
                **await choices(request, tuple(values["scopes"])),
            },
            status_code=400,
        )
    if secret is not None:
        # The change needs a secret the client never had (or that was never kept): show it this once.
        return _show_secret_once(request, info.client_id, secret, is_new=False)
    return done(_path(record), "saved")


async def rotate_secret(request: Request, me: UserRecord) -> Response:
    record = await _record(request)
    await read_form(request)
    secret = await admin(request).clients.rotate_secret(record.info.client_id)
    return _show_secret_once(request, record.info.client_id, secret, is_new=False)


async def set_enabled(request: Request, me: UserRecord) -> Response:
    record = await _record(request)
    form = await read_form(request)
    is_enabled = form.text("enabled") == "1"
    await admin(request).clients.update(record.info.client_id, ClientChanges(is_enabled=is_enabled))
    return done(_path(record), "enabled" if is_enabled else "client_disabled")


async def confirm_delete(request: Request, me: UserRecord) -> Response:
    record = await _record(request)
    grants = await admin(request).revocation.list_grants(client_id=record.info.client_id)
    return page(
        request,
        "admin/client_delete.html",
        {"section": "clients", "client": record.info, "grant_count": len(grants), "path": _path(record)},
    )


async def delete_client(request: Request, me: UserRecord) -> Response:
    record = await _record(request)
    await read_form(request)
    await admin(request).clients.delete(record.info.client_id)
    return done("/admin/clients", "deleted")


async def try_client(request: Request, me: UserRecord) -> Response:
    """A ready authorization URL with a fresh PKCE pair; made anew on every load, stored nowhere."""
    record = await _record(request)
    query = request.query_params
    chosen = tuple(scope for scope in query.getlist("scope") if scope in record.info.scopes)
    context: dict[str, Any] = {
        "section": "clients",
        "client": record.info,
        "path": _path(record),
        "chosen_scopes": chosen or record.info.scopes,
    }
    try:
        trial = build_trial_authorization(
            admin(request).issuer,
            record.info,
            redirect_uri=query_text(request, "redirect_uri", limit=2048) or None,
            scopes=chosen or None,
        )
        context["trial"] = await admin(request).pushed_authorization.push_trial(record.info, trial)
    except AccountError as error:
        context["error"] = str(error)
    return page(request, "admin/client_try.html", context)
