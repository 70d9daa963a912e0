"""OpenID Connect Core §8.1 and Registration §5: the sector of a pairwise client, and its sector document."""

from __future__ import annotations

import pytest

from gatepass.protocol.errors import InvalidClientMetadata
from gatepass.protocol.oidc.pairwise import check_sector_document, sector_identifier

SHOP = "https://shop.example/callback"
SHOP_ADMIN = "https://admin.shop-tools.example/callback"
SECTOR_URI = "https://shop.example/sector.json"


@pytest.mark.parametrize(
    ("sector_uri", "redirects", "sector"),
    [
        (None, (SHOP,), "shop.example"),
        (None, (SHOP, "https://shop.example:8443/other"), "shop.example"),
        (None, ("http://127.0.0.1:9999/callback",), "127.0.0.1"),
        (SECTOR_URI, (SHOP, SHOP_ADMIN), "shop.example"),
        ("https://Sector.Example/doc.json", (SHOP,), "sector.example"),
    ],
    ids=["one-host", "one-host-two-ports", "loopback", "sector-uri-host", "host-lower-cased"],
)
def test_the_sector_is_the_host_of_the_sector_uri_else_of_the_redirect_uris(
    sector_uri: str | None, redirects: tuple[str, ...], sector: str
) -> None:
    assert sector_identifier(sector_identifier_uri=sector_uri, redirect_uris=redirects) == sector


@pytest.mark.parametrize(
    ("sector_uri", "redirects", "says"),
    [
        (
            None,
            (SHOP, SHOP_ADMIN),
            "The redirect URIs are on several hosts (admin.shop-tools.example, shop.example): a pairwise client with "
            "them needs a sector_identifier_uri listing them all (OpenID Connect Core, section 8.1)",
        ),
        (None, (), "A pairwise client needs a redirect URI or a sector_identifier_uri to take its sector from"),
        (
            None,
            ("com.example.app:/callback",),
            "'com.example.app:/callback' has no host to take a sector from; register a sector_identifier_uri",
        ),
    ],
    ids=["several-hosts", "no-redirect-uri", "private-use-scheme"],
)
def test_a_pairwise_client_without_one_sector_is_refused(
    sector_uri: str | None, redirects: tuple[str, ...], says: str
) -> None:
    with pytest.raises(InvalidClientMetadata) as refused:
        sector_identifier(sector_identifier_uri=sector_uri, redirect_uris=redirects)
    assert refused.value.description == says


def test_a_sector_document_listing_every_redirect_uri_and_more_is_accepted() -> None:
    document = [SHOP_ADMIN, "https://elsewhere.example/cb", SHOP]
    check_sector_document(document, sector_identifier_uri=SECTOR_URI, redirect_uris=(SHOP, SHOP_ADMIN))


@pytest.mark.parametrize(
    ("document", "says"),
    [
        (
            [SHOP],
            f"The document at sector_identifier_uri {SECTOR_URI} does not list the redirect URI {SHOP_ADMIN}; "
            "list every redirect URI of the client there",
        ),
        (
            {"redirect_uris": [SHOP, SHOP_ADMIN]},
            f"The sector_identifier_uri {SECTOR_URI} must answer a JSON array of redirect URIs",
        ),
        ([SHOP, SHOP_ADMIN, 7], f"The sector_identifier_uri {SECTOR_URI} must answer a JSON array of redirect URIs"),
        (
            [SHOP.upper(), SHOP_ADMIN],
            f"The document at sector_identifier_uri {SECTOR_URI} does not list the redirect URI {SHOP}; list every redirect URI of the client there",
        ),
    ],
    ids=["a-redirect-uri-missing", "an-object", "not-all-strings", "compared-exactly"],
)
def test_a_sector_document_that_does_not_vouch_for_every_redirect_uri_is_refused(document: object, says: str) -> None:
    with pytest.raises(InvalidClientMetadata) as refused:
        check_sector_document(document, sector_identifier_uri=SECTOR_URI, redirect_uris=(SHOP, SHOP_ADMIN))
    assert refused.value.description == says
