"""How the user authenticated, as an id_token says it (amr, acr), and when a request asks for more.

OpenID Connect Core 1.0 §2 (acr, amr), §3.1.2.1 (acr_values), §5.5.1.1 (an essential acr claim request),
https://openid.net/specs/openid-connect-core-1_0.html; the amr values of RFC 8176 §2.

Two classes of authentication context, one per number of factors:
``urn:gatepass:acr:pwd`` (one factor: a password, or a login at a trusted provider) and
``urn:gatepass:acr:mfa`` (a second factor on top: a code from an authenticator app or a recovery code).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from gatepass.protocol.errors import AccessDenied, InvalidRequest, LoginRequired

ACR_ONE_FACTOR = "urn:gatepass:acr:pwd"
ACR_TWO_FACTORS = "urn:gatepass:acr:mfa"
#: Weakest first: a request naming several is met by the weakest of them (§3.1.2.1: any one will do).
ACR_VALUES = (ACR_ONE_FACTOR, ACR_TWO_FACTORS)

#: RFC 8176 §2: a password; a federated login (another provider vouched for the user); a one-time
#: password; more than one factor.
AMR_PASSWORD = "pwd"
AMR_FEDERATED = "fed"
AMR_ONE_TIME_PASSWORD = "otp"
AMR_MULTIPLE_FACTORS = "mfa"
#: RFC 8176 §2: the methods a provider may report that are a second factor, or say there were several.
_SECOND_FACTORS = frozenset({AMR_ONE_TIME_PASSWORD, "hwk", "swk", "sms", "tel", AMR_MULTIPLE_FACTORS})
#: Every value RFC 8176 §2 registers: a provider's other values are not passed on.
_REGISTERED_AMR = frozenset(
    {"face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin", "pwd", "rba", "retina", "sc", "sms",
     "swk", "tel", "user", "vbm", "wia"}
)  # fmt: skip


def has_second_factor(amr: Sequence[str]) -> bool:
    return any(method in _SECOND_FACTORS for method in amr)


def federated_amr(upstream: object, *, is_trusted: bool) -> tuple[str, ...]:
    """A login through another provider: ``fed``, then, when the admin trusts the provider's word, the
    registered methods its id_token's amr names (at most six, so the session can keep them)."""
    if not is_trusted or not isinstance(upstream, list):
        return (AMR_FEDERATED,)
    named = [method for method in upstream if isinstance(method, str) and method in _REGISTERED_AMR]
    return (AMR_FEDERATED, *list(dict.fromkeys(named))[:6])


def amr_claim(amr: Sequence[str]) -> list[str]:
    """The id_token's amr: the methods used, and ``mfa`` when a second factor was among them (RFC 8176 §2)."""
    methods = list(dict.fromkeys(amr))
    if has_second_factor(methods) and AMR_MULTIPLE_FACTORS not in methods:
        methods.append(AMR_MULTIPLE_FACTORS)
    return methods


def acr_of(amr: Sequence[str]) -> str:
    return ACR_TWO_FACTORS if has_second_factor(amr) else ACR_ONE_FACTOR


def parse_acr_request(acr_values: str | None, claims: str | None) -> tuple[tuple[str, ...], bool]:
    """The acr values asked for, in order of preference, and whether they are essential.

    An acr requested in the ``claims`` parameter (§5.5.1.1, for the id_token) takes precedence over
    ``acr_values``, which only ever asks voluntarily (§3.1.2.1). Other members of ``claims`` are read
    as nothing more: claims are released by scope.
    """
    requested = tuple(value for value in (acr_values or "").split(" ") if value)
    if claims is None:
        return requested, False
    try:
        document = json.loads(claims)
    except ValueError:
        raise InvalidRequest("claims must be a JSON object") from None
    if not isinstance(document, dict) or not isinstance(document.get("id_token", {}), dict):
        raise InvalidRequest("claims must be a JSON object whose id_token member is an object")
    acr = document.get("id_token", {}).get("acr")
    if acr is None:
        return requested, False
    if not isinstance(acr, dict):
        raise InvalidRequest("claims.id_token.acr must be null or an object")
    values = acr.get("values", [acr["value"]] if "value" in acr else [])
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise InvalidRequest("claims.id_token.acr values must be a list of strings")
    return (tuple(values) or requested), acr.get("essential") is True


def required_acr(requested: Sequence[str], *, is_essential: bool) -> str | None:
    """The class the login must reach for this request; None when any login will do.

    Unknown values are ignored when asked voluntarily; asked as essential, none of them can be met, which
    §5.5.1.1 makes a failed authentication.
    """
    known = [value for value in ACR_VALUES if value in requested]
    if not known:
        if is_essential and requested:
            raise AccessDenied(f"None of the essential acr values can be met; supported: {' '.join(ACR_VALUES)}")
        return None
    return known[0]


def meets(amr: Sequence[str], acr: str) -> bool:
    """Whether a login authenticated by ``amr`` is of class ``acr`` or stronger."""
    return ACR_VALUES.index(acr_of(amr)) >= ACR_VALUES.index(acr)


def needs_second_factor(
    requested: Sequence[str], *, is_essential: bool, amr: Sequence[str], prompt: frozenset[str]
) -> bool:
    """Whether the logged-in user must show a second factor now (step-up) before the request goes on.

    Raises LoginRequired for prompt=none (§3.1.2.1: no page may be shown), AccessDenied for an essential
    acr nobody can meet.
    """
    acr = required_acr(requested, is_essential=is_essential)
    if acr is None or meets(amr, acr):
        return False
    if "none" in prompt:
        raise LoginRequired("The app asks for a login with a second factor, which this login did not have")
    return True
