"""The client credentials grant (RFC 6749 §4.4).

The token acts as the service user an administrator assigned to the client, with that user's
roles, so the document API applies the same permission model as for people.
"""

from __future__ import annotations

from gatepass.protocol.errors import InvalidScope, UnauthorizedClient
from gatepass.protocol.values import GRANT_CLIENT_CREDENTIALS, ClientInfo


def check_client_credentials_grant(client: ClientInfo, requested_scopes: tuple[str, ...]) -> tuple[str, ...]:
    # RFC 6749 §4.4: confidential clients only.
    if client.is_public:
        raise UnauthorizedClient("Public clients cannot use the client_credentials grant")
    if GRANT_CLIENT_CREDENTIALS not in client.grant_types:
        raise UnauthorizedClient("This client is not allowed to use the client_credentials grant")
    if client.service_user_id is None:
        raise UnauthorizedClient(
            "This client has no service user; an administrator must assign one "
            "(gatepass client update CLIENT_ID --service-user EMAIL)"
        )
    if not requested_scopes:
        return tuple(scope for scope in client.scopes if scope != "openid")
    extra = [scope for scope in requested_scopes if scope not in client.scopes]
    if extra:
        raise InvalidScope(f"Scope '{extra[0]}' is not registered for this client")
    return requested_scopes
