"""Verifying the account's email address: a link sent from the account page, opened from the mailbox."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gatepass.http.csrf import is_valid_csrf
from gatepass.http.session import current_session
from gatepass.protocol.errors import SlowDown
from gatepass.services.mail_links import MailLinkError
from gatepass.web.context import client_ip, web
from gatepass.web.errors import error_page
from gatepass.web.ratelimit import check_rate
from gatepass.web.templates import render

#: Verification mails per user per hour: enough for a lost mail, too few to flood the mailbox.
VERIFICATIONS_PER_HOUR = 5


async def send_verification(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    user = session[1]
    form = await request.form()
    if not is_valid_csrf(request, str(form.get("csrf_token") or "")):
        return error_page(request, "No link sent", "The form expired or was sent from another site. Please try again.")
    if user.is_email_verified:
        return RedirectResponse("/", status_code=303)
    try:
        await check_rate(request, "verify-email", str(user.id), VERIFICATIONS_PER_HOUR, window_seconds=3600)
    except SlowDown as error:
        minutes = error.retry_after_seconds // 60 + 1
        return error_page(
            request,
            "No link sent",
            f"Several links were sent already. Try again in {minutes} minutes.",
            status_code=429,
        )
    await web(request).mail_links.send_verification(user, ip=client_ip(request))
    return RedirectResponse("/?email=sent#email", status_code=303)


async def verify(request: Request) -> Response:
    """The link itself proves the mailbox; no login needed (it may be opened on another device)."""
    try:
        user = await web(request).mail_links.verify_email(request.query_params.get("token", ""), ip=client_ip(request))
    except MailLinkError as error:
        return render(request, "email_verified.html", {"link_error": str(error)}, status_code=400)
    return render(request, "email_verified.html", {"email": user.email})
