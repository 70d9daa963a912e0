"""The account page: who is logged in and which apps hold access (connected apps)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gatepass.services.revoke import ConnectedApp
from gatepass.services.scopes import describe_scopes
from gatepass.web.context import current_session, web
from gatepass.web.csrf import is_valid_csrf
from gatepass.web.errors import error_page
from gatepass.web.templates import render


async def _scope_words(request: Request, apps: list[ConnectedApp]) -> dict[str, list[str]]:
    """Each app's access in the words the consent screen used, so the user recognises what they allowed."""
    every_scope = tuple(dict.fromkeys(scope for app in apps for scope in app.scopes))
    document_scopes = await web(request).doctypes.scope_texts(every_scope) if every_scope else {}
    return {
        app.client_id: [described.title for described in describe_scopes(app.scopes, app.scopes, document_scopes)]
        for app in apps
    }


async def home(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    user = session[1]
    context = web(request)
    grants = await context.revocation.connected_apps(user.id)
    revoked = request.query_params.get("revoked")
    revoked_client = await context.clients.get(revoked) if revoked else None
    return render(
        request,
        "home.html",
        {
            "grants": grants,
            "access_words": await _scope_words(request, grants),
            "revoked_app_name": revoked_client.info.app_name if revoked_client else None,
        },
    )


async def revoke_app(request: Request) -> Response:
    """GET asks first (what the app loses, and that it will have to ask again); POST with CSRF revokes."""
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    context = web(request)
    if request.method == "GET":
        client_id = request.query_params.get("client_id", "")
        apps = await context.revocation.connected_apps(session[1].id)
        app = next((candidate for candidate in apps if candidate.client_id == client_id), None)
        if app is None:
            return RedirectResponse("/", status_code=303)
        words = (await _scope_words(request, [app]))[app.client_id]
        return render(request, "account_revoke.html", {"app": app, "access_words": words})
    form = await request.form()
    if not is_valid_csrf(request, str(form.get("csrf_token") or "")):
        return error_page(request, "Not revoked", "The form expired or was sent from another site. Please try again.")
    client_id = str(form.get("client_id") or "")
    await context.revocation.revoke_app_access(session[1].id, client_id)
    return RedirectResponse(f"/?{urlencode({'revoked': client_id})}", status_code=303)
