"""The admin console's routes, listed in web/routes.py's one table; every endpoint behind ``guarded``."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from gatepass.web.pages.admin import (
    audit,
    clients,
    doctypes,
    providers,
    roles,
    scopes,
    sessions,
    system,
    tokens,
    users,
)
from gatepass.web.pages.admin.guard import AdminHandler, guarded

_CLIENT = "/admin/clients/{client_id}"
_USER = "/admin/users/{user_id:int}"
_DOCTYPE = "/admin/doctypes/{name}"
_PROVIDER = "/admin/providers/{provider}"

#: (path, method, handler): GET pages and the POST forms beside them.
ADMIN_ROUTES: tuple[tuple[str, str, AdminHandler], ...] = (
    ("/admin", "GET", system.overview),
    ("/admin/clients", "GET", clients.list_clients),
    ("/admin/clients/new", "GET", clients.new_client),
    ("/admin/clients/new", "POST", clients.create_client),
    (_CLIENT, "GET", clients.show_client),
    (_CLIENT, "POST", clients.update_client),
    (f"{_CLIENT}/secret", "POST", clients.rotate_secret),
    (f"{_CLIENT}/enabled", "POST", clients.set_enabled),
    (f"{_CLIENT}/delete", "GET", clients.confirm_delete),
    (f"{_CLIENT}/delete", "POST", clients.delete_client),
    (f"{_CLIENT}/try", "GET", clients.try_client),
    (f"{_CLIENT}/credentials", "GET", clients.show_credentials),
    ("/admin/scopes", "GET", scopes.scopes_page),
    ("/admin/scopes", "POST", scopes.add_scope),
    ("/admin/scopes/delete", "POST", scopes.delete_scope),
    ("/admin/roles", "GET", roles.roles_page),
    ("/admin/roles", "POST", roles.add_role),
    ("/admin/doctypes", "POST", doctypes.add_doctype),
    (_DOCTYPE, "GET", doctypes.show_doctype),
    (f"{_DOCTYPE}/permissions", "POST", doctypes.set_permission),
    (f"{_DOCTYPE}/delete", "GET", doctypes.confirm_delete_doctype),
    (f"{_DOCTYPE}/delete", "POST", doctypes.delete_doctype),
    ("/admin/users", "GET", users.list_users),
    ("/admin/users", "POST", users.create_user),
    (_USER, "GET", users.show_user),
    (f"{_USER}/roles", "POST", users.set_roles),
    (f"{_USER}/enabled", "POST", users.set_enabled),
    (f"{_USER}/password", "POST", users.set_password),
    (f"{_USER}/api-key", "POST", users.issue_api_key),
    (f"{_USER}/sessions/end", "POST", sessions.end_sessions),
    (f"{_USER}/factors", "POST", users.reset_factors),
    (f"{_USER}/email-verification", "POST", users.send_verification),
    ("/admin/providers", "GET", providers.list_providers),
    ("/admin/providers/new", "GET", providers.new_provider),
    ("/admin/providers/new", "POST", providers.create_provider),
    (_PROVIDER, "GET", providers.show_provider),
    (_PROVIDER, "POST", providers.update_provider),
    (f"{_PROVIDER}/enabled", "POST", providers.set_enabled),
    (f"{_PROVIDER}/check", "POST", providers.check_provider),
    (f"{_PROVIDER}/delete", "GET", providers.confirm_delete),
    (f"{_PROVIDER}/delete", "POST", providers.delete_provider),
    ("/admin/tokens", "GET", tokens.list_tokens),
    ("/admin/tokens/{grant_id:int}/revoke", "POST", tokens.revoke_token),
    ("/admin/tokens/purge", "POST", tokens.purge),
    ("/admin/audit", "GET", audit.audit_log),
    ("/admin/settings", "GET", system.settings_page),
    ("/admin/settings", "POST", system.save_settings),
    ("/admin/keys", "GET", system.keys_page),
    ("/admin/keys/rotate", "POST", system.rotate_keys),
)


def build_admin_routes() -> list[BaseRoute]:
    return [Route(path, guarded(handler), methods=[method]) for path, method, handler in ADMIN_ROUTES]
