"""Moving a Frappe site's OAuth clients, users, roles and document types into Gatepass.

Two halves. ``plan_import`` turns what the site's REST API answered (a ``FrappeSnapshot``) and the rows of
its ``__Auth`` table into an ``ImportPlan``: pure, and where every judgement about Frappe's data is made
(what is skipped, what becomes what). ``FrappeImporter.apply`` then compares the plan with this Gatepass and
writes only the differences through the services, so a second import of the same site changes nothing.
The site is read completely before the plan is made: an error from the site midway leaves Gatepass as it was.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gatepass.protocol.errors import OAuthError
from gatepass.protocol.params import parse_scope
from gatepass.protocol.rfc6749.redirect_uri import check_redirect_uri_for_registration
from gatepass.protocol.tokens import token_digest
from gatepass.protocol.values import (
    AUTH_BASIC,
    AUTH_NONE,
    AUTH_POST,
    GRANT_AUTHORIZATION_CODE,
    GRANT_IMPLICIT,
    GRANT_REFRESH_TOKEN,
)
from gatepass.services.accounts import AccountError, AccountService, normalise_email
from gatepass.services.clients import ClientChanges, ClientService
from gatepass.services.crypto import ADOPTABLE_HASH_PREFIXES
from gatepass.services.doctypes import DocTypeService, check_doctype_name
from gatepass.services.document_fields import FIELD_TYPES, check_field_definition
from gatepass.services.stores import DOCUMENT_ACTIONS, DocFieldRecord, DocPermissionRecord, NotFound

#: Roles every Frappe user has implicitly, or that only Frappe's own machinery uses.
AUTOMATIC_ROLES = frozenset({"Administrator", "Guest", "All", "Desk User"})
#: Frappe's built-in accounts, named rather than addressed by email.
BUILTIN_USERS = frozenset({"Administrator", "Guest"})
#: Frappe field types that hold no data (layout) and are left out without a word.
LAYOUT_FIELD_TYPES = frozenset(
    {"Section Break", "Column Break", "Tab Break", "HTML", "Button", "Heading", "Fold", "Image"}
)
#: Frappe field types Gatepass stores as one of its own.
FIELD_TYPE_EQUIVALENTS = {
    "Small Text": "Text",
    "Long Text": "Text",
    "Text Editor": "Text",
    "Markdown Editor": "Text",
    "HTML Editor": "Text",
    "Code": "Text",
    "JSON": "Text",
    "Read Only": "Data",
    "Email": "Data",
    "Phone": "Data",
    "Color": "Data",
    "Currency": "Float",
    "Percent": "Float",
    "Rating": "Float",
}
AUTH_DUMP_COLUMNS = ("doctype", "name", "fieldname", "password", "encrypted")
_FRAPPE_AUTH_METHODS = {"Client Secret Basic": AUTH_BASIC, "Client Secret Post": AUTH_POST, "None": AUTH_NONE}


class AuthDumpError(ValueError):
    """The --auth-dump file is not rows of Frappe's __Auth table."""


@dataclass(frozen=True)
class FrappeSnapshot:
    """Full documents (``GET /api/resource/<DocType>/<name>``, child tables included) as the site gave them."""

    roles: tuple[Mapping[str, Any], ...] = ()
    users: tuple[Mapping[str, Any], ...] = ()
    clients: tuple[Mapping[str, Any], ...] = ()
    doctypes: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class RolePlan:
    name: str
    description: str


@dataclass(frozen=True)
class UserPlan:
    email: str
    first_name: str
    last_name: str
    is_enabled: bool
    roles: tuple[str, ...]
    #: Frappe's passlib hash from the auth dump; kept out of every printed form of the plan.
    password_hash: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ClientPlan:
    client_id: str
    changes: ClientChanges
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class DocTypePlan:
    name: str
    fields: tuple[DocFieldRecord, ...]
    description: str
    permissions: tuple[DocPermissionRecord, ...]


