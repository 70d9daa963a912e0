"""The device code grant: a device polls with its device_code until the user decides (RFC 8628 §3.4-3.5).

The steps, in order (each raises or returns):
1. the device_code, known and issued to this client (``invalid_grant``);
2. not expired (``expired_token``), not denied (``access_denied``), not redeemed already (``invalid_grant``);
3. while pending: polled no sooner than the interval after the previous poll (``slow_down``, and the
   interval grows by 5 seconds), else ``authorization_pending``; the poll is noted by a compare-and-set,
   so of two polls at once one is too fast;
4. once approved: redeemed by one conditional UPDATE, so the tokens are issued exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from gatepass.protocol.errors import InvalidGrant
from gatepass.protocol.params import require
from gatepass.protocol.rfc8628_device import (
    SLOW_DOWN_SECONDS,
    AuthorizationPending,
    DeviceAccessDenied,
    ExpiredToken,
    PollingTooFast,
    check_device_code_owner,
    check_poll_timing,
)
from gatepass.protocol.values import GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN, IssuedTokens
from gatepass.services.oauth.grants.users import active_user_of_grant
from gatepass.services.oauth.issuance import TokenIssuer
from gatepass.services.oauth.stores import (
    DEVICE_APPROVED,
    DEVICE_DENIED,
    DEVICE_PENDING,
    DeviceAuthorizationRecord,
    DeviceAuthorizationStore,
)
from gatepass.services.stores import ClientRecord, UserStore


class DeviceCodeGrant:
    grant_type = GRANT_DEVICE_CODE
    parameters = frozenset({"device_code"})

    def __init__(
        self,
        *,
        issuer: TokenIssuer,
        store: DeviceAuthorizationStore,
        users: UserStore,
        clock: Callable[[], datetime],
    ) -> None:
        self._issuer = issuer
        self._store = store
        self._users = users
        self._clock = clock

    async def handle(
        self, client: ClientRecord, form: Mapping[str, str], ip: str | None, *, dpop_jkt: str | None = None
    ) -> IssuedTokens:
        device_code_digest = self._issuer.digest(require(form, "device_code"))
        record = await self._store.get_by_device_code(device_code_digest)
        if record is None:
            raise InvalidGrant("The device_code is invalid")
        check_device_code_owner(record.client_id, client.info.client_id)
        now = self._clock()
        if record.expires_at <= now:
            raise ExpiredToken("The device_code has expired; start again with a new device authorization request")
        if record.status == DEVICE_PENDING:
            record = await self._poll(record, device_code_digest, now)
        if record.status == DEVICE_DENIED:
            raise DeviceAccessDenied("The user denied the authorization request")
        if record.status != DEVICE_APPROVED or not await self._store.redeem(record.id, now):
            raise InvalidGrant("The device_code was used already")
        assert record.user_id is not None
        user = await active_user_of_grant(self._users, record.user_id)
        return await self._issuer.issue(
            client,
            user,
            GRANT_DEVICE_CODE,
            record.scopes,
            auth_time=record.auth_time,
            sid=record.sid,
            amr=record.amr,
            resource=record.resource,
            with_refresh=GRANT_REFRESH_TOKEN in client.info.grant_types,
            with_id_token=True,
            dpop_jkt=dpop_jkt,
            ip=ip,
        )

    async def _poll(
        self, record: DeviceAuthorizationRecord, device_code_digest: str, now: datetime
    ) -> DeviceAuthorizationRecord:
        """A pending authorization's poll raises slow_down when too soon, else authorization_pending; it returns
        the authorization only when the user decided while it was being polled.

        The poll is noted by a compare-and-set on the previous poll's time; one that loses it came at the same
        moment as another, so it is read again and judged (too fast) against that one.
        """
        for _ in range(2):
            raised = check_poll_timing(record.last_polled_at, record.interval_seconds, now)
            if await self._store.note_poll(
                record.id,
                seen_polled_at=record.last_polled_at,
                now=now,
                interval_seconds=raised or record.interval_seconds,
            ):
                if raised is None:
                    raise AuthorizationPending("The user has not yet allowed or denied this device; poll again later")
                raise PollingTooFast(
                    f"Polling too fast; wait {raised} seconds between requests", retry_after_seconds=raised
                )
            again = await self._store.get_by_device_code(device_code_digest)
            if again is None:
                raise InvalidGrant("The device_code is invalid")
            if again.status != DEVICE_PENDING:
                return again
            record = again
        # Polls that keep racing each other are all too fast.
        interval = record.interval_seconds + SLOW_DOWN_SECONDS
        raise PollingTooFast(
            f"Polling too fast; wait {interval} seconds between requests", retry_after_seconds=interval
        )
