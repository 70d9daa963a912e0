"""Authorization server issuer identification (RFC 9207, https://www.rfc-editor.org/rfc/rfc9207).

Every authorization response, success or error, carries ``iss`` so a client talking to several
servers can reject a mix-up (RFC 9207 §2, RFC 9700 §4.4).
"""

from __future__ import annotations


def with_issuer(params: dict[str, str], issuer: str) -> dict[str, str]:
    return {**params, "iss": issuer}