@dataclass(frozen=True)
class ImportPlan:
    roles: tuple[RolePlan, ...]
    users: tuple[UserPlan, ...]
    clients: tuple[ClientPlan, ...]
    doctypes: tuple[DocTypePlan, ...]
    #: What was left out or changed on the way, one sentence each, for the admin to read.
    notes: tuple[str, ...]


# -- the auth dump -------------------------------------------------------------------------------


def parse_auth_dump(text: str) -> dict[str, str]:
    """User name → password hash, from rows of ``__Auth`` (doctype, name, fieldname, password, encrypted).

    Either JSON (a list of objects with those keys, or of lists in that order, as ``bench execute`` prints
    ``frappe.db.sql``) or tab-separated text (``bench mariadb --batch`` with its header line, or
    ``SELECT ... INTO OUTFILE`` without one). Only users' login passwords are taken: rows of other
    documents, and encrypted fields (API secrets and the like), are passed over unread.
    """
    stripped = text.lstrip("\ufeff").strip()
    if not stripped:
        raise AuthDumpError("the auth dump is empty")
    rows = _json_rows(stripped) if stripped[0] in "[{" else _tab_rows(stripped)
    hashes: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        if str(row.get("doctype")) != "User" or str(row.get("fieldname")) != "password":
            continue
        if str(row.get("encrypted", "0")).strip() not in ("0", "", "False", "false"):
            continue
        name, password_hash = str(row.get("name") or "").strip(), str(row.get("password") or "").strip()
        if not name:
            raise AuthDumpError(f"row {number}: a User password row without a name")
        if not password_hash.startswith(ADOPTABLE_HASH_PREFIXES) or len(password_hash) > 255:
            # Only the scheme is named: the hash itself never goes into a message.
            scheme = password_hash.split("$")[1] if password_hash.startswith("$") else "unknown"
            raise AuthDumpError(
                f"row {number} ({name}): a password hash of scheme '{scheme}'; "
                "only Frappe's pbkdf2_sha256 and argon2 hashes can be imported"
            )
        hashes[name] = password_hash
    return hashes


