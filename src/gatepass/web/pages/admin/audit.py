"""The admin page of the audit log: the newest events first, filtered by event, user, client and time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gatepass.services.stores import UserRecord
from gatepass.web.pages.admin.context import admin
from gatepass.web.pages.admin.guard import page, query_text

AUDIT_LIMIT = 200


def _parse_time(value: str) -> datetime | None:
    """An <input type=datetime-local> value, read as UTC (the console shows every time in UTC)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return None


async def audit_log(request: Request, me: UserRecord) -> Response:
    context = admin(request)
    email = query_text(request, "user").lower()
    client_id = query_text(request, "client", limit=128)
    event = query_text(request, "event", limit=64)
    since_text, until_text = query_text(request, "since", limit=32), query_text(request, "until", limit=32)
    since, until = _parse_time(since_text), _parse_time(until_text)
    errors = []
    if (since_text and since is None) or (until_text and until is None):
        errors.append("Times look like 2026-05-01T09:30 (UTC).")
    found = await context.accounts.find_user(email) if email else None
    if email and found is None:
        errors.append(f"No user has the email {email}.")
    events = (
        []
        if errors
        else await context.audit.list_events(
            limit=AUDIT_LIMIT,
            event=event or None,
            user_id=found.id if found else None,
            client_id=client_id or None,
            # A minute picked as "until" includes that whole minute.
            since=since,
            until=until + timedelta(minutes=1) if until else None,
        )
    )
    emails = {user.id: user.email for user in await context.accounts.list_users()}
    rows = [
        (
            record,
            emails.get(record.user_id) if record.user_id else None,
            _detail_without_actor(record.detail),
        )
        for record in events
    ]
    clients = await context.clients.search()
    return page(
        request,
        "admin/audit.html",
        {
            "section": "audit",
            "rows": rows,
            "limit": AUDIT_LIMIT,
            "event_names": await context.audit.list_event_names(),
            "clients": clients,
            "app_names": {record.info.client_id: record.info.app_name for record in clients},
            "filters": {"user": email, "client": client_id, "event": event, "since": since_text, "until": until_text},
            "error": " ".join(errors) or None,
        },
    )


def _detail_without_actor(detail: dict[str, Any] | None) -> str:
    """The event's detail as JSON; who acted has a column of its own."""
    shown = {key: value for key, value in (detail or {}).items() if key != "actor"}
    return json.dumps(shown, sort_keys=True, default=str) if shown else ""
