"""Logging in through another provider ("Log in with …"): this server as an OpenID Connect
relying party, through Authlib's async client. The only package that talks HTTP to providers.
"""

from gatepass.rp.errors import (
    AccessDenied,
    ClientSecretRejected,
    ClientUnknown,
    DiscoveryInvalid,
    IdTokenInvalid,
    IssuerUnreachable,
    ProfileInvalid,
    ProviderRefused,
    RedirectUriNotRegistered,
)
from gatepass.rp.flow import CheckLine, RelyingParty

__all__ = [
    "AccessDenied",
    "CheckLine",
    "ClientSecretRejected",
    "ClientUnknown",
    "DiscoveryInvalid",
    "IdTokenInvalid",
    "IssuerUnreachable",
    "ProfileInvalid",
    "ProviderRefused",
    "RedirectUriNotRegistered",
    "RelyingParty",
]
