"""The pure half of the Frappe import: Frappe's documents and __Auth rows in, Gatepass records out."""

from __future__ import annotations

import json
import warnings

import pytest
from frappe_site_support import FRAPPE_PASSLIB, doctype, oauth_client, role, user

from gatepass.services.crypto import Passwords, check_pbkdf2_sha256
from gatepass.services.frappe_import import AuthDumpError, FrappeSnapshot, parse_auth_dump, plan_import

PASSWORD = "Frappe-password-7"


def test_a_client_keeps_its_id_secret_uris_and_roles_and_is_frappe_legacy() -> None:
    doc = oauth_client(
        "a1b2c3d4e5", "f0e1d2c3b4", "https://shop.example.com/cb", "https://shop.example.com/cb2",
        allowed_roles=("Sales User", "Ghost Role"),
    )  # fmt: skip
    plan = plan_import(FrappeSnapshot(roles=(role("Sales User"),), clients=(doc,)))
    (client,) = plan.clients
    assert (client.client_id, client.secret) == ("a1b2c3d4e5", "f0e1d2c3b4")
    assert client.changes.redirect_uris == ("https://shop.example.com/cb", "https://shop.example.com/cb2")
    assert client.changes.default_redirect_uri == "https://shop.example.com/cb"
    assert client.changes.grant_types == ("authorization_code", "refresh_token")
    assert client.changes.scopes == ("all", "openid")
    assert client.changes.allowed_roles == ("Sales User",)
    assert client.changes.is_frappe_legacy is True
    assert client.changes.id_token_signed_response_alg == "HS256"
    assert any("Ghost Role" in note for note in plan.notes)
    assert "f0e1d2c3b4" not in repr(client)


def test_an_implicit_client_and_a_default_uri_missing_from_the_list() -> None:
    doc = {**oauth_client("imp1", "s3cr3t", "https://a.example.com/cb"), "grant_type": "Implicit"}
    doc["default_redirect_uri"] = "https://a.example.com/other"
    (client,) = plan_import(FrappeSnapshot(clients=(doc,))).clients
    assert (client.changes.grant_types, client.changes.response_types) == (("implicit",), ("token",))
    assert client.changes.redirect_uris == ("https://a.example.com/cb", "https://a.example.com/other")


def test_a_client_without_a_usable_redirect_uri_is_left_out_with_a_note() -> None:
    plan = plan_import(FrappeSnapshot(clients=(oauth_client("bad1", "x", "javascript:alert(1)"),)))
    assert plan.clients == ()
    assert any("bad1" in note and "not imported" in note for note in plan.notes)


def test_users_keep_their_roles_but_not_frappes_automatic_ones_or_builtin_accounts() -> None:
    plan = plan_import(
        FrappeSnapshot(
            roles=(role("Sales User"), role("All"), role("Guest")),
            users=(user("Jane@Shop.example.com", "Sales User", "All"), user("Administrator"), user("Guest")),
        )
    )
    assert [r.name for r in plan.roles] == ["Sales User"]
    (jane,) = plan.users
    assert (jane.email, jane.roles, jane.is_enabled) == ("jane@shop.example.com", ("Sales User",), True)
    assert sum("built-in account" in note for note in plan.notes) == 2


def test_a_doctype_keeps_storable_fields_and_level_0_permissions() -> None:
    doc = doctype(
        "Customer Note",
        [
            {"fieldname": "section_1", "fieldtype": "Section Break"},
            {"fieldname": "subject", "fieldtype": "Data", "label": "Subject", "reqd": 1},
            {"fieldname": "status", "fieldtype": "Select", "options": "Open\nClosed", "default": "Open"},
            {"fieldname": "customer", "fieldtype": "Link", "options": "Customer"},
            {"fieldname": "body", "fieldtype": "Text Editor"},
            {"fieldname": "amount", "fieldtype": "Currency"},
            {"fieldname": "items", "fieldtype": "Table", "options": "Note Item"},
        ],
        [
            {"role": "Sales User", "read": 1, "write": 1, "create": 1, "delete": 0},
            {"role": "Sales User", "read": 1, "permlevel": 1},
            {"role": "Nobody Here", "read": 1},
        ],
    )
    plan = plan_import(FrappeSnapshot(roles=(role("Sales User"),), doctypes=(doc,)))
    (note_type,) = plan.doctypes
    types = {f.fieldname: (f.fieldtype, f.options, f.is_required) for f in note_type.fields}
    assert types == {
        "subject": ("Data", (), True),
        "status": ("Select", ("Open", "Closed"), False),
        "customer": ("Data", (), False),
        "body": ("Text", (), False),
        "amount": ("Float", (), False),
    }
    assert [(p.role, p.actions) for p in note_type.permissions] == [
        ("Sales User", frozenset({"read", "write", "create"}))
    ]
    assert any("items" in note for note in plan.notes)
    assert any("customer links to Customer" in note for note in plan.notes)


