"""Fixtures of the document API tests: per backend, a document type with one scope per action.

Shared by the whole session (CLI calls are slow); tests that change permissions put them back.
"""

from __future__ import annotations

import pytest
from api_support import ACTIONS, ScopedWorld, add_scope, api_user, suffix

from support.server import LiveServer


@pytest.fixture(scope="session")
def world(server: LiveServer) -> ScopedWorld:
    tag = suffix()
    doctype = f"Memo{tag}"
    server.cli("doctype", "add", doctype, "--field", "title:Data:required", "--field", "body:Text")
    server.cli("permission", "set", doctype, "All", "--read", "--write", "--create", "--delete", "--if-owner")
    scopes = {action: f"memo{tag}.{action}" for action in ACTIONS}
    for action, name in scopes.items():
        add_scope(server, name, doctype, action, title=f"{action.title()} your memos")
    other_scope = f"todo{tag}.all"
    add_scope(server, other_scope, "ToDo", *ACTIONS, title="Everything on your to-dos")
    registered = ("all", other_scope, *scopes.values())
    return ScopedWorld(
        server,
        doctype,
        scopes,
        other_scope,
        owner=api_user(server, scopes=registered),
        other=api_user(server, scopes=registered),
        manager=api_user(server, scopes=registered, roles=("System Manager",)),
    )
