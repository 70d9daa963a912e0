"""The pushed authorization request endpoint (RFC 9126 §2): a client posts its authorization request
and gets a short-lived, single-use request_uri to send the browser with instead.

The steps, in order (each raises or returns):
1. the client, authenticated as at the token endpoint (``invalid_client``);
2. the parameters: those of its signed request object when it sent one (RFC 9126 §3, RFC 9101;
   ``invalid_request_object``), else the form without the client's credentials and without a request_uri
   (``invalid_request``, also for a client that must sign its requests);
3. the request, validated as the authorization endpoint validates it before any page (RFC 9126 §2.1);
4. the request stored under the digest of the request_uri's random reference, and ``par.pushed`` audited.

An admin's "try it" (console and CLI) for a client that must use PAR takes steps 3 and 4 on the
client's behalf.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from gatepass.protocol.errors import InvalidRequest
from gatepass.protocol.fapi2_security_profile import request_uri_lifetime_seconds
from gatepass.protocol.rfc9101_request_object import check_request_parameters
from gatepass.protocol.rfc9126_par import build_pushed_params, build_request_uri, is_par_required
from gatepass.protocol.rfc9449_dpop import bind_pushed_params
from gatepass.protocol.tokens import new_token
from gatepass.protocol.values import ClientInfo
from gatepass.services import audit
from gatepass.services.authorize import AuthorizeService
from gatepass.services.client_trial import TrialAuthorization
from gatepass.services.oauth.client_auth import ClientAuthenticator
from gatepass.services.oauth.dpop import DpopVerifier
from gatepass.services.oauth.request_objects import RequestObjectReader
from gatepass.services.stores import NewPushedRequest, PushedRequestStore


@dataclass(frozen=True)
class PushedRequest:
    """RFC 9126 §2.2: the answer to a push."""

    request_uri: str
    expires_in: int


class PushedAuthorizationEndpoint:
    def __init__(
        self,
        *,
        clients: ClientAuthenticator,
        authorize: AuthorizeService,
        store: PushedRequestStore,
        request_objects: RequestObjectReader,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
        ttl_seconds: int,
        dpop: DpopVerifier,
        is_required_for_every_client: bool = False,
    ) -> None:
        self._dpop = dpop
        self._is_required_for_every_client = is_required_for_every_client
        self._request_objects = request_objects
        self._audit = audit_log
        self._clients = clients
        self._authorize = authorize
        self._store = store
        self._clock = clock
        self._ttl_seconds = ttl_seconds

    async def push(
        self, form: Mapping[str, str], authorization: str | None, *, dpop_headers: Sequence[str] = (), uri: str = ""
    ) -> PushedRequest:
        """``dpop_headers`` and ``uri``: a DPoP proof sent with the push binds the code to its key (RFC 9449 §10.1)."""
        client = await self._clients.authenticate_client(form, authorization)
        check_request_parameters(form)
        is_signed = "request" in form
        if is_signed:
            # RFC 9126 §3 with RFC 9101 §6.3: only the object's parameters count, not those beside it.
            params = await self._request_objects.read(form["request"], client)
        elif client.info.require_signed_request_object:
            raise InvalidRequest(
                "This client must send its authorization requests as a signed request object, in the request "
                "parameter (RFC 9101)"
            )
        else:
            params = build_pushed_params(form, client.info.client_id)
        proof = await self._dpop.check(dpop_headers, method="POST", uri=uri)
        if proof is not None:
            params = bind_pushed_params(params, proof.jkt)
        pushed = await self._add(client.info, params, is_signed=is_signed)
        await self._audit.record(audit.PAR_PUSHED, client_id=client.info.client_id, signed=is_signed)
        return pushed

    async def push_trial(self, client: ClientInfo, trial: TrialAuthorization) -> TrialAuthorization:
        """An admin's "try it" request for a client that must use PAR, pushed on the client's behalf (the
        admin may act for any client, so without its secret), with the URL of its request_uri."""
        if not is_par_required(client, is_required_for_every_client=self._is_required_for_every_client):
            return trial
        pushed = await self._add(client, build_pushed_params(trial.authorization_params, client.client_id))
        endpoint = trial.authorization_url.split("?", 1)[0]
        query = urlencode({"client_id": client.client_id, "request_uri": pushed.request_uri})
        return dataclasses.replace(
            trial, authorization_url=f"{endpoint}?{query}", request_uri_expires_in=pushed.expires_in
        )

    async def _add(self, client: ClientInfo, params: dict[str, str], *, is_signed: bool = False) -> PushedRequest:
        self._authorize.check_pushed_request(params, client)
        reference = new_token()
        now = self._clock()
        ttl_seconds = request_uri_lifetime_seconds(client, self._ttl_seconds)
        await self._store.add_pushed_request(
            NewPushedRequest(
                reference_digest=self._clients.digest(reference),
                client_id=client.client_id,
                parameters=params,
                created_at=now,
                expires_at=now + timedelta(seconds=ttl_seconds),
                is_signed=is_signed,
            )
        )
        return PushedRequest(build_request_uri(reference), ttl_seconds)
