"""Pushed authorization requests (RFC 9126): what a push may carry and when its request_uri may be used.

https://www.rfc-editor.org/rfc/rfc9126

The push is validated as the authorization request it stands for (RFC 9126 §2.1), by the same rules
as the authorization endpoint (``rfc6749/authorization.py``); this module adds what PAR itself asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from gatepass.protocol.errors import InvalidRequest, InvalidRequestUri
from gatepass.protocol.values import ClientInfo

#: RFC 9126 §2.2: the request_uri is a URN of this form with an unguessable reference.
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"

#: Parameters that authenticate the client at the push (RFC 6749 §2.3, RFC 7523 §2.2): they say who
#: pushed, they are not part of the authorization request, and a secret must never be stored with it.
CLIENT_AUTHENTICATION_PARAMETERS = frozenset({"client_secret", "client_assertion", "client_assertion_type"})


def build_request_uri(reference: str) -> str:
    return REQUEST_URI_PREFIX + reference


def parse_request_uri(value: str) -> str:
    """The reference inside a request_uri this server issued; InvalidRequestUri for any other value."""
    reference = value.removeprefix(REQUEST_URI_PREFIX)
    if reference == value or not reference:
        raise InvalidRequestUri(
            f"request_uri must be a value this server returned from its pushed authorization request "
            f"endpoint ({REQUEST_URI_PREFIX}...)"
        )
    return reference


def build_pushed_params(form: Mapping[str, str], client_id: str) -> dict[str, str]:
    """The authorization request in a push from the authenticated ``client_id``: the form without the
    client's credentials, and with its client_id even when it authenticated by HTTP Basic."""
    # RFC 9126 §2.1: request_uri MUST NOT be provided in the push.
    if "request_uri" in form:
        raise InvalidRequest("request_uri cannot be pushed; push the authorization request's own parameters")
    params = {name: value for name, value in form.items() if name not in CLIENT_AUTHENTICATION_PARAMETERS}
    params["client_id"] = client_id
    return params


def is_par_required(client: ClientInfo, *, is_required_for_every_client: bool) -> bool:
    """RFC 9126 §4 (and §5, §6 for the metadata): the server or the client's registration may make PAR the
    only way to send this client's authorization requests."""
    return is_required_for_every_client or client.require_pushed_authorization_requests


def check_request_uri_usable(
    *, pushed_by: str, presented_by: str | None, expires_at: datetime, consumed_at: datetime | None, now: datetime
) -> None:
    """A stored push may be used by the client that pushed it, once, before it expires (RFC 9126 §4)."""
    if presented_by is None:
        # RFC 9126 §4: the authorization request carries client_id beside request_uri.
        raise InvalidRequest("Missing required parameter 'client_id': send it with request_uri")
    # RFC 9126 §2.1: the request_uri is bound to the client that pushed it.
    if presented_by != pushed_by:
        raise InvalidRequestUri("This request_uri was pushed by another client")
    if consumed_at is not None:
        raise request_uri_used_already()
    if now >= expires_at:
        raise InvalidRequestUri("This request_uri expired; push the authorization request again and use it at once")


def request_uri_used_already() -> InvalidRequestUri:
    # RFC 9126 §4: a request_uri is single-use, since what it stands for (the PKCE challenge) is.
    return InvalidRequestUri(
        "This request_uri was used already; each is good for one authorization request, so push the request again"
    )
