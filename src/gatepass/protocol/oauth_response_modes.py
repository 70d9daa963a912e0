"""Where an authorization response's parameters go: OAuth 2.0 Multiple Response Type Encoding Practices.

The one rule every authorization response follows, success or error: a response that carries tokens
(``token``, ``id_token``) goes in the fragment, so they never reach a server's logs in a query string
(§2.1); ``code`` alone goes in the query; ``response_mode`` overrides the default (§2.1, §5), and
``query`` for a response carrying tokens is refused (authorization.py).
"""

from __future__ import annotations

#: The response types that put tokens in the authorization response.
_TOKEN_BEARING = frozenset({"token", "id_token"})


def returns_tokens(response_type: str) -> bool:
    """Whether the authorization response carries tokens (space-separated response_type, any order)."""
    return bool(_TOKEN_BEARING & set(response_type.split()))


def uses_fragment(response_type: str, response_mode: str | None) -> bool:
    """Whether the response goes in the redirect URI's fragment rather than its query."""
    if response_mode is not None:
        return response_mode == "fragment"
    return returns_tokens(response_type)
