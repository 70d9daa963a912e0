"""Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3).

The method used must be the one the client registered; a client must not use more than one
method in a request (§2.3). Basic credentials are form-urlencoded before base64 (§2.3.1).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

from gatepass.protocol.errors import InvalidClient, InvalidRequest
from gatepass.protocol.tokens import constant_time_equals, token_digest
from gatepass.protocol.values import (
    AUTH_BASIC,
    AUTH_CLIENT_SECRET_JWT,
    AUTH_NONE,
    AUTH_POST,
    AUTH_PRIVATE_KEY_JWT,
    ClientInfo,
)

_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str | None
    method: str  # client_secret_basic | client_secret_post | none


def parse_client_credentials(authorization: str | None, form: Mapping[str, str]) -> ClientCredentials:
    """Extract who the client claims to be; raises InvalidClient/InvalidRequest when unusable."""
    form_id, form_secret = form.get("client_id"), form.get("client_secret")
    if authorization and authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidClient(
                "The Basic Authorization header is not valid base64 of client_id:client_secret"
            ) from None
        if ":" not in decoded:
            raise InvalidClient("The Basic Authorization header must hold client_id:client_secret")
        raw_id, raw_secret = decoded.split(":", 1)
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if _CONTROL_CHARACTER.search(client_id) or _CONTROL_CHARACTER.search(secret):
            raise InvalidClient("The Basic Authorization header contains control characters")
        if form_secret is not None:
            raise InvalidRequest("Send the client secret in the Authorization header or the body, not both")
        if form_id is not None and form_id != client_id:
            raise InvalidRequest("client_id in the body differs from the one in the Authorization header")
        if not client_id:
            raise InvalidClient("The Basic Authorization header has an empty client_id")
        return ClientCredentials(client_id, secret, AUTH_BASIC)
    if form_id is None:
        raise InvalidClient(
            "Client authentication is required: send client_id (and client_secret) by HTTP Basic or in the body"
        )
    if form_secret is not None:
        return ClientCredentials(form_id, form_secret, AUTH_POST)
    return ClientCredentials(form_id, None, AUTH_NONE)


#: One answer for an unknown client_id and a wrong secret (both are RFC 6749 §5.2 invalid_client), so that
#: the endpoint tells nobody which client_ids exist.
AUTHENTICATION_FAILED = "Client authentication failed: unknown client or wrong client_secret"


def check_client_authentication(
    credentials: ClientCredentials, client: ClientInfo | None, digest_key: bytes
) -> ClientInfo:
    """The client is known, enabled, and authenticated as registered.

    The secret is checked before anything that depends on what the client is (its method, whether it is
    disabled), so a caller without the secret learns no more from a known client_id than from an unknown one.
    """
    # Digested whatever the client, so that an unknown client_id takes as long as a wrong secret.
    presented = token_digest(digest_key, credentials.client_secret or "")
    if client is None:
        raise InvalidClient(AUTHENTICATION_FAILED, detail=f"unknown client_id={credentials.client_id}")
    registered = client.token_endpoint_auth_method
    if registered == AUTH_NONE:
        if credentials.client_secret:
            raise InvalidClient("This is a public client: send client_id only, without a client_secret")
        _check_enabled(client)
        return client
    if registered in (AUTH_PRIVATE_KEY_JWT, AUTH_CLIENT_SECRET_JWT):
        # Like the line below, says only what any caller could learn by sending client_id alone.
        raise InvalidClient(
            f"This client is registered for {registered}: authenticate with a signed client_assertion "
            "(client_assertion_type urn:ietf:params:oauth:client-assertion-type:jwt-bearer), not a client_secret"
        )
    if credentials.method == AUTH_NONE:
        raise InvalidClient(f"This client must authenticate with {registered}: the client_secret is missing")
    expected = client.secret_digest
    if expected is None or not constant_time_equals(presented, expected):
        raise InvalidClient(AUTHENTICATION_FAILED, detail=f"wrong client_secret for client_id={client.client_id}")
    if credentials.method != registered and not (
        client.is_frappe_legacy and credentials.method in (AUTH_BASIC, AUTH_POST)
    ):
        raise InvalidClient(_wrong_method_description(registered, credentials.method))
    _check_enabled(client)
    return client


_WHERE_THE_SECRET_GOES = {
    AUTH_BASIC: "in an HTTP Basic Authorization header",
    AUTH_POST: "in the form body",
}


def _wrong_method_description(registered: str, used: str) -> str:
    """Says both ways out: the app sends the secret as registered, or an admin changes the registration.

    Libraries decide where the secret goes (requests-oauthlib puts it in the body on refresh, Basic on the
    code exchange), so the one who reads this is often unable to change the app and needs the switch.
    """
    return (
        f"This client is registered for {registered}, but the request used {used}. "
        f"Send client_id and client_secret {_WHERE_THE_SECRET_GOES[registered]}, or change the client's "
        f"token_endpoint_auth_method: gatepass client update <client_id> --auth-method {used} "
        "(or --frappe-legacy to accept both), the console's field How a confidential client sends its secret, "
        f"or a new dynamic registration with token_endpoint_auth_method {used}"
    )


def _check_enabled(client: ClientInfo) -> None:
    if not client.is_enabled:
        raise InvalidClient("Client authentication failed: the client is disabled")
