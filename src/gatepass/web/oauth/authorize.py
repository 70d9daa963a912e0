"""GET/POST /oauth/authorize and the consent form: HTTP around services.authorize."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gatepass.http.csrf import is_valid_csrf
from gatepass.http.session import current_session
from gatepass.protocol.errors import OAuthError
from gatepass.protocol.params import parse_params
from gatepass.protocol.rfc6749.redirect_uri import RedirectUriNotRegistered, build_display_host
from gatepass.services.accounts import SYSTEM_MANAGER
from gatepass.services.authorize import (
    AuthorizationErrorShown,
    AuthorizationRedirectError,
    NeedsConsent,
    NeedsLogin,
    NeedsSecondFactor,
    Redirect,
)
from gatepass.services.pending_request import PendingRequest
from gatepass.services.scopes import ScopeDescription, describe_scopes, scopes_readable
from gatepass.web.context import client_ip, web
from gatepass.web.errors import error_page
from gatepass.web.templates import render

AUTHORIZE_PATH = "/oauth/authorize"
_FORM_ONLY = ("csrf_token", "decision")


async def _page_for(request: Request, error: OAuthError) -> Response:
    """Errors that must not go to the client: a page the integrator can act on."""
    if isinstance(error, RedirectUriNotRegistered):
        session = await current_session(request)
        # The registered URIs are the client's configuration: only an admin sees them all.
        is_admin = session is not None and SYSTEM_MANAGER in session[1].roles
        return error_page(
            request,
            "This app sent a redirect URI that is not registered",
            error.description,
            mismatch=error.mismatch,
            shows_registered=is_admin,
            error_code=error.error,
        )
    return error_page(request, "The app's sign-in request cannot be used", error.description, error_code=error.error)


def _withheld_page(request: Request, shown: AuthorizationErrorShown) -> Response:
    """An error about a verified request that the client is not trusted with (RFC 9700 §4.11.2)."""
    client = shown.client
    return error_page(
        request,
        "The app's sign-in request cannot be used",
        shown.error.description,
        error_code=shown.error.error,
        withheld_from=build_display_host(shown.redirect_uri) or urlsplit(shown.redirect_uri).scheme,
        is_unproven_client=client.is_dynamically_registered and not client.has_completed_authorization,
    )


async def _params(request: Request) -> dict[str, str]:
    if request.method == "POST":
        form = await request.form()
        return parse_params((k, str(v)) for k, v in form.multi_items() if k not in _FORM_ONLY)
    return parse_params(request.query_params.multi_items())


def _login_redirect(request: Request, pending: PendingRequest, *, is_forced: bool) -> RedirectResponse:
    again = web(request).authorize.after_login(pending, is_forced=is_forced)
    query: dict[str, str] = {"next": f"{AUTHORIZE_PATH}?{urlencode(again)}"}
    if "login_hint" in pending.params:
        query["login_hint"] = pending.params["login_hint"]
    if is_forced:
        query["reauth"] = "1"
    return RedirectResponse(f"/login?{urlencode(query)}", status_code=303)


async def authorize(request: Request) -> Response:
    context = web(request)
    try:
        pending = await context.authorize.resolve(await _params(request))
        record, authorization = await context.authorize.load_request(pending)
    except AuthorizationRedirectError as redirect:
        return RedirectResponse(redirect.url, status_code=303)
    except AuthorizationErrorShown as shown:
        return _withheld_page(request, shown)
    except OAuthError as error:
        return await _page_for(request, error)
    try:
        outcome = await context.authorize.decide(record, authorization, await current_session(request))
    except AuthorizationRedirectError as redirect:
        return RedirectResponse(redirect.url, status_code=303)
    except AuthorizationErrorShown as shown:
        return _withheld_page(request, shown)
    if isinstance(outcome, NeedsLogin):
        return _login_redirect(request, pending, is_forced=outcome.is_forced)
    if isinstance(outcome, NeedsSecondFactor):
        again = context.authorize.after_login(pending, is_forced=False)
        next_url = f"{AUTHORIZE_PATH}?{urlencode(again)}"
        return RedirectResponse(f"/login/second-factor?{urlencode({'next': next_url})}", status_code=303)
    if isinstance(outcome, NeedsConsent):
        document_scopes = await context.doctypes.scope_texts(outcome.request.scopes)
        return _consent_page(request, outcome, dict(pending.carried), document_scopes)
    assert isinstance(outcome, Redirect)
    return RedirectResponse(outcome.url, status_code=303)


def _consent_page(
    request: Request, outcome: NeedsConsent, params: dict[str, str], document_scopes: dict[str, tuple[str, str]]
) -> Response:
    consent_params = dict(params)
    consent_params.pop("prompt", None)  # answered by this page
    return render(
        request,
        "consent.html",
        {
            "client": outcome.client,
            "consenting_user": outcome.user,
            # Where the answer goes, named as the browser will reach it, so the user can spot a look-alike app.
            "redirect_host": build_display_host(outcome.request.redirect_uri),
            "redirect_scheme": urlsplit(outcome.request.redirect_uri).scheme,
            "is_unproven_client": outcome.client.is_dynamically_registered
            and not outcome.client.has_completed_authorization,
            "scopes": _what_the_app_reads(outcome, document_scopes),
            "params": sorted(consent_params.items()),
            "next": f"{AUTHORIZE_PATH}?{urlencode(params)}",
        },
    )


def _what_the_app_reads(outcome: NeedsConsent, document_scopes: dict[str, tuple[str, str]]) -> list[ScopeDescription]:
    """Everything the app will be able to read, not only the scopes it named; "new" against the same reading
    of what the user allowed before."""
    is_legacy, before = outcome.client.is_frappe_legacy, outcome.granted_before
    return describe_scopes(
        scopes_readable(outcome.request.scopes, is_frappe_legacy=is_legacy),
        scopes_readable(before, is_frappe_legacy=is_legacy) if before else (),
        document_scopes,
    )


async def consent_submit(request: Request) -> Response:
    context = web(request)
    form = await request.form()
    if not is_valid_csrf(request, str(form.get("csrf_token") or "")):
        return error_page(
            request, "Consent not recorded", "The form expired or was sent from another site. Start again from the app."
        )
    decision = str(form.get("decision") or "")
    try:
        pending = await context.authorize.resolve(await _params(request))
        record, authorization = await context.authorize.load_request(pending)
    except AuthorizationRedirectError as redirect:
        return RedirectResponse(redirect.url, status_code=303)
    except AuthorizationErrorShown as shown:
        return _withheld_page(request, shown)
    except OAuthError as error:
        return await _page_for(request, error)
    session = await current_session(request)
    if session is None:
        return _login_redirect(request, pending, is_forced=False)
    if decision not in ("allow", "deny"):
        return error_page(request, "Consent not recorded", "Choose Allow or Deny.")
    try:
        url = await context.authorize.approve(
            record, authorization, session[0], session[1], is_allowed=decision == "allow", ip=client_ip(request)
        )
    except AuthorizationRedirectError as redirect:
        return RedirectResponse(redirect.url, status_code=303)
    except AuthorizationErrorShown as shown:
        return _withheld_page(request, shown)
    return RedirectResponse(url, status_code=303)
