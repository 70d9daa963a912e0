"""Who may do what with a document type: token scopes first, then role permissions.

The issue's rule (and the unfinished plan in Frappe's OAuth thread): the effective right is the
token's scopes intersected with the user's role permissions, the scope checked first.

- Scopes: ``all`` covers every action on every type; a document scope covers its type and its
  actions; nothing else covers anything. Session cookies and API keys carry ``all``.
- Roles: every user holds the automatic role ``All`` (Frappe's); System Manager may do
  everything. A permission row grants actions on every document, or only on the user's own
  when marked ``if_owner``; an unconditional grant wins over an owner-only one.
"""

from __future__ import annotations

import enum

from gatepass.protocol.errors import InsufficientScope
from gatepass.protocol.values import Principal
from gatepass.services.accounts import SYSTEM_MANAGER
from gatepass.services.document_errors import DocumentPermissionError
from gatepass.services.stores import DocumentAccess, DocumentScopeRecord

ALL_SCOPE = "all"
#: Frappe's automatic role: every signed-in user holds it.
EVERYONE_ROLE = "All"


class Right(enum.Enum):
    NONE = "none"
    OWN = "own"
    ALL = "all"


def covering_scopes(access: DocumentAccess, action: str) -> list[DocumentScopeRecord]:
    """The document scopes that allow ``action`` on this type, narrowest first."""
    found = [scope for scope in access.scopes if scope.doctype == access.doctype.name and action in scope.actions]
    return sorted(found, key=lambda scope: (len(scope.actions), scope.name))


def check_scope(principal: Principal, access: DocumentAccess, action: str) -> None:
    """RFC 6750 §3.1: a token whose scope does not cover the request gets insufficient_scope."""
    if principal.has_scope(ALL_SCOPE):
        return
    covering = covering_scopes(access, action)
    if any(principal.has_scope(scope.name) for scope in covering):
        return
    needed = covering[0].name if covering else ALL_SCOPE
    alternatives = "" if needed == ALL_SCOPE else f" (or '{ALL_SCOPE}')"
    raise InsufficientScope(
        f"The access token's scopes do not allow {action} on {access.doctype.name}; "
        f"it needs the scope '{needed}'{alternatives}",
        scope=needed,
    )


def right_of(access: DocumentAccess, action: str) -> Right:
    """What the user's roles allow for ``action``: nothing, their own documents, or every document."""
    roles = {*access.roles, EVERYONE_ROLE}
    if SYSTEM_MANAGER in roles:
        return Right.ALL
    rows = [row for row in access.permissions if row.role in roles and action in row.actions]
    if any(not row.if_owner for row in rows):
        return Right.ALL
    return Right.OWN if rows else Right.NONE


def require_right(access: DocumentAccess, action: str) -> Right:
    """The right for ``action``, or a PermissionError saying the roles do not allow it."""
    right = right_of(access, action)
    if right is Right.NONE:
        raise DocumentPermissionError(
            f"Not permitted: your roles do not allow {action} on {access.doctype.name} documents"
        )
    return right
