"""Frappe's list parameters: fields, filters (dict and list forms, every operator), order_by and paging."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from api_support import ApiUser, api_user, bearer, suffix

from support.server import LiveServer

COUNT = 25


@dataclass
class Catalog:
    server: LiveServer
    doctype: str
    user: ApiUser
    token: str

    def get_list(self, **params: Any) -> httpx.Response:
        query = {key: value if isinstance(value, str) else json.dumps(value) for key, value in params.items()}
        return httpx.get(f"{self.server.url}/api/resource/{self.doctype}", headers=bearer(self.token), params=query)

    def values(self, field: str, **params: Any) -> list[Any]:
        response = self.get_list(fields=[field], limit_page_length="0", order_by="qty asc", **params)
        assert response.status_code == 200, response.text
        return [row[field] for row in response.json()["data"]]


@pytest.fixture(scope="session")
def catalog(server: LiveServer) -> Catalog:
    doctype = f"Item{suffix()}"
    fields = (
        "title:Data:required",
        "qty:Int",
        "price:Float",
        "active:Check",
        "due:Date",
        "kind:Select:A:B:C",
        "note:Text",
    )
    server.cli("doctype", "add", doctype, *(arg for field in fields for arg in ("--field", field)))
    server.cli("permission", "set", doctype, "All", "--read", "--write", "--create", "--delete", "--if-owner")
    user = api_user(server, scopes=("all",))
    token = user.token(server, "all")
    with httpx.Client(base_url=server.url, headers=bearer(token)) as client:
        for i in range(COUNT):
            body = {
                "title": f"item {i:02d}",
                "qty": i,
                "price": i * 1.5,
                "active": i % 2,
                "due": f"2024-01-{i + 1:02d}",
                "kind": "ABC"[i % 3],
                **({"note": f"note {i}"} if i < 5 else {}),
            }
            assert client.post(f"/api/resource/{doctype}", json=body).status_code == 200
    return Catalog(server, doctype, user, token)


def test_the_default_page_is_20_names(catalog: Catalog) -> None:
    rows = catalog.get_list().json()["data"]
    assert len(rows) == 20
    assert all(set(row) == {"name"} for row in rows)


def test_paging_with_limit_start_and_limit_page_length(catalog: Catalog) -> None:
    assert len(catalog.get_list(limit_page_length="0").json()["data"]) == COUNT
    assert len(catalog.get_list(limit_start="20").json()["data"]) == 5
    page = catalog.get_list(fields=["qty"], order_by="qty asc", limit_start="5", limit_page_length="5")
    assert [row["qty"] for row in page.json()["data"]] == [5, 6, 7, 8, 9]
    assert [row["qty"] for row in catalog.get_list(fields=["qty"], order_by="qty", limit="3").json()["data"]] == [
        0,
        1,
        2,
    ]


def test_the_v1_paths_and_trailing_slashes_answer_the_same(catalog: Catalog) -> None:
    for path in (f"/api/v1/resource/{catalog.doctype}", f"/api/resource/{catalog.doctype}/"):
        response = httpx.get(f"{catalog.server.url}{path}", headers=bearer(catalog.token), params={"limit": "0"})
        assert response.status_code == 200
        assert len(response.json()["data"]) == COUNT


def test_fields_star_gives_standard_and_type_fields(catalog: Catalog) -> None:
    row = catalog.get_list(fields=["*"], limit_page_length="1").json()["data"][0]
    assert list(row) == [
        "name", "owner", "creation", "modified", "modified_by", "docstatus", "idx",
        "title", "qty", "price", "active", "due", "kind", "note",
    ]  # fmt: skip
    assert row["owner"] == catalog.user.email


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"kind": "A"}, [0, 3, 6, 9, 12, 15, 18, 21, 24]),
        ({"qty": [">", 20]}, [21, 22, 23, 24]),
        ([["qty", "<=", 2]], [0, 1, 2]),
        ([["{doctype}", "qty", ">=", 23]], [23, 24]),
        ([["qty", "<", 3], ["kind", "!=", "A"]], [1, 2]),
        ([["title", "like", "%ITEM 1%"]], list(range(10, 20))),
        ([["title", "not like", "item 0%"], ["qty", "<", 12]], [10, 11]),
        ([["kind", "in", ["B", "C"]], ["qty", "<", 6]], [1, 2, 4, 5]),
        ([["kind", "in", "B,C"], ["qty", "<", 3]], [1, 2]),
        ([["kind", "not in", ["A", "B"]]], [2, 5, 8, 11, 14, 17, 20, 23]),
        ([["note", "is", "set"]], [0, 1, 2, 3, 4]),
        ([["note", "is", "not set"], ["qty", "<", 7]], [5, 6]),
        ({"active": 1, "qty": ["<", 6]}, [1, 3, 5]),
        ([["due", ">=", "2024-01-22"]], [21, 22, 23, 24]),
        ([["price", ">", 30]], [21, 22, 23, 24]),
        ([["creation", ">", "2000-01-01 00:00:00"], ["qty", "=", 7]], [7]),
        ([["docstatus", "=", 0], ["qty", "in", [3, 4]]], [3, 4]),
    ],
    ids=[
        "dict-equals", "dict-operator", "list", "list-with-doctype", "and-not-equal", "like-case-insensitive",
        "not-like", "in-list", "in-comma-text", "not-in", "is-set", "is-not-set", "check", "date", "float",
        "creation", "docstatus",
    ],
)  # fmt: skip
def test_filters(catalog: Catalog, filters: Any, expected: list[int]) -> None:
    if isinstance(filters, list):
        filters = [[catalog.doctype if item == "{doctype}" else item for item in row] for row in filters]
    assert catalog.values("qty", filters=filters) == expected


def test_or_filters_need_any_one_to_hold(catalog: Catalog) -> None:
    assert catalog.values("qty", or_filters=[["qty", "=", 1], ["qty", "=", 2]]) == [1, 2]
    assert catalog.values("qty", filters={"kind": "A"}, or_filters={"qty": ["<", 4]}) == [0, 3]


def test_order_by_several_fields(catalog: Catalog) -> None:
    rows = catalog.get_list(fields=["kind", "qty"], order_by="kind desc, qty asc", limit_page_length="3").json()["data"]
    assert rows == [{"kind": "C", "qty": 2}, {"kind": "C", "qty": 5}, {"kind": "C", "qty": 8}]
    newest = catalog.get_list(fields=["qty"], limit_page_length="1").json()["data"]
    assert newest == [{"qty": COUNT - 1}]  # default order: modified desc


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"filters": {"nope": 1}}, "filters", "filters: 'nope' is not a field of {doctype}"),
        (
            {"filters": [["qty", "between", 1]]},
            "filters",
            "filters: 'between' is not an operator; use one of =, !=, <, <=, >, >=, like, not like, in, not in, is",
        ),
        ({"filters": "{not json"}, "filters", "filters: not valid JSON"),
        ({"filters": {"qty": "many"}}, "filters", "filters: qty: the value must be an integer"),
        ({"fields": ["secret"]}, "fields", "fields: 'secret' is not a field of {doctype}"),
        (
            {"order_by": "qty sideways"},
            "order_by",
            "order_by: give fields with asc or desc, e.g. 'modified desc, name asc'",
        ),
        (
            {"limit_page_length": "-1"},
            "limit_page_length",
            "limit_page_length: give a whole number from 0 to 2147483647",
        ),
    ],
    ids=[
        "unknown-field",
        "unknown-operator",
        "bad-json",
        "bad-integer",
        "unknown-output-field",
        "bad-order",
        "negative-page",
    ],
)
def test_bad_list_parameters_are_417_naming_the_parameter(
    catalog: Catalog, params: dict[str, Any], field: str, message: str
) -> None:
    response = catalog.get_list(**params)
    assert response.status_code == 417
    body = response.json()
    assert body["exc_type"] == "ValidationError"
    assert body["field"] == field
    assert body["error_description"] == message.format(doctype=catalog.doctype)
