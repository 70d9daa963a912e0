"""The document-type and document stores: types with their fields, permissions and scopes, the cached
permission check seeing each change, and documents filtered, sorted and written compare-and-set."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from stores_support import Stores, unique

from gatepass.services.stores import (
    Condition,
    Conflict,
    DocFieldRecord,
    DocPermissionRecord,
    DocumentQuery,
    DocumentScopeRecord,
    NotFound,
    SortKey,
    UserRecord,
)


async def test_a_type_reads_back_with_its_fields_in_order_and_a_name_is_taken_once(stores: Stores) -> None:
    doctype = await stores.doctype(
        DocFieldRecord("amount", "Float", "Amount", False, "0"),
        DocFieldRecord("customer", "Link", "Customer", True, None, ("Customer",)),
    )
    assert await stores.doctypes.get_doctype(doctype.name) == doctype
    assert doctype in await stores.doctypes.list_doctypes()
    names = [found.name for found in await stores.doctypes.list_doctypes()]
    assert names == sorted(names)
    with pytest.raises(Conflict):
        await stores.doctypes.add_doctype(doctype, stores.now)
    assert await stores.doctypes.get_doctype(unique("No Such Type")) is None


async def test_a_deleted_type_takes_its_permissions_and_scopes_with_it(stores: Stores) -> None:
    doctype, role = await stores.doctype(), await stores.role()
    await stores.doctypes.set_permission(DocPermissionRecord(doctype.name, role, False, frozenset({"read"})))
    scope = unique("gone.read")
    await stores.doctypes.add_scope(DocumentScopeRecord(scope, doctype.name, ("read",), "Read"), stores.now)
    assert await stores.doctypes.delete_doctype(doctype.name) is True
    assert await stores.doctypes.get_doctype(doctype.name) is None
    assert await stores.doctypes.list_permissions(doctype.name) == []
    assert await stores.doctypes.list_scopes((scope,)) == []
    assert await stores.doctypes.delete_doctype(doctype.name) is False


async def test_a_permission_row_is_kept_per_role_and_owner_flag_and_removed_when_emptied(stores: Stores) -> None:
    doctype, role, other_role = await stores.doctype(), await stores.role(), await stores.role()
    user = await stores.user(roles=(role,))
    assert await stores.doctypes.get_access(doctype.name, user.id) is not None  # now cached
    everyone = DocPermissionRecord(doctype.name, role, False, frozenset({"read"}))
    owners = DocPermissionRecord(doctype.name, role, True, frozenset({"read", "write", "delete"}))
    others = DocPermissionRecord(doctype.name, other_role, False, frozenset({"create"}))
    for permission in (everyone, owners, others):
        await stores.doctypes.set_permission(permission)
    widened = DocPermissionRecord(doctype.name, role, False, frozenset({"read", "create"}))
    await stores.doctypes.set_permission(widened)
    assert await stores.doctypes.list_permissions(doctype.name) == sorted(
        [widened, owners, others], key=lambda row: (row.role, row.if_owner)
    )
    access = await stores.doctypes.get_access(doctype.name, user.id)
    assert access is not None and set(access.permissions) == {widened, owners, others}

    await stores.doctypes.set_permission(DocPermissionRecord(doctype.name, role, True, frozenset()))
    assert owners not in await stores.doctypes.list_permissions(doctype.name)
    access = await stores.doctypes.get_access(doctype.name, user.id)
    assert access is not None and set(access.permissions) == {widened, others}
    assert widened in await stores.doctypes.list_permissions()


async def test_a_permission_for_a_role_that_does_not_exist_is_not_found(stores: Stores) -> None:
    doctype = await stores.doctype()
    with pytest.raises(NotFound):
        await stores.doctypes.set_permission(
            DocPermissionRecord(doctype.name, unique("no-role"), False, frozenset({"read"}))
        )


async def test_the_cached_permission_check_sees_new_roles_and_scopes_at_once(stores: Stores) -> None:
    doctype, role = await stores.doctype(), await stores.role()
    user = await stores.user()
    access = await stores.doctypes.get_access(doctype.name, user.id)
    assert access is not None and (access.roles, access.scopes) == ((), ())
    await stores.users.set_roles(user.id, (role,))
    scope = DocumentScopeRecord(unique("cached.read"), doctype.name, ("read",), "Read", "Read them")
    await stores.doctypes.add_scope(scope, stores.now)
    access = await stores.doctypes.get_access(doctype.name, user.id)
    assert access is not None and (access.roles, access.scopes) == ((role,), (scope,))


async def test_scopes_are_listed_by_name_chosen_by_name_and_a_name_is_taken_once(stores: Stores) -> None:
    doctype = await stores.doctype()
    second = DocumentScopeRecord(f"zz.{unique('scope')}", doctype.name, ("read", "write"), "Write")
    first = DocumentScopeRecord(f"aa.{unique('scope')}", doctype.name, ("read",), "Read", "Read them")
    for scope in (second, first):
        await stores.doctypes.add_scope(scope, stores.now)
    assert await stores.doctypes.list_scopes((first.name, second.name, unique("missing"))) == [first, second]
    names = [scope.name for scope in await stores.doctypes.list_scopes()]
    assert names == sorted(names) and {first.name, second.name} <= set(names)
    with pytest.raises(Conflict):
        await stores.doctypes.add_scope(first, stores.now)
    assert await stores.doctypes.delete_scope(first.name) is True
    assert await stores.doctypes.list_scopes((first.name,)) == []
    assert await stores.doctypes.delete_scope(first.name) is False


async def test_a_document_name_is_taken_once_per_type(stores: Stores) -> None:
    doctype, other_type, user = await stores.doctype(), await stores.doctype(), await stores.user()
    await stores.documents.add_document(doctype.name, "DOC-1", user.id, {"title": "First"}, stores.now)
    with pytest.raises(Conflict):
        await stores.documents.add_document(doctype.name, "DOC-1", user.id, {"title": "Second"}, stores.now)
    await stores.documents.add_document(other_type.name, "DOC-1", user.id, {"title": "Other type"}, stores.now)
    found = await stores.documents.get_document(doctype.name, "DOC-1")
    assert found is not None and found.data == {"title": "First"}
    assert (found.owner, found.modified_by) == (user.email, user.email)


async def test_an_update_applies_only_to_the_version_it_was_read_from(stores: Stores) -> None:
    doctype, owner, editor = await stores.doctype(), await stores.user(), await stores.user()
    document = await stores.documents.add_document(doctype.name, "DOC-1", owner.id, {"title": "One"}, stores.now)

    async def update(title: str) -> object:
        return await stores.documents.update_document(
            doctype.name,
            "DOC-1",
            {"title": title},
            modified_by_id=editor.id,
            expected_modified=document.modified,
            # The same clock reading as the creation: the new version must still be strictly later.
            now=document.modified,
        )

    outcomes = await asyncio.gather(update("Two"), update("Three"))
    assert sorted(outcome is None for outcome in outcomes) == [False, True]
    found = await stores.documents.get_document(doctype.name, "DOC-1")
    assert found is not None and found == next(outcome for outcome in outcomes if outcome is not None)
    assert found.modified > document.modified
    assert (found.owner, found.modified_by, found.creation) == (owner.email, editor.email, document.creation)
    assert await update("Four") is None


async def test_delete_and_count_see_only_their_own_type(stores: Stores) -> None:
    doctype, other_type, user = await stores.doctype(), await stores.doctype(), await stores.user()
    for name in ("A", "B", "C"):
        await stores.documents.add_document(doctype.name, name, user.id, {"title": name}, stores.now)
    await stores.documents.add_document(other_type.name, "A", user.id, {"title": "A"}, stores.now)
    assert await stores.documents.delete_document(doctype.name, "A") is True
    assert await stores.documents.delete_document(doctype.name, "A") is False
    assert await stores.documents.get_document(other_type.name, "A") is not None
    assert (
        await stores.documents.count_documents(doctype.name),
        await stores.documents.count_documents(other_type.name),
    ) == (2, 1)


async def test_documents_are_filtered_sorted_and_paged_on_their_fields(stores: Stores) -> None:
    doctype = await stores.doctype(
        DocFieldRecord("amount", "Int", "Amount"),
        DocFieldRecord("status", "Select", "Status", options=("Open", "Closed")),
    )
    owner, other = await stores.user(), await stores.user()
    rows: dict[str, tuple[UserRecord, dict[str, Any]]] = {
        "D1": (owner, {"title": "Alpha", "amount": 30, "status": "Open"}),
        "D2": (owner, {"title": "beta", "amount": 5, "status": "Closed"}),
        "D3": (other, {"title": "Gamma", "amount": 12, "status": "Open"}),
        "D4": (owner, {"title": "delta"}),
    }
    start = stores.now
    for offset, (name, (user, data)) in enumerate(rows.items()):
        await stores.documents.add_document(doctype.name, name, user.id, data, start + timedelta(seconds=offset))

    async def names(**query: object) -> list[str]:
        found = await stores.documents.list_documents(DocumentQuery(doctype.name, **query))  # type: ignore[arg-type]
        return [document.name for document in found]

    # Newest first by default.
    assert await names() == ["D4", "D3", "D2", "D1"]
    assert await names(order_by=(SortKey("amount", "integer"),)) == ["D4", "D2", "D3", "D1"]
    assert await names(order_by=(SortKey("amount", "integer", True),)) == ["D1", "D3", "D2", "D4"]
    assert await names(conditions=(Condition("amount", ">", 10, "integer"),), order_by=(SortKey("name"),)) == [
        "D1",
        "D3",
    ]
    assert await names(conditions=(Condition("status", "!=", "Open"),), order_by=(SortKey("name"),)) == ["D2", "D4"]
    assert await names(conditions=(Condition("title", "like", "%TA%"),), order_by=(SortKey("name"),)) == ["D2", "D4"]
    assert await names(conditions=(Condition("status", "is", "not set"),)) == ["D4"]
    assert await names(conditions=(Condition("name", "in", ("D1", "D3", "D9")),), order_by=(SortKey("name"),)) == [
        "D1",
        "D3",
    ]
    assert await names(
        any_conditions=(Condition("amount", "<", 10, "integer"), Condition("title", "=", "Gamma")),
        order_by=(SortKey("name"),),
    ) == ["D2", "D3"]
    assert await names(owner_id=owner.id, order_by=(SortKey("name"),)) == ["D1", "D2", "D4"]
    assert await names(order_by=(SortKey("name"),), offset=1, limit=2) == ["D2", "D3"]
    assert await names(order_by=(SortKey("name"),), offset=3, limit=None) == ["D4"]
    # A list of the same shape with other values (another field, another IN list's length) reads its own values,
    # not those of the statement compiled first.
    assert await names(conditions=(Condition("name", "in", ("D2",)),)) == ["D2"]
    assert await names(
        conditions=(Condition("status", "in", ("Closed", "Open", "Lost")),), order_by=(SortKey("name"),)
    ) == [
        "D1",
        "D2",
        "D3",
    ]
    assert await names(conditions=(Condition("amount", ">", 20, "integer"),), order_by=(SortKey("name"),)) == ["D1"]

    # Counting (Frappe's get_count) matches what the list would show, whatever its order and page.
    async def count(**query: object) -> int:
        return await stores.documents.count_matching(DocumentQuery(doctype.name, **query))  # type: ignore[arg-type]

    assert await count() == 4
    assert await count(conditions=(Condition("status", "!=", "Open"),), offset=1, limit=1) == 2
    assert await count(conditions=(Condition("owner", "=", other.email),)) == 1
    assert await count(any_conditions=(Condition("amount", "<", 10, "integer"), Condition("title", "=", "Gamma"))) == 2
    assert await count(owner_id=owner.id) == 3
    assert await count(conditions=(Condition("name", "in", ("D9",)),)) == 0


async def test_a_link_to_a_document_is_found_among_the_visible_ones(stores: Stores) -> None:
    target_type = await stores.doctype()
    linking_type = await stores.doctype(DocFieldRecord("target", "Link", "Target", options=(target_type.name,)))
    owner, other = await stores.user(), await stores.user()
    await stores.documents.add_document(target_type.name, "T-1", owner.id, {"title": "Target"}, stores.now)
    await stores.documents.add_document(linking_type.name, "L-1", other.id, {"title": "L", "target": "T-1"}, stores.now)
    assert await stores.documents.find_link_to(target_type.name, "T-1", visible={linking_type.name: None}) == (
        linking_type.name,
        "L-1",
    )
    # The linking document is another owner's: a caller who sees only their own finds none.
    assert await stores.documents.find_link_to(target_type.name, "T-1", visible={linking_type.name: owner.id}) is None
    assert await stores.documents.find_link_to(target_type.name, "T-1", visible={}) is None
    assert await stores.documents.find_link_to(target_type.name, "T-2", visible={linking_type.name: None}) is None