def test_the_auth_dump_from_bench_mariadb_batch_and_from_bench_execute() -> None:
    made = FRAPPE_PASSLIB.hash(PASSWORD)
    tsv = (
        "doctype\tname\tfieldname\tpassword\tencrypted\n"
        f"User\tjane@shop.example.com\tpassword\t{made}\t0\n"
        "User\tjane@shop.example.com\tapi_secret\tgAAAAABencryptedvalue\t1\n"
        "Email Account\tsupport\tpassword\tgAAAAABother\t1\n"
    )
    assert parse_auth_dump(tsv) == {"jane@shop.example.com": made}
    as_json = json.dumps({"message": [["User", "bob@shop.example.com", "password", made, 0]]})
    assert parse_auth_dump(as_json) == {"bob@shop.example.com": made}


def test_an_auth_dump_with_an_unknown_scheme_names_the_scheme_and_never_the_hash() -> None:
    with pytest.raises(AuthDumpError) as raised:
        parse_auth_dump("User\tjane@x.example.com\tpassword\t$2b$12$abcdefghijklmnopqrstuv\t0\n")
    assert "'2b'" in str(raised.value)
    assert "abcdefghijklmnop" not in str(raised.value)
    with pytest.raises(AuthDumpError, match="columns"):
        parse_auth_dump("User,jane,password,x,0\n")


def test_frappes_pbkdf2_sha256_hash_checks_and_asks_for_argon2id() -> None:
    made = FRAPPE_PASSLIB.hash(PASSWORD)
    assert made.startswith("$pbkdf2-sha256$")
    assert check_pbkdf2_sha256(made, PASSWORD)
    assert not check_pbkdf2_sha256(made, PASSWORD + "x")
    assert not check_pbkdf2_sha256("$pbkdf2-sha256$29000$not-base64!$x", PASSWORD)
    passwords = Passwords(memory_kib=8192, time_cost=1)
    assert passwords._check(made, PASSWORD).needs_rehash
    assert not passwords._check(made, "wrong").is_valid


def test_frappes_argon2_hash_checks_and_asks_for_gatepass_parameters() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # passlib reads argon2.__version__
        made = FRAPPE_PASSLIB.handler("argon2").hash(PASSWORD)
    assert made.startswith("$argon2")
    check = Passwords(memory_kib=8192, time_cost=1)._check(made, PASSWORD)
    assert (check.is_valid, check.needs_rehash) == (True, True)


def test_what_gatepass_would_refuse_midway_is_left_out_while_planning() -> None:
    """Every refusal the services could make is met here, before the first write: no half-import."""
    client = {**oauth_client("logo1", "s3cr3t0000", "https://a.example.com/cb"), "logo_uri": "/files/logo.png"}
    plan = plan_import(
        FrappeSnapshot(
            users=(user("not an address"),),
            clients=(client,),
            doctypes=(doctype("9 Lives", [], []),),
        )
    )
    assert (plan.users, plan.doctypes) == ((), ())
    (imported,) = plan.clients
    assert imported.changes.logo_uri is None
    assert any("not an address" in note and "no usable email" in note for note in plan.notes)
    assert any("/files/logo.png" in note for note in plan.notes)
    assert any("9 Lives" in note and "not imported" in note for note in plan.notes)
