"""JSON text from the network, read as I-JSON (RFC 7493) with a nesting limit (RFC 8259 §9).

https://www.rfc-editor.org/rfc/rfc7493 and https://www.rfc-editor.org/rfc/rfc8259

Every JSON value a client sends (a registration body, a document, a filter in a query string, the
payload of an id_token_hint) is parsed here, so that each one is refused the same way and before
any service sees it: too deep, duplicate member names, NaN or Infinity, and strings no database
column can hold (NUL, lone surrogates). The caller turns a JsonTextError into its own error shape.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from gatepass.protocol.params import find_unusable_text

#: Far deeper than any value Gatepass reads (registration metadata and filters nest two or three levels).
MAX_DEPTH = 32

NOT_JSON = "is not valid JSON"

_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEPS = bytes.maketrans(b"[]{}", b"\x02\x00\x02\x00")


class JsonTextError(ValueError):
    """Why the text cannot be used. ``problem`` completes a sentence; ``member`` names where, if known."""

    def __init__(self, problem: str, *, member: str | None = None) -> None:
        super().__init__(f"{member} {problem}" if member else problem)
        self.problem = problem
        self.member = member

    def describe(self, subject: str) -> str:
        """A sentence naming the member if known, else ``subject`` (e.g. "The request body")."""
        return f"{self.member or subject} {self.problem}"


class MalformedJson(JsonTextError):
    """The text is not JSON Gatepass reads at all: not UTF-8, not JSON, or nested too deep."""


class RefusedJsonValue(JsonTextError):
    """The text is JSON, but holds something I-JSON refuses: a repeated member, NaN, an unusable string."""


def _nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects, counted without recursing (the parser recurses)."""
    brackets = _NOT_A_BRACKET.sub("", _STRING_LITERAL.sub("", text))
    # Each opening bracket is +1 and each closing one -1: the largest running sum is the depth.
    steps = brackets.encode("ascii").translate(_DEPTH_STEPS)
    return max(accumulate(step - 1 for step in steps), default=0)


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name, value in pairs:
        # RFC 7493 §2.3: objects MUST NOT have members with duplicate names.
        if name in members:
            raise RefusedJsonValue(f"has the member '{name[:64]}' more than once; send each member once")
        members[name] = value
    return members


def _refuse_constant(name: str) -> Any:
    # RFC 8259 §6: NaN and Infinity are not JSON numbers (Python's parser accepts them unless told not to).
    raise RefusedJsonValue(f"has {name}, which is not a JSON number; send a finite number")


def _member_name(path: tuple[str | int, ...]) -> str | None:
    """``contacts[2]`` or ``a.b``: the place of a value, as a client would write it."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else part)
    return name or None


def _check_strings(value: Any) -> None:
    """RFC 7493 §2.1: no lone surrogates; and no NUL, which PostgreSQL text cannot hold."""
    pending: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            problem = find_unusable_text(item)
            if problem:
                raise RefusedJsonValue(f"contains {problem}, which no value may hold", member=_member_name(path))
        elif isinstance(item, dict):
            for name, member in item.items():
                problem = find_unusable_text(name)
                if problem:
                    raise RefusedJsonValue(f"has a member name with {problem}", member=_member_name(path))
                pending.append(((*path, name), member))
        elif isinstance(item, list):
            pending.extend(((*path, index), element) for index, element in enumerate(item))


def parse_json_text(text: str | bytes, *, max_depth: int = MAX_DEPTH, is_text_checked: bool = True) -> Any:
    """The value of ``text``; raises MalformedJson or RefusedJsonValue, saying what to fix.

    ``is_text_checked=False`` leaves strings to a caller that checks each value it keeps and names
    its field in its own words.
    """
    if isinstance(text, bytes):
        try:
            # RFC 7493 §2.1: I-JSON text MUST be encoded in UTF-8.
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedJson("is not UTF-8; encode the JSON text as UTF-8") from None
    # Count first only when the text could be deep at all: most texts have a few brackets.
    if text.count("[") + text.count("{") > max_depth and _nesting_depth(text) > max_depth:
        # RFC 8259 §9: a parser may limit nesting; Python's would otherwise hit its recursion limit.
        raise MalformedJson(f"nests arrays and objects more than {max_depth} levels deep")
    try:
        value = json.loads(text, object_pairs_hook=_unique_members, parse_constant=_refuse_constant)
    except JsonTextError:
        raise
    except (ValueError, RecursionError):
        raise MalformedJson(NOT_JSON) from None
    # NUL and lone surrogates come only from \u escapes (or from text that already held them).
    if is_text_checked and ("\\u" in text or find_unusable_text(text)):
        _check_strings(value)
    return value
