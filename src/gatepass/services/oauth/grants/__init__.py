"""The grants of the token endpoint, one module each: its ``grant_type``, the parameters it reads, its ``handle()``.

A new grant (token exchange, JWT bearer) is a new module here and one line in the
composition root that registers it with the token endpoint.
"""

from __future__ import annotations

from gatepass.services.oauth.grants.authorization_code import AuthorizationCodeGrant
from gatepass.services.oauth.grants.client_credentials import ClientCredentialsGrant
from gatepass.services.oauth.grants.device_code import DeviceCodeGrant
from gatepass.services.oauth.grants.refresh_token import RefreshTokenGrant
from gatepass.services.oauth.grants.token_exchange import TokenExchangeGrant

__all__ = [
    "AuthorizationCodeGrant",
    "ClientCredentialsGrant",
    "DeviceCodeGrant",
    "RefreshTokenGrant",
    "TokenExchangeGrant",
]
