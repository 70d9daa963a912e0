"""Authorization server metadata (RFC 8414) and OpenID Provider metadata (OIDC Discovery 1.0 §3).

Both documents list exactly what this server supports and carry the same issuer.
"""

from __future__ import annotations

from typing import Any

from gatepass.protocol.fapi2_security_profile import FAPI2, SPECIFICATION
from gatepass.protocol.fapi2_security_profile import RULES as FAPI2_RULES
from gatepass.protocol.oidc.authentication_context import ACR_VALUES
from gatepass.protocol.rfc7523_client_assertion import KEY_ALGORITHMS, SECRET_ALGORITHMS
from gatepass.protocol.rfc9101_request_object import ALGORITHMS as REQUEST_OBJECT_ALGORITHMS
from gatepass.protocol.rfc9449_dpop import DPOP_ALGORITHMS

CLAIMS_SUPPORTED = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "acr",
    "amr",
    "nonce",
    "azp",
    "at_hash",
    "sid",
    "name",
    "given_name",
    "family_name",
    "picture",
    "email",
    "email_verified",
    "roles",
)


def build_authorization_server_metadata(
    issuer: str,
    *,
    scopes: tuple[str, ...],
    id_token_algorithms: tuple[str, ...],
    has_implicit: bool = True,
    is_par_required: bool = False,
    registration_endpoint: str | None = None,
) -> dict[str, Any]:
    """The document; ``registration_endpoint`` only when dynamic registration is on.

    RFC 8414 §2 makes every member OPTIONAL: one that does not apply is left out, never sent as null
    (clients such as MCP's treat a present member as an endpoint to call).
    """
    response_types = ["code"]
    if has_implicit:
        response_types += ["token", "id_token", "id_token token"]
    auth_methods = ["client_secret_basic", "client_secret_post", "none", "private_key_jwt", "client_secret_jwt"]
    # RFC 8414 §2: the algs the JWT methods accept, a list for each endpoint that lists them.
    assertion_algorithms = [*KEY_ALGORITHMS, *SECRET_ALGORITHMS]
    document: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        # RFC 9126 §5: where to push, and whether every authorization request must be pushed.
        "pushed_authorization_request_endpoint": f"{issuer}/oauth/par",
        "require_pushed_authorization_requests": is_par_required,
        "userinfo_endpoint": f"{issuer}/oauth/userinfo",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "end_session_endpoint": f"{issuer}/oauth/logout",
        "scopes_supported": list(scopes),
        "response_types_supported": response_types,
        "response_modes_supported": ["query", "fragment"],
        # RFC 8628 §4: where a device asks for its codes, and its grant among the grant types.
        "device_authorization_endpoint": f"{issuer}/oauth/device_authorization",
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "implicit",
            "urn:ietf:params:oauth:grant-type:device_code",
            # RFC 8693 §2.1: token exchange, for the clients an admin's policy allows.
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ],
        # OpenID Connect Core §8: a client registers which one it is told (services/subjects.py).
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": list(id_token_algorithms),
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": assertion_algorithms,
        "revocation_endpoint_auth_signing_alg_values_supported": assertion_algorithms,
        "introspection_endpoint_auth_signing_alg_values_supported": assertion_algorithms,
        "code_challenge_methods_supported": ["S256"],
        # RFC 9449 §5.1: the algs a DPoP proof may be signed with, at the token endpoint and the resources.
        "dpop_signing_alg_values_supported": list(DPOP_ALGORITHMS),
        "claims_supported": list(CLAIMS_SUPPORTED),
        # OIDC Core §5.5: read for an acr request only; every other claim follows the scopes.
        "claims_parameter_supported": True,
        "acr_values_supported": list(ACR_VALUES),
        # RFC 9101 §10.5, OIDC Discovery §3: signed request objects by value, here or pushed; by reference
        # only this server's own request_uri, from a push (RFC 9126), so fetching one is not supported.
        "request_parameter_supported": True,
        "request_uri_parameter_supported": False,
        "request_object_signing_alg_values_supported": list(REQUEST_OBJECT_ALGORITHMS),
        "require_signed_request_object": False,
        # What a client registered with a security profile is held to, each rule with its clause.
        "security_profiles_supported": {FAPI2: {"specification": SPECIFICATION, "rules": list(FAPI2_RULES)}},
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": False,
        # OpenID Connect Back-Channel Logout 1.0 §2.1: logout tokens carry sid, as id_tokens do.
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "service_documentation": f"{issuer}/api/docs",
    }
    if registration_endpoint is not None:
        document["registration_endpoint"] = registration_endpoint
    return document