def _json_rows(text: str) -> list[Mapping[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AuthDumpError(f"the auth dump is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if isinstance(data, dict) and isinstance(data.get("message"), list):
        data = data["message"]  # `bench execute` and /api/method wrap what they return
    if not isinstance(data, list):
        raise AuthDumpError("a JSON auth dump is a list of rows")
    rows: list[Mapping[str, Any]] = []
    for number, row in enumerate(data, start=1):
        if isinstance(row, dict):
            rows.append(row)
        elif isinstance(row, list) and len(row) == len(AUTH_DUMP_COLUMNS):
            rows.append(dict(zip(AUTH_DUMP_COLUMNS, row, strict=True)))
        else:
            raise AuthDumpError(f"row {number}: expected an object or a list of {', '.join(AUTH_DUMP_COLUMNS)}")
    return rows


def _tab_rows(text: str) -> list[Mapping[str, Any]]:
    lines = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    if lines and [cell.strip() for cell in lines[0]] == list(AUTH_DUMP_COLUMNS):
        lines = lines[1:]
    rows: list[Mapping[str, Any]] = []
    for number, cells in enumerate(lines, start=1):
        if not cells:
            continue
        if len(cells) != len(AUTH_DUMP_COLUMNS):
            raise AuthDumpError(
                f"line {number}: {len(cells)} columns; expected {len(AUTH_DUMP_COLUMNS)} separated by tabs "
                f"({', '.join(AUTH_DUMP_COLUMNS)})"
            )
        rows.append(dict(zip(AUTH_DUMP_COLUMNS, cells, strict=True)))
    return rows


# -- the plan ------------------------------------------------------------------------------------


def _text(doc: Mapping[str, Any], key: str) -> str:
    value = doc.get(key)
    return "" if value is None else str(value).strip()


def _flag(doc: Mapping[str, Any], key: str) -> bool:
    value = doc.get(key)
    return value not in (None, 0, "0", "", False)


def _child_values(doc: Mapping[str, Any], table: str, key: str) -> tuple[str, ...]:
    rows = doc.get(table) or ()
    values = (_text(row, key) for row in rows if isinstance(row, Mapping))
    return tuple(dict.fromkeys(value for value in values if value))


def plan_role(doc: Mapping[str, Any]) -> RolePlan | None:
    name = _text(doc, "role_name") or _text(doc, "name")
    if not name or name in AUTOMATIC_ROLES or len(name) > 140:
        return None
    desk = "with desk access" if _flag(doc, "desk_access") else "without desk access"
    disabled = ", disabled there" if _flag(doc, "disabled") else ""
    return RolePlan(name, f"Imported from Frappe ({desk}{disabled}).")


def plan_user(doc: Mapping[str, Any], known_roles: set[str], hashes: Mapping[str, str]) -> UserPlan | str:
    """The user, or why it is left out."""
    name = _text(doc, "name")
    if name in BUILTIN_USERS:
        return f"user {name}: Frappe's built-in account, not imported"
    try:
        email = normalise_email(_text(doc, "email") or name)
    except AccountError:
        return f"user {name}: no usable email address, not imported"
    roles = tuple(role for role in _child_values(doc, "roles", "role") if role in known_roles)
    return UserPlan(
        email=email,
        first_name=_text(doc, "first_name")[:140],
        last_name=_text(doc, "last_name")[:140],
        is_enabled=_flag(doc, "enabled"),
        roles=roles,
        password_hash=hashes.get(name) or hashes.get(email),
    )


def plan_client(doc: Mapping[str, Any], known_roles: set[str]) -> tuple[ClientPlan | None, list[str]]:
    """The client as Frappe ran it, and notes on what had to change; None when it cannot work in Gatepass."""
    client_id = _text(doc, "client_id") or _text(doc, "name")
    notes: list[str] = []
    implicit = _text(doc, "grant_type") == "Implicit"
    auth_method = _FRAPPE_AUTH_METHODS.get(_text(doc, "token_endpoint_auth_method") or "Client Secret Basic")
    if auth_method is None:
        return None, [f"client {client_id}: unknown token endpoint auth method, not imported"]
    is_public = auth_method == AUTH_NONE
    secret = None if is_public else _text(doc, "client_secret") or None
    # Frappe keeps redirect URIs one per line (its validator splits on any white space).
    uris = list(dict.fromkeys(_text(doc, "redirect_uris").split()))
    default_uri = _text(doc, "default_redirect_uri") or None
    if default_uri and default_uri not in uris:
        uris.append(default_uri)
    kept: list[str] = []
    for uri in uris:
        try:
            check_redirect_uri_for_registration(uri)
        except OAuthError as exc:
            notes.append(f"client {client_id}: redirect URI {uri} left out ({exc.description})")
            continue
        kept.append(uri)
    if not kept:
        return None, [*notes, f"client {client_id}: no usable redirect URI, not imported"]
    if default_uri not in kept:
        default_uri = kept[0]
    try:
        scopes = parse_scope(_text(doc, "scopes") or "all openid")
    except OAuthError as exc:
        return None, [*notes, f"client {client_id}: its scopes cannot be read ({exc.description}), not imported"]
    allowed = _child_values(doc, "allowed_roles", "role")
    for role in allowed:
        if role not in known_roles and role not in AUTOMATIC_ROLES:
            notes.append(f"client {client_id}: allowed role {role} is not imported, left out")
    if secret is None and not is_public:
        notes.append(f"client {client_id}: its secret was not readable; Gatepass made a new one (shown below)")
    changes = ClientChanges(
        app_name=(_text(doc, "app_name") or client_id)[:140],
        client_type="public" if is_public else "confidential",
        token_endpoint_auth_method=auth_method,
        redirect_uris=tuple(kept),
        default_redirect_uri=default_uri,
        scopes=scopes,
        grant_types=(GRANT_IMPLICIT,) if implicit else (GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN),
        response_types=("token",) if implicit else ("code",),
        allowed_roles=tuple(role for role in allowed if role in known_roles),
        skip_authorization=_flag(doc, "skip_authorization"),
        # Frappe's apps send no PKCE, authenticate either way and verify id_tokens with their secret.
        require_pkce=False,
        is_frappe_legacy=True,
        id_token_signed_response_alg="RS256" if is_public else "HS256",
        client_uri=_web_address(doc, "client_uri", client_id, notes),
        logo_uri=_web_address(doc, "logo_uri", client_id, notes),
    )
    return ClientPlan(client_id, changes, secret), notes


def _web_address(doc: Mapping[str, Any], key: str, client_id: str, notes: list[str]) -> str | None:
    """An absolute http(s) address as the consent page may show it; Frappe also keeps paths such as /files/x.png."""
    address = _text(doc, key)
    if not address:
        return None
    if address.startswith(("https://", "http://")) and len(address) <= 2048 and not any(c in address for c in ' "<>'):
        return address
    notes.append(f"client {client_id}: {key} {address[:80]} is not an absolute http(s) address, left out")
    return None


def _actions(row: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(action for action in DOCUMENT_ACTIONS if _flag(row, action))


def plan_doctype(
    doc: Mapping[str, Any], known_doctypes: set[str], known_roles: set[str]
) -> tuple[DocTypePlan | None, list[str]]:
    """Fields Gatepass can store and level-0 role permissions; Link fields only to types known before it."""
    name = _text(doc, "name")
    notes: list[str] = []
    try:
        check_doctype_name(name)
    except AccountError as exc:
        return None, [f"doctype {name}: {exc}; not imported"]
    if _flag(doc, "istable") or _flag(doc, "issingle"):
        return None, [f"doctype {name}: child tables and single types are not imported"]
    fields: list[DocFieldRecord] = []
    for row in doc.get("fields") or ():
        fieldname, frappe_type = _text(row, "fieldname"), _text(row, "fieldtype")
        if frappe_type in LAYOUT_FIELD_TYPES:
            continue
        fieldtype = FIELD_TYPE_EQUIVALENTS.get(frappe_type, frappe_type)
        options: tuple[str, ...] = ()
        if fieldtype == "Select":
            options = tuple(dict.fromkeys(line.strip() for line in _text(row, "options").splitlines() if line.strip()))
        elif fieldtype == "Link":
            target = _text(row, "options")
            if target in known_doctypes or target == name:
                options = (target,)
            else:
                notes.append(f"doctype {name}: {fieldname} links to {target}, not in Gatepass yet: kept as Data")
                fieldtype = "Data"
        default = _text(row, "default") or None
        candidate = DocFieldRecord(
            fieldname, fieldtype, _text(row, "label")[:140], _flag(row, "reqd"), default, options
        )
        if fieldtype not in FIELD_TYPES:
            notes.append(f"doctype {name}: field {fieldname} ({frappe_type}) has no Gatepass type, left out")
            continue
        try:
            check_field_definition(candidate, known_doctypes | {name})
        except AccountError as exc:
            if default is None:
                notes.append(f"doctype {name}: {exc}; left out")
                continue
            candidate = DocFieldRecord(fieldname, fieldtype, candidate.label, candidate.is_required, None, options)
            notes.append(f"doctype {name}: the default of {fieldname} ({default}) does not fit; dropped")
        fields.append(candidate)
    permissions: list[DocPermissionRecord] = []
    for row in doc.get("permissions") or ():
        role = _text(row, "role")
        if int(row.get("permlevel") or 0) != 0:
            notes.append(f"doctype {name}: {role}'s field-level permission (level {row.get('permlevel')}) left out")
        elif role not in known_roles:
            notes.append(f"doctype {name}: permission of role {role}, which is not imported, left out")
        elif _actions(row):
            permissions.append(DocPermissionRecord(name, role, _flag(row, "if_owner"), frozenset(_actions(row))))
    description = _text(doc, "description") or f"Imported from Frappe ({_text(doc, 'module') or 'no module'})."
    return DocTypePlan(name, tuple(fields), description[:1000], tuple(permissions)), notes


def plan_import(snapshot: FrappeSnapshot, hashes: Mapping[str, str] | None = None) -> ImportPlan:
    """What Gatepass should hold for this site: every choice about Frappe's data is made here."""
    hashes = hashes or {}
    notes: list[str] = []
    roles = tuple(plan for plan in map(plan_role, snapshot.roles) if plan is not None)
    known_roles = {role.name for role in roles} | {"System Manager"}
    users: list[UserPlan] = []
    for doc in snapshot.users:
        planned = plan_user(doc, known_roles, hashes)
        if isinstance(planned, str):
            notes.append(planned)
        else:
            users.append(planned)
    clients: list[ClientPlan] = []
    for doc in snapshot.clients:
        client, client_notes = plan_client(doc, known_roles)
        notes += client_notes
        if client is not None:
            clients.append(client)
    doctypes: list[DocTypePlan] = []
    for doc in snapshot.doctypes:
        doctype, doctype_notes = plan_doctype(doc, {d.name for d in doctypes}, known_roles)
        notes += doctype_notes
        if doctype is not None:
            doctypes.append(doctype)
    if hashes:
        imported = {user.email for user in users if user.password_hash}
        notes.append(f"{len(imported)} of {len(users)} users keep their Frappe password")
    return ImportPlan(roles, tuple(users), tuple(clients), tuple(doctypes), tuple(notes))


# -- applying it ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportReport:
    #: One line per change ("create user ...", "update client ..."); empty when Gatepass already matched.
    changes: tuple[str, ...]
    #: client_id → a secret Gatepass had to make (Frappe's was not readable): shown once, to hand to the app.
    new_secrets: Mapping[str, str]


class FrappeImporter:
    """Brings a plan into Gatepass through its services, comparing first so a repeat changes nothing."""

    def __init__(
        self, accounts: AccountService, clients: ClientService, doctypes: DocTypeService, digest_key: bytes
    ) -> None:
        self._accounts = accounts
        self._clients = clients
        self._doctypes = doctypes
        self._digest_key = digest_key

    async def apply(self, plan: ImportPlan, *, dry_run: bool) -> ImportReport:
        changes: list[str] = []
        new_secrets: dict[str, str] = {}
        existing_roles = {name for name, _, _ in await self._accounts.list_roles()}
        for role in plan.roles:
            if role.name not in existing_roles:
                changes.append(f"create role {role.name}")
                if not dry_run:
                    await self._accounts.add_role(role.name, role.description)
        for user in plan.users:
            changes += await self._apply_user(user, dry_run)
        for client in plan.clients:
            changes += await self._apply_client(client, dry_run, new_secrets)
        for doctype in plan.doctypes:
            changes += await self._apply_doctype(doctype, dry_run)
        return ImportReport(tuple(changes), new_secrets)

    async def _apply_user(self, plan: UserPlan, dry_run: bool) -> list[str]:
        found = await self._accounts.find_user(plan.email)
        if found is None:
            if not dry_run:
                found = await self._accounts.create_user(
                    plan.email, None, first_name=plan.first_name, last_name=plan.last_name, roles=plan.roles
                )
                if plan.password_hash:
                    await self._accounts.adopt_password_hash(found.id, plan.password_hash)
                if not plan.is_enabled:
                    await self._accounts.set_enabled(found.id, False)
            password = ", with the Frappe password" if plan.password_hash else ""
            return [f"create user {plan.email} (roles: {', '.join(plan.roles) or 'none'}{password})"]
        changes: list[str] = []
        # Roles given in Gatepass since are kept: an import adds what Frappe grants and takes nothing away.
        missing = tuple(role for role in plan.roles if role not in found.roles)
        if missing:
            changes.append(f"update user {plan.email}: add roles {', '.join(missing)}")
            if not dry_run:
                await self._accounts.set_roles(found.id, found.roles + missing)
        if found.is_enabled != plan.is_enabled:
            changes.append(f"update user {plan.email}: {'enable' if plan.is_enabled else 'disable'}")
            if not dry_run:
                await self._accounts.set_enabled(found.id, plan.is_enabled)
        # A user who already has a password in Gatepass (their own, or the one their first login re-hashed)
        # keeps it: the dump holds the Frappe password they may since have changed.
        if plan.password_hash and found.password_hash is None:
            changes.append(f"give user {plan.email} the Frappe password")
            if not dry_run:
                await self._accounts.adopt_password_hash(found.id, plan.password_hash)
        return changes

    async def _apply_client(self, plan: ClientPlan, dry_run: bool, new_secrets: dict[str, str]) -> list[str]:
        record = await self._clients.get(plan.client_id)
        if record is None:
            if not dry_run:
                _, secret = await self._clients.create(plan.changes, client_id=plan.client_id, secret=plan.secret)
                if secret and plan.secret is None:
                    new_secrets[plan.client_id] = secret
            return [f"create client {plan.client_id} ({plan.changes.app_name})"]
        current = record.info
        differing = sorted(
            name
            for name, value in vars(plan.changes).items()
            if value is not None and getattr(current, name, value) != value
        )
        secret_differs = plan.secret is not None and current.secret_digest != token_digest(
            self._digest_key, plan.secret
        )
        changes = [f"update client {plan.client_id}: {', '.join(differing)}"] if differing else []
        if secret_differs:
            changes.append(f"update client {plan.client_id}: the secret Frappe has")
        if not dry_run:
            if differing:
                await self._clients.update(plan.client_id, plan.changes)
            if secret_differs:
                await self._clients.rotate_secret(plan.client_id, secret=plan.secret)
        return changes

    async def _apply_doctype(self, plan: DocTypePlan, dry_run: bool) -> list[str]:
        changes: list[str] = []
        try:
            existing = await self._doctypes.get_doctype(plan.name)
        except NotFound:
            changes.append(f"create doctype {plan.name} ({len(plan.fields)} fields)")
            if not dry_run:
                await self._doctypes.add_doctype(plan.name, plan.fields, plan.description)
        else:
            have = {f.fieldname for f in existing.fields}
            new_fields = [f.fieldname for f in plan.fields if f.fieldname not in have]
            if new_fields:
                # Gatepass does not change a type's fields in place yet; say so rather than pretend.
                changes.append(f"doctype {plan.name} exists: fields {', '.join(new_fields)} NOT added")
        current = {(p.role, p.if_owner): p.actions for p in await self._doctypes.list_permissions(plan.name)}
        for permission in plan.permissions:
            if current.get((permission.role, permission.if_owner)) == permission.actions:
                continue
            owner = " (own documents)" if permission.if_owner else ""
            actions = tuple(action for action in DOCUMENT_ACTIONS if action in permission.actions)
            changes.append(f"set {plan.name} permission: {permission.role}{owner} {', '.join(actions)}")
            if not dry_run:
                await self._doctypes.set_permission(plan.name, permission.role, actions, if_owner=permission.if_owner)
        return changes


def summarise(plan: ImportPlan) -> Sequence[str]:
    """How much the site holds, for the first line of the command's output."""
    return (
        f"{len(plan.roles)} roles",
        f"{len(plan.users)} users",
        f"{len(plan.clients)} OAuth clients",
        f"{len(plan.doctypes)} document types",
    )
