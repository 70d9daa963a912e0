"""The pure rules behind role sync and the role map, table-driven, plus the rp package's public names."""

from __future__ import annotations

import pytest

import gatepass.rp
from gatepass.services.accounts import AccountError
from gatepass.services.providers import parse_role_map
from gatepass.services.social_login import sync_roles

MAP = (("editor", "Editor"), ("auditor", "Reviewer"), ("staff", "Editor"))


@pytest.mark.parametrize(
    ("current", "remote", "mode", "expected"),
    [
        ((), ("editor",), "replace", ("Editor",)),
        (("Editor", "Local"), (), "replace", ("Local",)),
        (("Editor", "Local"), ("staff",), "replace", ("Editor", "Local")),
        (("Reviewer",), ("editor", "unmapped"), "replace", ("Editor",)),
        (("Editor",), ("auditor",), "merge", ("Editor", "Reviewer")),
        (("Editor",), (), "merge", ("Editor",)),
        (("Editor",), ("auditor",), "off", ("Editor",)),
        (("Editor",), None, "replace", ("Editor",)),
    ],
    ids=[
        "replace-grants-mapped",
        "replace-removes-mapped-keeps-local",
        "replace-two-remote-to-one-local",
        "replace-ignores-unmapped-remote",
        "merge-adds",
        "merge-never-removes",
        "off-changes-nothing",
        "no-roles-claim-changes-nothing",
    ],
)
def test_sync_roles(
    current: tuple[str, ...], remote: tuple[str, ...] | None, mode: str, expected: tuple[str, ...]
) -> None:
    assert sync_roles(current, remote, MAP, mode) == expected


def test_role_map_takes_pairs_and_bare_names() -> None:
    assert parse_role_map(("a=B", " c ", "a=B")) == (("a", "B"), ("c", "c"))
    with pytest.raises(AccountError, match="write REMOTE=LOCAL"):
        parse_role_map(("a=",))


def test_rp_exports_are_pinned() -> None:
    assert gatepass.rp.__all__ == sorted(gatepass.rp.__all__)
    assert gatepass.rp.__all__ == [
        "AccessDenied",
        "CheckLine",
        "ClientSecretRejected",
        "ClientUnknown",
        "DiscoveryInvalid",
        "IdTokenInvalid",
        "IssuerUnreachable",
        "ProfileInvalid",
        "ProviderRefused",
        "RedirectUriNotRegistered",
        "RelyingParty",
    ]
