"""The lookups every request makes (client, user with roles, document, permission check) and the audit
log, on every backend: what is written through the store reads back unchanged."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from stores_support import Stores, unique

from gatepass.services.stores import (
    AuditRecord,
    DocFieldRecord,
    DocPermissionRecord,
    DocTypeRecord,
    DocumentScopeRecord,
)


async def test_a_client_reads_back_with_every_field(stores: Stores) -> None:
    client = await stores.client(allowed_roles=("Accounts User",), require_pkce=False, access_token_ttl_seconds=120)
    again = await stores.clients.get_client(client.info.client_id)
    assert again == client
    assert client.info.allowed_roles == ("Accounts User",)
    assert (client.info.require_pkce, client.info.access_token_ttl_seconds) == (False, 120)
    assert client.info.redirect_uris == ("https://app.example/callback",)
    assert await stores.clients.get_client(unique("missing")) is None


async def test_a_user_reads_back_with_roles_by_id_and_by_email(stores: Stores) -> None:
    await stores.users.add_role("Contract Role", "", stores.now)
    user = await stores.user(roles=("Contract Role",))
    by_id = await stores.users.get_user(user.id)
    by_email = await stores.users.get_user_by_email(user.email.upper())
    assert by_id == by_email
    assert by_id is not None and "Contract Role" in by_id.roles
    assert (by_id.email, by_id.sub, by_id.is_enabled) == (user.email, user.sub, True)
    assert await stores.users.get_user(10**9) is None
    assert await stores.users.get_user_by_email("nobody@example.test") is None


async def test_the_permission_check_reads_type_fields_roles_permissions_and_scopes(stores: Stores) -> None:
    name = unique("Contract Type").replace("-", " ")
    role = unique("Contract Reader")
    await stores.users.add_role(role, "", stores.now)
    user = await stores.user(roles=(role,))
    fields = (
        DocFieldRecord("title", "Data", "Title", True, None, ()),
        DocFieldRecord("kind", "Select", "Kind", False, "A", ("A", "B")),
    )
    await stores.doctypes.add_doctype(DocTypeRecord(name, fields, "For the contract tests", False), stores.now)
    await stores.doctypes.set_permission(DocPermissionRecord(name, role, True, frozenset({"read", "write"})))
    scope = unique("contract.read")
    await stores.doctypes.add_scope(DocumentScopeRecord(scope, name, ("read",), "Read", "Read them"), stores.now)
    access = await stores.doctypes.get_access(name, user.id)
    assert access is not None
    assert access.doctype == DocTypeRecord(name, fields, "For the contract tests", False)
    assert role in access.roles
    assert access.permissions == (DocPermissionRecord(name, role, True, frozenset({"read", "write"})),)
    assert access.scopes == (DocumentScopeRecord(scope, name, ("read",), "Read", "Read them"),)
    assert await stores.doctypes.get_access(unique("No Such Type"), user.id) is None

    document = await stores.documents.add_document(name, "DOC-1", user.id, {"title": "One", "kind": "B"}, stores.now)
    found = await stores.documents.get_document(name, "DOC-1")
    assert found == document
    assert found is not None and (found.owner_id, found.data) == (user.id, {"title": "One", "kind": "B"})
    assert await stores.documents.get_document(name, "DOC-2") is None


@pytest.mark.parametrize("detail", [{}, {"scope": "openid all", "actor": "cli:root", "nested": {"n": [1, 2]}}])
async def test_audit_events_read_back_newest_first(stores: Stores, detail: dict[str, object]) -> None:
    client_id = unique("audited")
    at = stores.now
    await stores.audit.add_event(AuditRecord(at, "token.issued", None, client_id, "192.0.2.1", detail))
    await stores.audit.add_event(AuditRecord(at + timedelta(seconds=1), "token.revoked", 7, client_id, None, {}))
    events = await stores.audit.list_events(client_id=client_id)
    assert [(event.event, event.user_id, event.ip) for event in events] == [
        ("token.revoked", 7, None),
        ("token.issued", None, "192.0.2.1"),
    ]
    assert events[1].detail == detail and events[1].at == at


async def test_audit_events_are_chosen_by_name_user_client_and_time(stores: Stores) -> None:
    client_id, name = unique("audited"), unique("contract.event")
    start = stores.now
    for offset, (event, user_id) in enumerate([(name, 1), (name, 2), ("token.issued", 1), (name, 1)]):
        at = start + timedelta(seconds=offset)
        await stores.audit.add_event(AuditRecord(at, event, user_id, client_id, None, {"n": offset}))

    async def numbers(**filters: object) -> list[object]:
        events = await stores.audit.list_events(client_id=client_id, **filters)  # type: ignore[arg-type]
        return [event.detail["n"] for event in events]

    assert await numbers() == [3, 2, 1, 0]
    assert await numbers(event=name) == [3, 1, 0]
    assert await numbers(user_id=1) == [3, 2, 0]
    assert await numbers(since=start + timedelta(seconds=1), until=start + timedelta(seconds=3)) == [2, 1]
    assert await numbers(limit=2) == [3, 2]
    assert await stores.audit.list_events(client_id=unique("nobody")) == []
    names = await stores.audit.list_event_names()
    assert {name, "token.issued"} <= set(names) and names == sorted(set(names))


async def test_reads_made_at_once_each_get_their_own_rows(stores: Stores) -> None:
    """On PostgreSQL the reads of one statement that requests make together go in one round trip: each must
    still get exactly its own rows (a user's several roles), nothing when nothing matched, and a read the
    database cannot run must fail alone."""
    roles = [unique("Grouped Role") for _ in range(3)]
    for role in roles:
        await stores.users.add_role(role, "", stores.now)
    users = [await stores.user(roles=tuple(roles[: index % 4])) for index in range(12)]
    emails = [user.email for user in users]
    one_by_one = [await stores.users.get_user_by_email(email) for email in emails]
    assert [len(set(roles) & set(user.roles)) for user in one_by_one if user] == [index % 4 for index in range(12)]

    by_email = await asyncio.gather(
        *(stores.users.get_user_by_email(email) for email in [*emails[:6], "nobody@example.test", *emails[6:]])
    )
    assert [*by_email[:6], *by_email[7:]] == one_by_one
    assert by_email[6] is None

    # By id (read for the first time: not from the read cache), with one id no BIGINT column can hold.
    ids = [user.id for user in users]
    by_id = await asyncio.gather(
        *(stores.users.get_user(user_id) for user_id in [*ids[:6], 10**9, *ids[6:], 10**20]), return_exceptions=True
    )
    assert [*by_id[:6], *by_id[7:-1]] == one_by_one
    assert by_id[6] is None
    # Refused (PostgreSQL, SQLite) or simply not found (MariaDB): never another user's row, never the others' fault.
    assert by_id[-1] is None or isinstance(by_id[-1], Exception), by_id[-1]
