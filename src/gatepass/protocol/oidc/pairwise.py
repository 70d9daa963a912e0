"""Pairwise subject identifiers: the sector a client belongs to and its sector document (OpenID Connect
Core 1.0 §8, §8.1; OpenID Connect Dynamic Client Registration 1.0 §2, §5).

https://openid.net/specs/openid-connect-core-1_0.html#PairwiseAlg

A pairwise client is told a ``sub`` computed from its sector, so clients of different sectors cannot
match their users by it. The keyed hash itself is services/subjects.py; this module decides the sector.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from gatepass.protocol.errors import InvalidClientMetadata

SUBJECT_PUBLIC = "public"
SUBJECT_PAIRWISE = "pairwise"
SUBJECT_TYPES = (SUBJECT_PUBLIC, SUBJECT_PAIRWISE)


def _host(uri: str) -> str:
    host = urlsplit(uri).hostname
    if not host:
        raise InvalidClientMetadata(f"'{uri}' has no host to take a sector from; register a sector_identifier_uri")
    return host


def sector_identifier(*, sector_identifier_uri: str | None, redirect_uris: Sequence[str]) -> str:
    """Core §8.1: the host of the sector_identifier_uri when there is one, else the one host of the redirect URIs.

    Redirect URIs on several hosts without a sector_identifier_uri have no sector: refused, since picking
    one host would give the client different subjects depending on a choice nobody made.
    """
    if sector_identifier_uri is not None:
        return _host(sector_identifier_uri)
    hosts = sorted({_host(uri) for uri in redirect_uris})
    if not hosts:
        raise InvalidClientMetadata(
            "A pairwise client needs a redirect URI or a sector_identifier_uri to take its sector from"
        )
    if len(hosts) > 1:
        raise InvalidClientMetadata(
            f"The redirect URIs are on several hosts ({', '.join(hosts)}): a pairwise client with them needs a "
            "sector_identifier_uri listing them all (OpenID Connect Core, section 8.1)"
        )
    return hosts[0]


def check_sector_document(document: object, *, sector_identifier_uri: str, redirect_uris: Sequence[str]) -> None:
    """Registration §5: the document is a JSON array of redirect URIs holding every one the client registers."""
    if not isinstance(document, list) or not all(isinstance(item, str) for item in document):
        raise InvalidClientMetadata(
            f"The sector_identifier_uri {sector_identifier_uri} must answer a JSON array of redirect URIs"
        )
    missing = [uri for uri in redirect_uris if uri not in document]
    if missing:
        raise InvalidClientMetadata(
            f"The document at sector_identifier_uri {sector_identifier_uri} does not list the redirect URI "
            f"{missing[0]}; list every redirect URI of the client there"
        )
