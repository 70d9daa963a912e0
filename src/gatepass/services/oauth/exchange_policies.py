"""Token exchange policies (RFC 8693): which client may exchange which tokens, for whom, for which audience.

An admin manages them with ``gatepass exchange-policy add|list|remove``. Adding a policy also allows the
client the token-exchange grant, so one command turns an exchange on; no policy, no exchange.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from gatepass.protocol.errors import OAuthError
from gatepass.protocol.params import parse_scope
from gatepass.protocol.rfc8693_token_exchange import AUDIENCE_MAX_LENGTH, SUBJECT_TOKEN_TYPES, ExchangePolicy
from gatepass.protocol.values import GRANT_TOKEN_EXCHANGE
from gatepass.services import audit
from gatepass.services.accounts import AccountError
from gatepass.services.clients import ClientChanges, ClientService


@dataclass(frozen=True)
class ExchangeRecord:
    """What an exchanged grant came from, and who acts in it (None: impersonation)."""

    grant_id: int
    subject_token_type: str
    subject_client_id: str
    act: Mapping[str, Any] | None


class TokenExchangeStore(Protocol):
    async def policies_of(self, client_id: str) -> list[ExchangePolicy]: ...
    async def list_policies(self) -> list[ExchangePolicy]: ...

    async def add_policy(self, policy: ExchangePolicy, now: datetime) -> None:
        """Raises Conflict when the client has a policy for this audience already."""
        ...

    async def remove_policy(self, client_id: str, audience: str) -> bool: ...
    async def add_exchange(self, record: ExchangeRecord, now: datetime) -> None: ...

    async def get_exchange(self, grant_id: int) -> ExchangeRecord | None:
        """The grant's exchange record; None for a grant that was not issued by an exchange."""
        ...


class ExchangePolicyService:
    def __init__(
        self, store: TokenExchangeStore, clients: ClientService, audit_log: audit.Audit, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._clients = clients
        self._audit = audit_log
        self._clock = clock

    async def list(self, *, client_id: str | None = None) -> list[ExchangePolicy]:
        """Every policy, or those of one exchanging client."""
        if client_id is not None:
            return await self._store.policies_of(client_id)
        return await self._store.list_policies()

    async def add(self, policy: ExchangePolicy) -> ExchangePolicy:
        """Check every part of the policy, store it, and allow its client the token-exchange grant.

        With no subject clients named, the client may exchange only tokens issued to itself.
        """
        if not policy.subject_client_ids:
            policy = dataclasses.replace(policy, subject_client_ids=(policy.client_id,))
        if "://" in policy.audience:
            # A resource URI is compared without its trailing slash, as RFC 8707 resources are.
            policy = dataclasses.replace(policy, audience=policy.audience.rstrip("/"))
        client = await self._clients.get(policy.client_id)
        if client is None:
            raise AccountError(f"No client is registered with client_id '{policy.client_id}'", field="client_id")
        if client.info.is_public:
            raise AccountError("A public client cannot exchange tokens: it cannot prove who it is", field="client_id")
        _check_audience(policy.audience)
        unknown_types = [name for name in policy.subject_token_types if name not in SUBJECT_TOKEN_TYPES]
        if not policy.subject_token_types or unknown_types:
            raise AccountError(
                f"Subject token types must be among {', '.join(SUBJECT_TOKEN_TYPES)}", field="subject_token_types"
            )
        if not policy.actor_client_ids and not policy.allow_impersonation:
            raise AccountError(
                "Name the actor clients that may act for the user, or allow impersonation", field="actor_client_ids"
            )
        await self._check_clients_exist(policy.subject_client_ids, "subject_client_ids")
        await self._check_clients_exist(policy.actor_client_ids, "actor_client_ids")
        try:
            if not policy.scopes or parse_scope(" ".join(policy.scopes)) != policy.scopes:
                raise AccountError("Name each scope the exchanged tokens may have, once", field="scopes")
        except OAuthError as exc:
            raise AccountError(exc.description, field="scopes") from None
        if GRANT_TOKEN_EXCHANGE not in client.info.grant_types:
            await self._clients.update(
                policy.client_id, ClientChanges(grant_types=(*client.info.grant_types, GRANT_TOKEN_EXCHANGE))
            )
        await self._store.add_policy(policy, self._clock())
        await self._audit.record(audit.EXCHANGE_POLICY_ADDED, client_id=policy.client_id, **_policy_detail(policy))
        return policy

    async def remove(self, client_id: str, audience: str) -> bool:
        removed = await self._store.remove_policy(client_id, audience)
        if removed:
            await self._audit.record(audit.EXCHANGE_POLICY_REMOVED, client_id=client_id, audience=audience)
        return removed

    async def _check_clients_exist(self, client_ids: Sequence[str], field: str) -> None:
        for client_id in client_ids:
            if await self._clients.get(client_id) is None:
                raise AccountError(f"No client is registered with client_id '{client_id}'", field=field)


def _check_audience(audience: str) -> None:
    if not audience.strip() or audience != audience.strip():
        raise AccountError("The audience must be a name or URI without surrounding spaces", field="audience")
    if len(audience) > AUDIENCE_MAX_LENGTH:
        raise AccountError(f"The audience is longer than {AUDIENCE_MAX_LENGTH} characters", field="audience")
    if "#" in audience:
        raise AccountError("The audience must not contain a fragment (#)", field="audience")


def _policy_detail(policy: ExchangePolicy) -> dict[str, Any]:
    return {
        "audience": policy.audience,
        "subject_token_types": list(policy.subject_token_types),
        "subject_client_ids": list(policy.subject_client_ids),
        "actor_client_ids": list(policy.actor_client_ids),
        "allow_impersonation": policy.allow_impersonation,
        "scope": " ".join(policy.scopes),
    }
