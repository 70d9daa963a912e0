"""The authorization request the endpoint acts on, and the form the browser carries it in through login
and consent: as it came, or, for a pushed request (RFC 9126 §4), sealed once its request_uri is used.

A request_uri is single-use and short-lived, but a person may take minutes to log in and consent. So
its one use turns it into the pushed parameters, sealed (encrypted and authenticated with a key of
this server's) in one field beside client_id; the login page's return address and the consent form
carry that seal, and nothing the browser adds to it counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from gatepass.protocol.errors import InvalidRequestUri
from gatepass.protocol.oidc.prompt import after_forced_login
from gatepass.protocol.rfc9126_par import (
    REQUEST_URI_PREFIX,
    check_request_uri_usable,
    parse_request_uri,
    request_uri_used_already,
)
from gatepass.protocol.tokens import token_digest
from gatepass.services.crypto import InstanceKeys
from gatepass.services.stores import PushedRequestStore

#: The field that carries a pushed request, once its request_uri is used, through login and consent.
PUSHED_REQUEST_FIELD = "pushed_request"
#: How long a used request_uri's request may take to get through login and consent: a person's time,
#: long enough to reset a password, short enough that a link to it soon goes stale.
PUSHED_REQUEST_INTERACTION_SECONDS = 1800


@dataclass(frozen=True)
class PendingRequest:
    """An authorization request as the endpoint acts on it (``params``), and as the browser carries it
    to come back (``carried``)."""

    params: Mapping[str, str]
    carried: Mapping[str, str]
    is_pushed: bool = False


class PendingRequests:
    def __init__(self, *, pushed: PushedRequestStore, keys: InstanceKeys, clock: Callable[[], datetime]) -> None:
        self._pushed = pushed
        self._keys = keys
        self._clock = clock

    async def resolve(self, params: Mapping[str, str]) -> PendingRequest:
        """The parameters to act on. A request_uri is used up here, once, and only its pushed parameters
        count: anything sent beside it but client_id is ignored (RFC 9126 §4)."""
        if PUSHED_REQUEST_FIELD in params:
            return self._open(params)
        if not params.get("request_uri", "").startswith(REQUEST_URI_PREFIX):
            # Any other request_uri names a request object by reference (OIDC Core §6.2), refused with the request.
            return PendingRequest(params, params)
        reference = parse_request_uri(params["request_uri"])
        pushed = await self._pushed.get_pushed_request(token_digest(self._keys.digest_key, reference))
        if pushed is None:
            raise InvalidRequestUri(
                "This request_uri is unknown: it was never issued here or expired long ago; push the request again"
            )
        now = self._clock()
        check_request_uri_usable(
            pushed_by=pushed.client_id,
            presented_by=params.get("client_id"),
            expires_at=pushed.expires_at,
            consumed_at=pushed.consumed_at,
            now=now,
        )
        # Of two tabs racing with one request_uri, the conditional update lets one through.
        if not await self._pushed.consume_pushed_request(pushed.id, now):
            raise request_uri_used_already()
        return PendingRequest(pushed.parameters, self._seal(pushed.parameters), is_pushed=True)

    def after_login(self, pending: PendingRequest, *, is_forced: bool) -> Mapping[str, str]:
        """What the browser carries back from the login page; after a forced login, without what the login
        just satisfied (asking again would loop)."""
        if not is_forced:
            return pending.carried
        again = after_forced_login(dict(pending.params))
        return self._seal(again) if pending.is_pushed else again

    def _seal(self, pushed: Mapping[str, str]) -> dict[str, str]:
        sealed = self._keys.seal(json.dumps(dict(pushed), separators=(",", ":")), self._clock())
        return {"client_id": pushed["client_id"], PUSHED_REQUEST_FIELD: sealed}

    def _open(self, params: Mapping[str, str]) -> PendingRequest:
        sealed = params[PUSHED_REQUEST_FIELD]
        try:
            opened = self._keys.unseal(sealed, self._clock(), max_age_seconds=PUSHED_REQUEST_INTERACTION_SECONDS)
        except ValueError:
            raise InvalidRequestUri(
                "This sign-in request has expired or was altered; go back to the app and start again"
            ) from None
        pushed: dict[str, str] = json.loads(opened)
        if pushed["client_id"] != params.get("client_id"):
            raise InvalidRequestUri("This sign-in request belongs to another app; go back to the app and start again")
        return PendingRequest(pushed, {"client_id": pushed["client_id"], PUSHED_REQUEST_FIELD: sealed}, is_pushed=True)
