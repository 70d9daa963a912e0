"""Admin pages for the server itself: the overview, runtime settings, and the id_token signing keys."""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gatepass.config import ENV_PREFIX
from gatepass.protocol.values import ID_TOKEN_ALGORITHMS
from gatepass.services.accounts import AccountError
from gatepass.services.runtime import RUNTIME_SETTINGS
from gatepass.services.stores import UserRecord
from gatepass.web.pages.admin.context import admin
from gatepass.web.pages.admin.guard import done, page, read_form

#: Deployment configuration shown read-only; secrets and connection URLs are left out on purpose.
_SHOWN_GROUPS = ("tokens", "security", "rate_limits")
ASYMMETRIC = tuple(alg for alg in ID_TOKEN_ALGORITHMS if alg != "HS256")


async def overview(request: Request, me: UserRecord) -> Response:
    context = admin(request)
    clients = await context.clients.search()
    users = await context.accounts.list_users()
    keys = await context.signing_keys.list()
    return page(
        request,
        "admin/overview.html",
        {
            "section": "overview",
            "client_count": len(clients),
            "enabled_clients": sum(1 for r in clients if r.info.is_enabled),
            "user_count": len(users),
            "disabled_users": sum(1 for u in users if not u.is_enabled),
            "grant_count": len(await context.revocation.list_grants()),
            "signing_keys": [k for k in keys if k.state == "signing"],
            "next_keys": [k for k in keys if k.state == "next"],
            "runtime": await context.runtime.all(),
            "recent": await context.audit.list_events(limit=8),
            "emails": {user.id: user.email for user in users},
            "app_names": {record.info.client_id: record.info.app_name for record in clients},
        },
    )


def _deployment_rows(request: Request) -> list[dict[str, Any]]:
    settings = admin(request).settings
    rows = []
    for group in _SHOWN_GROUPS:
        values = getattr(settings, group)
        for field in dataclasses.fields(values):
            env = f"{ENV_PREFIX}{group.upper()}_{field.name.upper()}"
            rows.append(
                {
                    "name": f"{group}.{field.name}",
                    "value": getattr(values, field.name),
                    "env": env,
                    "doc": field.metadata.get("doc", ""),
                }
            )
    return rows


async def settings_page(
    request: Request, me: UserRecord, extra: dict[str, Any] | None = None, *, status_code: int = 200
) -> Response:
    return page(
        request,
        "admin/settings.html",
        {
            "section": "settings",
            "runtime_settings": RUNTIME_SETTINGS,
            "values": await admin(request).runtime.all(),
            "deployment": _deployment_rows(request),
            **(extra or {}),
        },
        status_code=status_code,
    )


async def save_settings(request: Request, me: UserRecord) -> Response:
    form = await read_form(request)
    runtime = admin(request).runtime
    current = await runtime.all()
    try:
        for setting in RUNTIME_SETTINGS:
            if form.has(setting.key) and form.text(setting.key) != str(current[setting.key]):
                await runtime.set(setting.key, form.text(setting.key))
    except AccountError as error:
        return await settings_page(request, me, {"error": str(error)}, status_code=400)
    return done("/admin/settings", "saved")


async def keys_page(request: Request, me: UserRecord) -> Response:
    context = admin(request)
    return page(
        request,
        "admin/keys.html",
        {
            "section": "keys",
            "keys": await context.signing_keys.list(),
            "algorithms": ASYMMETRIC,
            "grace_seconds": context.settings.tokens.key_rotation_grace_seconds,
            "unpublish_after_seconds": context.settings.tokens.id_token_ttl_seconds,
        },
    )


async def rotate_keys(request: Request, me: UserRecord) -> Response:
    form = await read_form(request)
    context = admin(request)
    raw_grace = form.text("grace_seconds")
    grace = int(raw_grace) if raw_grace.isdigit() else context.settings.tokens.key_rotation_grace_seconds
    algorithms = tuple(alg for alg in form.values("algorithms") if alg in ASYMMETRIC) or ASYMMETRIC
    await context.signing_keys.rotate(grace_seconds=min(grace, 604800), algorithms=algorithms)
    return done("/admin/keys", "rotated")
