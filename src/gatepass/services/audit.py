"""Named audit events, kept in the database and written to the structured log."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from gatepass.services.stores import AuditRecord, AuditStore

LOGIN_SUCCEEDED = "login.succeeded"
LOGIN_FAILED = "login.failed"
LOGIN_LOCKED = "login.locked"
LOGOUT = "logout"
CONSENT_GRANTED = "consent.granted"
CONSENT_DENIED = "consent.denied"
TOKEN_ISSUED = "token.issued"
TOKEN_REFRESHED = "token.refreshed"
TOKEN_REVOKED = "token.revoked"
# Token exchange (RFC 8693, services/oauth/grants/token_exchange.py): a token issued for a subject token, with
# the audience, the subject's and the actor's clients; an admin added or removed an exchange policy.
TOKEN_EXCHANGED = "token.exchanged"
EXCHANGE_POLICY_ADDED = "exchange_policy.added"
EXCHANGE_POLICY_REMOVED = "exchange_policy.removed"
CODE_REUSED = "code.reused"
REFRESH_REUSED = "refresh.reused"
CLIENT_CREATED = "client.created"
CLIENT_UPDATED = "client.updated"
CLIENT_SECRET_ROTATED = "client.secret_rotated"
CLIENT_DELETED = "client.deleted"
# A client switched off or on: every grant it held is revoked either way (services/clients.py).
CLIENT_DISABLED = "client.disabled"
CLIENT_ENABLED = "client.enabled"
# A wrong PKCE code_verifier: the code is burnt (services/oauth/grants/authorization_code.py).
CODE_VERIFIER_FAILED = "code.verifier_failed"
USER_CREATED = "user.created"
USER_UPDATED = "user.updated"
ACCESS_REVOKED = "access.revoked"
# Logging in through another provider (services/social_login.py, services/providers.py).
PROVIDER_CREATED = "provider.created"
PROVIDER_UPDATED = "provider.updated"
PROVIDER_DELETED = "provider.deleted"
SOCIAL_LOGIN_FAILED = "social_login.failed"
IDENTITY_LINKED = "identity.linked"
ROLES_SYNCED = "user.roles_synced"
# Lockouts and password changes (services/accounts.py): a lockout began for one address ("source")
# or for the email everywhere ("account"); a password was changed by the user, an admin or the CLI.
LOGIN_LOCKOUT = "login.lockout"
PASSWORD_CHANGED = "user.password_changed"
# Links by mail (services/mail_links.py): a reset link was sent (never recorded for an unknown email, but
# the answer is the same either way), an address was verified; login sessions ended from a list
# (services/browser_sessions.py), by their user or an admin.
PASSWORD_RESET_REQUESTED = "user.password_reset_requested"
EMAIL_VERIFICATION_SENT = "user.email_verification_sent"
EMAIL_VERIFIED = "user.email_verified"
SESSIONS_ENDED = "user.sessions_ended"
# The device grant (RFC 8628, services/oauth/device.py): a device asked for codes; on /device a user allowed or
# denied one, or presented a user code that matches no waiting device (how guessing shows).
DEVICE_AUTHORIZATION_STARTED = "device.started"
DEVICE_APPROVED = "device.approved"
DEVICE_DENIED = "device.denied"
DEVICE_USER_CODE_FAILED = "device.user_code_failed"
# A client pushed an authorization request (RFC 9126, services/oauth/par.py), in a signed request object or not.
PAR_PUSHED = "par.pushed"
# Back-channel logout (services/backchannel_logout.py): logout tokens queued for clients, each accepted by its
# client, or given up after the last attempt (with the last error).
BACKCHANNEL_LOGOUT_QUEUED = "backchannel_logout.queued"
BACKCHANNEL_LOGOUT_DELIVERED = "backchannel_logout.delivered"
BACKCHANNEL_LOGOUT_ABANDONED = "backchannel_logout.abandoned"
# Second factors (services/second_factors.py): a wrong or reused code at login or step-up; a code accepted;
# an authenticator app added or removed by its owner; recovery codes made again; every factor of a user
# removed by an admin or the CLI.
LOGIN_SECOND_FACTOR_FAILED = "login.second_factor_failed"
LOGIN_SECOND_FACTOR_SUCCEEDED = "login.second_factor_succeeded"
SECOND_FACTOR_ADDED = "user.second_factor_added"
SECOND_FACTOR_REMOVED = "user.second_factor_removed"
RECOVERY_CODES_RENEWED = "user.recovery_codes_renewed"
FACTORS_RESET = "user.factors_reset"
# Passkeys (services/passkeys.py; added and removed are the second-factor events above, method "passkey"): a
# login with one, as second factor or passwordless; a refusal (replayed, unknown or removed passkey, no user
# verification, a bad signature); a signature counter that went backwards (a cloned authenticator, maybe).
LOGIN_PASSKEY_SUCCEEDED = "login.passkey_succeeded"
LOGIN_PASSKEY_FAILED = "login.passkey_failed"
PASSKEY_COUNTER_WENT_BACK = "user.passkey_counter_went_back"

_log = logging.getLogger("gatepass.audit")

#: Who makes the changes of the current request or command ("admin:<email>", "cli:<account>"); every
#: event recorded meanwhile carries it as ``actor``, so no code path can forget to say who it was.
_actor: ContextVar[str | None] = ContextVar("gatepass_audit_actor", default=None)
#: The address the actor's request came from, for the events that do not name one themselves.
_actor_ip: ContextVar[str | None] = ContextVar("gatepass_audit_actor_ip", default=None)


@contextlib.contextmanager
def acting_as(actor: str, *, ip: str | None = None) -> Iterator[None]:
    """Attribute every audit event recorded inside the block to ``actor`` (and, unless it names another
    address, to the actor's ``ip``)."""
    token, ip_token = _actor.set(actor), _actor_ip.set(ip)
    try:
        yield
    finally:
        _actor_ip.reset(ip_token)
        _actor.reset(token)


class Audit:
    def __init__(
        self,
        store: AuditStore,
        clock: Callable[[], datetime],
        observe: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._observe = observe

    async def record(
        self,
        event: str,
        *,
        user_id: int | None = None,
        client_id: str | None = None,
        ip: str | None = None,
        **detail: Any,
    ) -> None:
        record = self.prepare(event, user_id=user_id, client_id=client_id, ip=ip, **detail)
        await self._store.add_event(record)
        self.announce(record)

    def prepare(
        self,
        event: str,
        *,
        user_id: int | None = None,
        client_id: str | None = None,
        ip: str | None = None,
        **detail: Any,
    ) -> AuditRecord:
        """An event to be written by a store in the same transaction as what it records (then ``announce`` it)."""
        actor = _actor.get()
        if actor is not None:
            detail.setdefault("actor", actor)
            ip = ip if ip is not None else _actor_ip.get()
        return AuditRecord(self._clock(), event, user_id, client_id, ip, detail)

    def announce(self, record: AuditRecord) -> None:
        """Log and count an event once it is written."""
        _log.info(
            record.event,
            extra={
                "audit": {
                    "event": record.event,
                    "user_id": record.user_id,
                    "client_id": record.client_id,
                    "ip": record.ip,
                    **record.detail,
                }
            },
        )
        if self._observe is not None:
            self._observe(record.event, record.detail)

    async def list_events(
        self,
        *,
        limit: int = 200,
        event: str | None = None,
        user_id: int | None = None,
        client_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AuditRecord]:
        """The newest events first, filtered; ``since`` is inclusive and ``until`` exclusive."""
        return await self._store.list_events(
            limit=limit, event=event, user_id=user_id, client_id=client_id, since=since, until=until
        )

    async def list_event_names(self) -> list[str]:
        """Every event name recorded so far (for the admin console's filter)."""
        return await self._store.list_event_names()
