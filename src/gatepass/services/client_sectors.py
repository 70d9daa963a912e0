"""A client's subject type and sector (OpenID Connect Core 1.0 §8.1; Dynamic Client Registration 1.0 §2, §5):
checked whenever a client is saved, its sector identifier document read when what it vouches for changes.

https://openid.net/specs/openid-connect-registration-1_0.html#SectorIdentifierValidation
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from gatepass.protocol.errors import OAuthError
from gatepass.protocol.oidc.pairwise import (
    SUBJECT_PAIRWISE,
    SUBJECT_TYPES,
    check_sector_document,
    sector_identifier,
)
from gatepass.protocol.values import ClientInfo
from gatepass.services.accounts import AccountError
from gatepass.services.client_documents import UnreadableDocument, fetch_client_json

MAX_SECTOR_DOCUMENT_BYTES = 64 * 1024
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def is_https_or_loopback(uri: str) -> bool:
    """https, or http to this machine only (a client's server under test)."""
    parts = urlsplit(uri)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)


async def settle_subject_type(before: ClientInfo, info: ClientInfo) -> ClientInfo:
    """``info`` with the sector its pairwise subs are made for (None when public), or AccountError.

    The sector identifier document is read when the client is made pairwise or its URI or redirect URIs
    change, not on every save: disabling a client must not wait on the client's own server.
    """
    if info.subject_type not in SUBJECT_TYPES:
        raise AccountError("The subject type must be public or pairwise", field="subject_type")
    uri = info.sector_identifier_uri
    if uri is not None and (not is_https_or_loopback(uri) or len(uri) > 2048):
        raise AccountError(
            "The sector identifier URI must be an https URL (http only on this machine)", field="sector_identifier_uri"
        )
    if info.subject_type != SUBJECT_PAIRWISE:
        return dataclasses.replace(info, pairwise_sector=None)
    try:
        sector = sector_identifier(sector_identifier_uri=uri, redirect_uris=info.redirect_uris)
        vouched = (before.subject_type, before.sector_identifier_uri, before.redirect_uris)
        if uri is not None and vouched != (info.subject_type, uri, info.redirect_uris):
            await _check_sector_document(uri, info)
    except OAuthError as exc:
        raise AccountError(exc.description, field="sector_identifier_uri") from None
    return dataclasses.replace(info, pairwise_sector=sector)


async def _check_sector_document(uri: str, info: ClientInfo) -> None:
    try:
        document = await fetch_client_json(uri, max_bytes=MAX_SECTOR_DOCUMENT_BYTES)
    except UnreadableDocument as exc:
        raise AccountError(
            f"The sector identifier URI {uri} could not be read: {exc}", field="sector_identifier_uri"
        ) from None
    check_sector_document(document, sector_identifier_uri=uri, redirect_uris=info.redirect_uris)
