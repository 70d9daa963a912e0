"""Frappe's OAuth paths (``/api/method/frappe.integrations.oauth2.*``).

Frappe clients send the same parameters and read the same top-level JSON as the standard
endpoints, so the routes point at the same handlers; see docs/frappe-compatibility.md.
"""

from __future__ import annotations

FRAPPE_METHOD_PREFIX = "/api/method/frappe.integrations.oauth2"
