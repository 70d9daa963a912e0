"""Token revocation requests (RFC 7009, https://www.rfc-editor.org/rfc/rfc7009)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gatepass.protocol.errors import UnsupportedTokenType
from gatepass.protocol.params import require

TOKEN_TYPE_HINTS = ("access_token", "refresh_token")


@dataclass(frozen=True)
class TokenLookup:
    token: str
    hint: str | None


def parse_token_lookup(params: Mapping[str, str], *, is_hint_strict: bool = True) -> TokenLookup:
    """RFC 7009 §2.1 / RFC 7662 §2.1: ``token`` plus an optional ``token_type_hint``.

    Introspection passes ``is_hint_strict=False``: RFC 7662 §2.1 lets the server ignore hints.
    """
    token = require(params, "token")
    hint = params.get("token_type_hint")
    if hint is not None and hint not in TOKEN_TYPE_HINTS:
        if not is_hint_strict:
            return TokenLookup(token, None)
        # RFC 7009 §2.2.1: unsupported_token_type for hints the server does not know.
        raise UnsupportedTokenType(f"token_type_hint '{hint}' is not supported; use access_token or refresh_token")
    return TokenLookup(token, hint)
