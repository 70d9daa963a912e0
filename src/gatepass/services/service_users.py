"""Service users: whom a client_credentials client's tokens act as (RFC 6749 §4.4).

A client credentials token has no user at the keyboard, so Gatepass lets it act as a user the
admin assigns to the client (its *service user*), with that user's roles. A client with the grant
but no service user could never get a token, so saving one gives it a service user of its own,
the way Keycloak gives each such client a service account:

- named ``service-<client_id>@clients.invalid``: the client_id makes it unique and shows whose it
  is, and ``.invalid`` (RFC 6761 §6.4) can never receive mail, so no login provider can ever
  confirm owning the address and be linked to it;
- without a password, so nobody can log in as it, and without roles, so its tokens may do no
  more than every user may until the admin gives it the roles the integration needs.

Naming another user (``--service-user EMAIL``) instead is always possible, and an explicit attempt
to take the service user away from such a client is refused rather than leaving it broken.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from dataclasses import dataclass

from gatepass.protocol.tokens import new_client_id
from gatepass.protocol.values import GRANT_CLIENT_CREDENTIALS, ClientInfo
from gatepass.services.accounts import AccountError, AccountService
from gatepass.services.clients import ClientChanges, ClientService
from gatepass.services.stores import NotFound

SERVICE_USER_DOMAIN = "clients.invalid"
_UNSAFE_IN_LOCAL_PART = re.compile(r"[^a-z0-9._-]+")


@dataclass(frozen=True)
class SavedClient:
    info: ClientInfo
    #: The new client secret, shown once; None when the change made none.
    secret: str | None
    #: The email of a service user made for this client just now, else None.
    created_service_user: str | None = None


def service_user_email(client_id: str) -> str:
    """The address of the service user made for ``client_id`` (before any suffix against a clash)."""
    local = _UNSAFE_IN_LOCAL_PART.sub("-", client_id.lower()).strip("-.")[:48] or "client"
    return f"service-{local}@{SERVICE_USER_DOMAIN}"


async def create_client(
    clients: ClientService, accounts: AccountService, changes: ClientChanges, *, client_id: str | None = None
) -> SavedClient:
    """Register a client; one with the client_credentials grant and no service user gets its own."""
    if GRANT_CLIENT_CREDENTIALS not in (changes.grant_types or ()) or changes.service_user_email:
        info, secret = await clients.create(changes, client_id=client_id)
        return SavedClient(info, secret)
    # The client is saved first, so that a mistake in it leaves no user behind.
    info, secret = await clients.create(
        dataclasses.replace(changes, service_user_email=None), client_id=client_id or new_client_id()
    )
    info, email = await _give_service_user(clients, accounts, info)
    return SavedClient(info, secret, email)


async def update_client(
    clients: ClientService, accounts: AccountService, client_id: str, changes: ClientChanges
) -> SavedClient:
    """Change a client; refuses to take the service user from a client_credentials client."""
    record = await clients.get(client_id)
    if record is None:
        raise NotFound(f"No client has client_id {client_id}")
    grant_types = record.info.grant_types if changes.grant_types is None else changes.grant_types
    is_unassigning = changes.service_user_email == "" and record.info.service_user_id is not None
    if GRANT_CLIENT_CREDENTIALS in grant_types and is_unassigning:
        raise AccountError(
            "A client with the client_credentials grant acts as its service user and cannot be left without "
            "one: name another service user, or take the client_credentials grant away",
            field="service_user",
        )
    info, secret = await clients.update(client_id, changes)
    if GRANT_CLIENT_CREDENTIALS in info.grant_types and info.service_user_id is None:
        info, email = await _give_service_user(clients, accounts, info)
        return SavedClient(info, secret, email)
    return SavedClient(info, secret)


async def _give_service_user(
    clients: ClientService, accounts: AccountService, info: ClientInfo
) -> tuple[ClientInfo, str]:
    email = service_user_email(info.client_id)
    if await accounts.find_user(email) is not None:
        # Never reuse one: a new client must not inherit the roles given to another.
        email = email.replace("@", f"-{secrets.token_hex(3)}@", 1)
    await accounts.create_user(
        email, None, first_name=info.app_name, last_name="(service user)", is_email_verified=False
    )
    updated, _ = await clients.update(info.client_id, ClientChanges(service_user_email=email))
    return updated, email
