"""Which claims each scope releases (OpenID Connect Core §5.4, and Frappe's roles)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gatepass.protocol.oidc.claims import claims_for_scopes, frappe_profile_scopes

ISSUER = "https://id.example"


@dataclass(frozen=True)
class Someone:
    sub: str = "u-1"
    full_name: str = "Ada Lovelace"
    first_name: str = "Ada"
    last_name: str = "Lovelace"
    picture_url: str | None = "/files/ada.png"
    email: str = "ada@example.com"
    is_email_verified: bool = True
    roles: tuple[str, ...] = ("Accounts User", "System Manager")


@pytest.mark.parametrize(
    ("scopes", "expected_keys"),
    [
        (frozenset({"openid"}), {"sub"}),
        (frozenset({"openid", "profile"}), {"sub", "name", "given_name", "family_name", "picture"}),
        (frozenset({"openid", "email"}), {"sub", "email", "email_verified"}),
        (frozenset({"openid", "roles"}), {"sub", "roles"}),
        (frozenset({"all"}), {"sub"}),
    ],
)
def test_each_scope_releases_its_claims_and_no_other(scopes: frozenset[str], expected_keys: set[str]) -> None:
    assert set(claims_for_scopes(Someone(), ISSUER, scopes)) == expected_keys


def test_the_values_are_the_users_and_a_relative_picture_is_made_absolute() -> None:
    claims = claims_for_scopes(Someone(), ISSUER, frozenset({"profile", "email", "roles"}))
    assert claims == {
        "sub": "u-1",
        "name": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "picture": "https://id.example/files/ada.png",
        "email": "ada@example.com",
        "email_verified": True,
        "roles": ["Accounts User", "System Manager"],
    }


def test_an_absolute_picture_is_kept_and_no_picture_gives_no_claim() -> None:
    absolute = claims_for_scopes(Someone(picture_url="https://cdn.example/a.png"), ISSUER, frozenset({"profile"}))
    assert absolute["picture"] == "https://cdn.example/a.png"
    assert "picture" not in claims_for_scopes(Someone(picture_url=None), ISSUER, frozenset({"profile"}))


@pytest.mark.parametrize(
    ("scopes", "is_frappe_legacy", "released"),
    [
        (("openid",), False, {"profile", "email", "roles"}),
        (("openid", "all"), True, {"profile", "email", "roles"}),
        (("all",), True, {"profile", "email", "roles"}),
        (("all",), False, set()),
        (("email",), False, set()),
    ],
    ids=["openid", "openid-legacy", "legacy-without-openid", "all-only", "email-without-openid"],
)
def test_frappes_whole_profile_goes_with_openid_or_a_frappe_legacy_client(
    scopes: tuple[str, ...], is_frappe_legacy: bool, released: set[str]
) -> None:
    assert frappe_profile_scopes(scopes, is_frappe_legacy=is_frappe_legacy) == released
