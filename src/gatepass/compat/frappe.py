"""Frappe's OAuth paths (``/api/method/frappe.integrations.oauth2.*``).

Frappe clients send the same parameters and read the same top-level JSON as the standard
endpoints, so the routes point at the same handlers; see docs/frappe-compatibility.md.
"""

from __future__ import annotations

FRAPPE_METHOD_PREFIX = "/api/method/frappe.integrations.oauth2"
#: The methods under that prefix which the authorization server answers (web/routes.py); any other name
#: there is the RPC API's to refuse, in Frappe's JSON shape.
FRAPPE_OAUTH_METHODS = frozenset(
    f"frappe.integrations.oauth2.{name}"
    for name in (
        "authorize",
        "get_token",
        "revoke_token",
        "introspect_token",
        "openid_profile",
        "openid_configuration",
        "register_client",
    )
)
