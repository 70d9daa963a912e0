"""What can go wrong between this server and the provider, each with the fix an admin can apply.

All are SocialLoginError (services.social_login), so web/ renders them in one place. Problems
with the provider's answers are 502 (bad gateway): the user cannot fix them, an admin can.
"""

from __future__ import annotations

from gatepass.services.social_login import SocialLoginError


class IssuerUnreachable(SocialLoginError):
    status_code = 502
    code = "issuer_unreachable"
    title = "The login provider cannot be reached"


class DiscoveryInvalid(SocialLoginError):
    status_code = 502
    code = "discovery_invalid"
    title = "The login provider's configuration cannot be used"


class RedirectUriNotRegistered(SocialLoginError):
    status_code = 502
    code = "redirect_uri_not_registered"
    title = "This server's callback URL is not registered at the login provider"


class ClientUnknown(SocialLoginError):
    status_code = 502
    code = "client_unknown"
    title = "The login provider does not know this server's client id"


class ClientSecretRejected(SocialLoginError):
    status_code = 502
    code = "client_secret_rejected"
    title = "The login provider rejected this server's client secret"


class ProviderRefused(SocialLoginError):
    """The provider answered the authorization or token request with an OAuth error."""

    status_code = 502
    code = "provider_refused"
    title = "The login provider refused the login"


class AccessDenied(SocialLoginError):
    """The person declined at the provider (or the provider denied them)."""

    status_code = 403
    code = "access_denied"
    title = "Logging in was cancelled at the login provider"


class IdTokenInvalid(SocialLoginError):
    status_code = 502
    code = "id_token_invalid"
    title = "The login provider's id_token is not valid"


class ProfileInvalid(SocialLoginError):
    status_code = 502
    code = "profile_invalid"
    title = "The login provider's answer about the user cannot be used"
