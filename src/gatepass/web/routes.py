"""The authorization server's routes: standard paths, and Frappe's paths beside them with the same behaviour.

app.py puts the resource server's routes in front of these to make the one route table.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gatepass.compat.frappe import FRAPPE_METHOD_PREFIX
from gatepass.web import health
from gatepass.web.oauth import authorize as authorize_endpoint
from gatepass.web.oauth import backchannel, discovery, logout, register, userinfo
from gatepass.web.pages import (
    account_email,
    account_sessions,
    device,
    home,
    login,
    passkeys,
    password_reset,
    second_factor,
    social_login,
    two_factor,
)
from gatepass.web.pages.admin.routes import build_admin_routes


def build_web_routes() -> list[BaseRoute]:
    frappe = FRAPPE_METHOD_PREFIX
    return [
        Route("/", home.home, methods=["GET"]),
        Route("/login", login.login_page, methods=["GET"]),
        Route("/login", login.login_submit, methods=["POST"]),
        Route("/logout", login.logout_submit, methods=["POST"]),
        Route("/login/second-factor", second_factor.second_factor_page, methods=["GET"]),
        Route("/login/second-factor", second_factor.second_factor_submit, methods=["POST"]),
        Route("/login/second-factor/enrol", second_factor.enrol_submit, methods=["POST"]),
        Route("/account/two-factor", two_factor.two_factor_page, methods=["GET"]),
        Route("/account/two-factor/enrol", two_factor.enrol, methods=["POST"]),
        Route("/account/two-factor/recovery-codes", two_factor.renew_recovery_codes, methods=["POST"]),
        Route("/account/two-factor/remove", two_factor.remove, methods=["POST"]),
        Route("/account/passkeys", passkeys.passkeys_page, methods=["GET"]),
        Route("/account/passkeys", passkeys.register, methods=["POST"]),
        Route("/account/passkeys/options", passkeys.registration_options, methods=["POST"]),
        Route("/account/passkeys/{passkey_id}/rename", passkeys.rename, methods=["POST"]),
        Route("/account/passkeys/{passkey_id}/remove", passkeys.remove, methods=["POST"]),
        Route("/login/passkey", passkeys.login_submit, methods=["POST"]),
        Route("/login/passkey/options", passkeys.login_options, methods=["POST"]),
        Route("/login/second-factor/passkey", passkeys.register_at_login, methods=["POST"]),
        Route("/login/second-factor/passkey/options", passkeys.registration_options_at_login, methods=["POST"]),
        Route("/login/{provider}/start", social_login.social_start, methods=["GET"]),
        Route("/login/{provider}/callback", social_login.social_callback, methods=["GET"]),
        Route("/account/apps/revoke", home.revoke_app, methods=["GET", "POST"]),
        Route("/account/password", home.change_password, methods=["POST"]),
        Route("/account/sessions/end", account_sessions.end_sessions, methods=["POST"]),
        Route("/account/email/verification", account_email.send_verification, methods=["POST"]),
        Route("/account/email/verify", account_email.verify, methods=["GET"]),
        Route("/password/forgot", password_reset.forgot_page, methods=["GET"]),
        Route("/password/forgot", password_reset.forgot_submit, methods=["POST"]),
        Route("/password/reset", password_reset.reset_page, methods=["GET"]),
        Route("/password/reset", password_reset.reset_submit, methods=["POST"]),
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
        Route("/metrics", health.metrics_endpoint, methods=["GET"]),
        Route("/oauth/authorize", authorize_endpoint.authorize, methods=["GET", "POST"]),
        Route(f"{frappe}.authorize", authorize_endpoint.authorize, methods=["GET", "POST"]),
        Route("/oauth/consent", authorize_endpoint.consent_submit, methods=["POST"]),
        Route("/oauth/token", backchannel.token, methods=["POST"]),
        Route(f"{frappe}.get_token", backchannel.token, methods=["POST"]),
        Route("/oauth/par", backchannel.pushed_authorization_request, methods=["POST"]),
        Route("/oauth/device_authorization", backchannel.device_authorization, methods=["POST"]),
        Route("/device", device.device_page, methods=["GET"]),
        Route("/device", device.device_submit, methods=["POST"]),
        Route("/oauth/revoke", backchannel.revoke, methods=["POST"]),
        Route(f"{frappe}.revoke_token", backchannel.revoke, methods=["POST"]),
        Route("/oauth/introspect", backchannel.introspect, methods=["POST"]),
        Route(f"{frappe}.introspect_token", backchannel.introspect, methods=["POST"]),
        *[
            Route(path, backchannel.method_not_allowed, methods=["GET"])
            for path in (
                "/oauth/token",
                f"{frappe}.get_token",
                "/oauth/par",
                "/oauth/device_authorization",
                "/oauth/revoke",
                f"{frappe}.revoke_token",
                "/oauth/introspect",
                f"{frappe}.introspect_token",
            )
        ],
        Route("/.well-known/openid-configuration", discovery.openid_configuration, methods=["GET"]),
        Route(f"{frappe}.openid_configuration", discovery.openid_configuration, methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", discovery.authorization_server_metadata, methods=["GET"]),
        Route("/.well-known/jwks.json", discovery.jwks, methods=["GET"]),
        Route("/.well-known/oauth-protected-resource", discovery.protected_resource_metadata, methods=["GET"]),
        Route(
            "/.well-known/oauth-protected-resource/{path:path}", discovery.protected_resource_metadata, methods=["GET"]
        ),
        Route("/oauth/register", register.register, methods=["POST"]),
        Route(f"{frappe}.register_client", register.register, methods=["POST"]),
        Route("/oauth/register/{client_id}", register.configuration, methods=["GET", "PUT", "DELETE"]),
        Route("/oauth/userinfo", userinfo.userinfo, methods=["GET", "POST"]),
        Route(f"{frappe}.openid_profile", userinfo.frappe_openid_profile, methods=["GET", "POST"]),
        Route("/oauth/logout", logout.end_session, methods=["GET", "POST"]),
        *build_admin_routes(),
        Mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"),
    ]
