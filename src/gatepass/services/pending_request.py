"""The authorization request the endpoint acts on, and the form the browser carries it in through login
and consent: as it came; for a pushed request (RFC 9126 §4), as a sealed reference to it; for a request
object (RFC 9101), as the parameters it carried, sealed, so that nothing the browser changes counts and
the object need not be checked again after it expired.

A request_uri is single-use and short-lived, but a person may take minutes to log in and consent. So
its one use keeps the pushed request on the server for that time, and the browser carries, beside
client_id, a reference to it sealed (encrypted and authenticated with a key of this server's): the
pushed parameters never travel through the browser, whatever their size, and nothing the browser
adds to the reference counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from gatepass.protocol.errors import InvalidRequestObject, InvalidRequestUri
from gatepass.protocol.oidc.prompt import after_forced_login
from gatepass.protocol.rfc9101_request_object import check_request_parameters
from gatepass.protocol.rfc9126_par import (
    REQUEST_URI_PREFIX,
    check_request_uri_usable,
    parse_request_uri,
    request_uri_used_already,
)
from gatepass.protocol.tokens import token_digest
from gatepass.services.crypto import InstanceKeys
from gatepass.services.oauth.request_objects import RequestObjectReader
from gatepass.services.stores import PushedRequestStore

#: The field that carries a pushed request, once its request_uri is used, through login and consent.
PUSHED_REQUEST_FIELD = "pushed_request"
#: The field that carries the parameters of a verified request object through login and consent.
SIGNED_REQUEST_FIELD = "signed_request"
#: How long a used request_uri's request may take to get through login and consent: a person's time,
#: long enough to reset a password, short enough that a link to it soon goes stale.
PUSHED_REQUEST_INTERACTION_SECONDS = 1800


@dataclass(frozen=True)
class PendingRequest:
    """An authorization request as the endpoint acts on it (``params``), and as the browser carries it
    to come back (``carried``)."""

    params: Mapping[str, str]
    carried: Mapping[str, str]
    #: For a pushed request, the digest it is stored under.
    pushed_digest: str | None = None
    #: The parameters came in a request object the client signed (RFC 9101), at this endpoint or pushed.
    is_signed: bool = False

    @property
    def is_pushed(self) -> bool:
        return self.pushed_digest is not None


class PendingRequests:
    def __init__(
        self,
        *,
        pushed: PushedRequestStore,
        request_objects: RequestObjectReader,
        keys: InstanceKeys,
        clock: Callable[[], datetime],
    ) -> None:
        self._pushed = pushed
        self._request_objects = request_objects
        self._keys = keys
        self._clock = clock

    async def resolve(self, params: Mapping[str, str]) -> PendingRequest:
        """The parameters to act on. A request_uri is used up here, once, and only its pushed parameters
        count: anything sent beside it but client_id is ignored (RFC 9126 §4). So it is with a request object:
        only its parameters count (RFC 9101 §6.3)."""
        check_request_parameters(params)
        if PUSHED_REQUEST_FIELD in params:
            return await self._open(params)
        if SIGNED_REQUEST_FIELD in params:
            return self._open_signed(params)
        if "request" in params:
            signed = await self._request_objects.read_at_authorization(params)
            return PendingRequest(signed, self._seal_signed(signed), is_signed=True)
        if not params.get("request_uri", "").startswith(REQUEST_URI_PREFIX):
            # Any other request_uri names a request object by reference (OIDC Core §6.2), refused with the request.
            return PendingRequest(params, params)
        digest = token_digest(self._keys.digest_key, parse_request_uri(params["request_uri"]))
        pushed = await self._pushed.get_pushed_request(digest)
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
        kept_until = now + timedelta(seconds=PUSHED_REQUEST_INTERACTION_SECONDS)
        # Of two tabs racing with one request_uri, the conditional update lets one through.
        if not await self._pushed.consume_pushed_request(pushed.id, now, kept_until):
            raise request_uri_used_already()
        return PendingRequest(
            pushed.parameters,
            self._seal(digest, pushed.client_id, is_logged_in_again=False),
            digest,
            is_signed=pushed.is_signed,
        )

    def after_login(self, pending: PendingRequest, *, is_forced: bool) -> Mapping[str, str]:
        """What the browser carries back from the login page; after a forced login, without what the login
        just satisfied (asking again would loop)."""
        if not is_forced:
            return pending.carried
        if pending.is_signed and pending.pushed_digest is None:
            return self._seal_signed(after_forced_login(dict(pending.params)))
        if pending.pushed_digest is None:
            return after_forced_login(dict(pending.params))
        return self._seal(pending.pushed_digest, pending.params["client_id"], is_logged_in_again=True)

    def _seal(self, digest: str, client_id: str, *, is_logged_in_again: bool) -> dict[str, str]:
        reference = {"digest": digest, "client_id": client_id, "is_logged_in_again": is_logged_in_again}
        return {"client_id": client_id, PUSHED_REQUEST_FIELD: self._keys.seal(json.dumps(reference), self._clock())}

    def _seal_signed(self, params: Mapping[str, str]) -> dict[str, str]:
        return {
            "client_id": params["client_id"],
            SIGNED_REQUEST_FIELD: self._keys.seal(json.dumps(params), self._clock()),
        }

    def _open_signed(self, params: Mapping[str, str]) -> PendingRequest:
        sealed = params[SIGNED_REQUEST_FIELD]
        try:
            signed = json.loads(
                self._keys.unseal(sealed, self._clock(), max_age_seconds=PUSHED_REQUEST_INTERACTION_SECONDS)
            )
        except ValueError:
            raise InvalidRequestObject(
                "This sign-in request has expired or was altered; go back to the app and start again"
            ) from None
        if signed.get("client_id") != params.get("client_id"):
            raise InvalidRequestObject(
                "This sign-in request belongs to another app; go back to the app and start again"
            )
        return PendingRequest(signed, {"client_id": signed["client_id"], SIGNED_REQUEST_FIELD: sealed}, is_signed=True)

    async def _open(self, params: Mapping[str, str]) -> PendingRequest:
        sealed = params[PUSHED_REQUEST_FIELD]
        now = self._clock()
        try:
            reference = json.loads(self._keys.unseal(sealed, now, max_age_seconds=PUSHED_REQUEST_INTERACTION_SECONDS))
        except ValueError:
            reference = None
        pushed = await self._pushed.get_pushed_request(reference["digest"]) if reference else None
        if reference is None or pushed is None or now >= pushed.expires_at:
            raise InvalidRequestUri(
                "This sign-in request has expired or was altered; go back to the app and start again"
            )
        if pushed.client_id != params.get("client_id"):
            raise InvalidRequestUri("This sign-in request belongs to another app; go back to the app and start again")
        pushed_params = after_forced_login(pushed.parameters) if reference["is_logged_in_again"] else pushed.parameters
        carried = {"client_id": pushed.client_id, PUSHED_REQUEST_FIELD: sealed}
        return PendingRequest(pushed_params, carried, reference["digest"], is_signed=pushed.is_signed)
