"""Request parameters: one value each, empty means absent, scope syntax checked.

RFC 6749 §3.1: parameters sent without a value are treated as omitted; request and response
parameters MUST NOT be included more than once. §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from gatepass.protocol.errors import InvalidRequest, InvalidScope

_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
MAX_PARAM_LENGTH = 4096
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def find_unusable_text(text: str) -> str | None:
    """What makes ``text`` unusable as any value, or None.

    A NUL cannot be stored in PostgreSQL text, and a lone surrogate cannot be encoded as UTF-8
    (RFC 3629 §3); no identifier, name or secret holds either, so they are refused wherever they come in.
    """
    if "\x00" in text:
        return "a NUL character"
    if _SURROGATE.search(text):
        return "a lone surrogate (U+D800 to U+DFFF)"
    return None


def parse_params(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Pairs from a query string or form body → a dict, rejecting repeats (RFC 6749 §3.1)."""
    params: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in pairs:
        if name in seen:
            raise InvalidRequest(f"Parameter '{name}' was sent more than once; send it once")
        seen.add(name)
        if len(value) > MAX_PARAM_LENGTH:
            raise InvalidRequest(f"Parameter '{name}' is longer than {MAX_PARAM_LENGTH} characters")
        # No OAuth parameter value contains control characters (RFC 6749 Appendix A: VSCHAR and friends).
        if _CONTROL.search(value) or _CONTROL.search(name):
            raise InvalidRequest(f"Parameter '{_CONTROL.sub('?', name)}' contains control characters")
        if _SURROGATE.search(value) or _SURROGATE.search(name):
            raise InvalidRequest(f"Parameter '{_SURROGATE.sub('?', name)}' contains a lone surrogate; send UTF-8 text")
        if value != "":
            params[name] = value
    return params


def require(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if value is None:
        raise InvalidRequest(f"Missing required parameter '{name}'")
    return value


def parse_scope(text: str | None) -> tuple[str, ...]:
    """A space-delimited scope string → its tokens, in order, without repeats (RFC 6749 §3.3)."""
    if text is None:
        return ()
    tokens: list[str] = []
    for token in text.split(" "):
        if token == "":
            continue
        if not _SCOPE_TOKEN.match(token):
            raise InvalidScope(f"Scope '{token}' has characters that RFC 6749 section 3.3 does not allow")
        if token not in tokens:
            tokens.append(token)
    return tuple(tokens)


def format_scope(scopes: Iterable[str]) -> str:
    return " ".join(scopes)
