"""Admin pages for login providers ("Log in with …"): list, add, edit, enable/disable, check, delete.

Adding takes two steps, because the callback URL to register at the provider contains the name:
first the name and the preset, then the page shows that URL beside the fields for the client the
admin registers with it. Every change goes through ProviderService, which audits it as the CLI does.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gatepass.services.accounts import AccountError
from gatepass.services.providers import (
    PRESETS,
    ProviderChanges,
    parse_provider_name,
    preset_defaults,
)
from gatepass.services.stores import Conflict, NotFound, ProviderRecord, UserRecord
from gatepass.web.pages.admin.context import admin
from gatepass.web.pages.admin.guard import done, page, query_text, read_form
from gatepass.web.pages.admin.provider_form import (
    PRESET_HINTS,
    changes_from,
    choices,
    error_context,
    submitted_values,
    values_of,
)


async def _record(request: Request) -> ProviderRecord:
    name = request.path_params["provider"]
    record = await admin(request).providers.get(name) if name.isprintable() else None
    if record is None:
        raise NotFound(f"No login provider is named {name}")
    return record


def _path(name: str) -> str:
    return f"/admin/providers/{name}"


async def list_providers(request: Request, me: UserRecord) -> Response:
    context = admin(request)
    records = await context.providers.list_all()
    return page(request, "admin/providers.html", {"section": "providers", "providers": [r.config for r in records]})


# -- add: the name and preset, then the rest -------------------------------------------------


def _start_page(request: Request, values: dict[str, str], error: AccountError | None = None) -> Response:
    context: dict[str, Any] = {"section": "providers", "values": values, "presets": PRESETS, "hints": PRESET_HINTS}
    if error is not None:
        context.update(error_context(error))
    return page(request, "admin/provider_start.html", context, status_code=400 if error else 200)


async def _form_page(request: Request, values: dict[str, Any], *, error: AccountError | None = None) -> Response:
    context: dict[str, Any] = {
        "section": "providers",
        "values": values,
        "preset": PRESETS[values["preset"]],
        "callback_url": admin(request).providers.callback_url(values["name"]),
        **await choices(request),
    }
    if error is not None:
        context.update(error_context(error))
    return page(request, "admin/provider_new.html", context, status_code=400 if error else 200)


async def new_provider(request: Request, me: UserRecord) -> Response:
    """Without ?name= the first step; with it, the form for the provider's client."""
    values = {"name": query_text(request, "name", limit=100), "preset": query_text(request, "preset", limit=20)}
    if "name" not in request.query_params:
        return _start_page(request, {**values, "preset": values["preset"] or "gatepass"})
    try:
        name = parse_provider_name(values["name"])
        preset = PRESETS.get(values["preset"])
        if preset is None:
            raise AccountError(f"Choose one of the kinds of provider: {', '.join(PRESETS)}", "preset")
        if await admin(request).providers.get(name) is not None:
            raise AccountError(f"A provider is named {name!r} already: choose another name", "name")
    except AccountError as error:
        return _start_page(request, values, error)
    return await _form_page(request, values_of(preset_defaults(name, preset)))


async def create_provider(request: Request, me: UserRecord) -> Response:
    form = await read_form(request)
    values = {"name": form.text("name", limit=100), "preset": form.text("preset", limit=20)}
    preset = PRESETS.get(values["preset"])
    if preset is None:
        error = AccountError(f"Choose one of the kinds of provider: {', '.join(PRESETS)}", "preset")
        return _start_page(request, values, error)
    try:
        changes = changes_from(form, preset, is_new=True)
        record = await admin(request).providers.add(values["name"], preset.name, changes)
    except (AccountError, Conflict) as error:
        if isinstance(error, Conflict):
            error = AccountError(f"{error}: choose another name", "name")
        shown = submitted_values(form, values_of(preset_defaults(values["name"], preset)))
        return await _form_page(request, shown, error=error)
    return done(_path(record.config.name), "created")


# -- one provider -----------------------------------------------------------------------------


async def _provider_page(
    request: Request,
    record: ProviderRecord,
    *,
    values: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    config = record.config
    return page(
        request,
        "admin/provider.html",
        {
            "section": "providers",
            "provider": config,
            "record": record,
            "values": values or values_of(config),
            "preset": PRESETS[config.preset],
            "callback_url": admin(request).providers.callback_url(config.name),
            "path": _path(config.name),
            **await choices(request),
            **(extra or {}),
        },
        status_code=status_code,
    )


async def show_provider(request: Request, me: UserRecord) -> Response:
    return await _provider_page(request, await _record(request))


async def update_provider(request: Request, me: UserRecord) -> Response:
    record = await _record(request)
    form = await read_form(request)
    config = record.config
    try:
        changes = changes_from(form, PRESETS[config.preset], is_new=False)
        await admin(request).providers.update(config.name, changes)
    except AccountError as error:
        values = submitted_values(form, values_of(config))
        return await _provider_page(request, record, values=values, extra=error_context(error), status_code=400)
    return done(_path(config.name), "saved")


async def set_enabled(request: Request, me: UserRecord) -> Response:
    record = await _record(request)
    form = await read_form(request)
    is_enabled = form.text("enabled") == "1"
    await admin(request).providers.update(record.config.name, ProviderChanges(is_enabled=is_enabled))
    return done(_path(record.config.name), "enabled" if is_enabled else "provider_disabled")


async def check_provider(request: Request, me: UserRecord) -> Response:
    """What `gatepass provider check NAME` reports, on the provider's page."""
    record = await _record(request)
    await read_form(request)
    lines = await admin(request).check_provider(record.config.name)
    return await _provider_page(request, record, extra={"check_lines": lines})


async def confirm_delete(request: Request, me: UserRecord) -> Response:
    record = await _record(request)
    return page(
        request,
        "admin/provider_delete.html",
        {"section": "providers", "provider": record.config, "path": _path(record.config.name)},
    )


async def delete_provider(request: Request, me: UserRecord) -> Response:
    record = await _record(request)
    await read_form(request)
    await admin(request).providers.remove(record.config.name)
    return done("/admin/providers", "deleted")
