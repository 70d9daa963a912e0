"""The authorization code grant: a code redeemed once for tokens (RFC 6749 §4.1.3, RFC 7636 §4.5-4.6).

The code is consumed in the transaction that writes its grant, so of two concurrent redemptions
one wins; a code redeemed a second time revokes every grant issued from it (RFC 6749 §4.1.2).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from gatepass.protocol.params import require
from gatepass.protocol.rfc6749.authorization_code import CodeReused, CodeVerifierFailed, check_code_redemption
from gatepass.protocol.rfc8707_resource import check_token_resource
from gatepass.protocol.rfc9449_dpop import check_bound_key
from gatepass.protocol.values import GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN, IssuedTokens
from gatepass.services import audit
from gatepass.services.oauth.grants.users import active_user_of_grant
from gatepass.services.oauth.issuance import TokenIssuer
from gatepass.services.oauth.stores import GrantTokenStore
from gatepass.services.stores import ClientRecord, CodeStore, UserStore


class AuthorizationCodeGrant:
    grant_type = GRANT_AUTHORIZATION_CODE
    #: ``scope`` is accepted and not used: the code carries its scopes, and clients written for
    #: providers that want it here (oauthlib's, for one) send it anyway.
    parameters = frozenset({"code", "redirect_uri", "code_verifier", "resource", "scope"})

    def __init__(
        self,
        *,
        issuer: TokenIssuer,
        codes: CodeStore,
        tokens: GrantTokenStore,
        users: UserStore,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
    ) -> None:
        self._issuer = issuer
        self._codes = codes
        self._tokens = tokens
        self._users = users
        self._audit = audit_log
        self._clock = clock

    async def handle(
        self, client: ClientRecord, form: Mapping[str, str], ip: str | None, *, dpop_jkt: str | None = None
    ) -> IssuedTokens:
        code = require(form, "code")
        now = self._clock()
        record = await self._codes.get_code(self._issuer.digest(code))
        try:
            check_code_redemption(
                record,
                client_id=client.info.client_id,
                redirect_uri=form.get("redirect_uri"),
                code_verifier=form.get("code_verifier"),
                now=now,
            )
            assert record is not None
            check_bound_key(record.dpop_jkt, dpop_jkt, what="This code")
            user = await active_user_of_grant(self._users, record.user_id)
            # RFC 6749 §4.1.2: single use. The code is consumed in the transaction that writes its grant
            # (one conditional update decides a race), so a second redemption always finds that grant.
            return await self._issuer.issue(
                client,
                user,
                GRANT_AUTHORIZATION_CODE,
                record.scopes,
                code_id=record.code_id,
                nonce=record.nonce,
                auth_time=record.auth_time,
                amr=record.amr,
                sid=record.sid,
                # RFC 8707 §2.2: the token request may repeat the authorized resource, not change it.
                resource=check_token_resource(form.get("resource"), record.resource),
                with_refresh=GRANT_REFRESH_TOKEN in client.info.grant_types,
                with_id_token=True,
                dpop_jkt=dpop_jkt,
                ip=ip,
            )
        except CodeVerifierFailed:
            assert record is not None
            # RFC 7636 §4.6 says invalid_grant; consuming the code as well leaves whoever holds a stolen code
            # one guess at the verifier. One conditional update: a concurrent redemption still decides alone.
            await self._codes.consume_code(record.code_id, now)
            await self._audit.record(
                audit.CODE_VERIFIER_FAILED, user_id=record.user_id, client_id=client.info.client_id, ip=ip
            )
            raise
        except CodeReused:
            assert record is not None
            revoked = await self._tokens.revoke_grants_from_code(record.code_id, now)
            await self._audit.record(
                audit.CODE_REUSED,
                user_id=record.user_id,
                client_id=client.info.client_id,
                ip=ip,
                grants_revoked=revoked,
            )
            raise
