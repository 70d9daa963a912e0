"""Forgot password: ask for a link by email, then set a new password through it.

Asking answers the same page for every email, at once: the lookup and the mail happen after the answer
(services/mail_links.py), so neither the page nor its timing tells whether an account exists.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gatepass.http.csrf import is_valid_csrf
from gatepass.protocol.errors import SlowDown
from gatepass.protocol.tokens import token_digest
from gatepass.services.accounts import AccountError, source_of
from gatepass.services.mail_links import MailLinkError
from gatepass.web.context import client_ip, web
from gatepass.web.ratelimit import check_rate
from gatepass.web.templates import render

FORM_EXPIRED = "The form expired or was sent from another site. Please try again."
#: Reset mails one address may be sent per hour, whoever asks: enough for a lost mail, too few to flood a mailbox.
RESETS_PER_EMAIL_PER_HOUR = 5


async def forgot_page(request: Request) -> Response:
    return render(request, "password_forgot.html", {"email": request.query_params.get("email", "")[:254]})


async def forgot_submit(request: Request) -> Response:
    context = web(request)
    form = await request.form()
    email = str(form.get("email") or "").strip()[:254]
    if not is_valid_csrf(request, str(form.get("csrf_token") or "")):
        return render(request, "password_forgot.html", {"email": email, "error": FORM_EXPIRED}, status_code=400)
    if not email or not email.isprintable():
        return render(
            request, "password_forgot.html", {"email": email, "error": "Enter your email address."}, status_code=400
        )
    try:
        # Counted like login attempts, per client address (an IPv6 client holds a whole /64).
        await check_rate(
            request, "reset-ip", source_of(client_ip(request)), context.rate_limits.login_per_ip_per_minute
        )
    except SlowDown as error:
        message = f"Too many requests from your network. Try again in {error.retry_after_seconds} seconds."
        response = render(request, "password_forgot.html", {"email": email, "error": message}, status_code=429)
        response.headers["Retry-After"] = str(error.retry_after_seconds)
        return response
    email_key = token_digest(context.keys.digest_key, "reset-email:" + email.lower())
    try:
        await check_rate(request, "reset-email", email_key, RESETS_PER_EMAIL_PER_HOUR, window_seconds=3600)
    except SlowDown:
        pass  # the mailbox had enough links for now; the answer stays the same, so it tells nothing
    else:
        context.mail_links.request_password_reset(email, ip=client_ip(request))
    return render(request, "password_forgot.html", {"email": email, "is_sent": True})


async def reset_page(request: Request) -> Response:
    """The form, only for a link that can still be used; GET never uses it up (mail scanners open links)."""
    token = request.query_params.get("token", "")
    try:
        await web(request).mail_links.check_reset_link(token)
    except MailLinkError as error:
        return render(request, "password_reset.html", {"link_error": str(error)}, status_code=400)
    return render(request, "password_reset.html", {"token": token})


async def reset_submit(request: Request) -> Response:
    form = await request.form()
    token = str(form.get("token") or "")[:128]
    if not is_valid_csrf(request, str(form.get("csrf_token") or "")):
        return render(request, "password_reset.html", {"token": token, "error": FORM_EXPIRED}, status_code=400)
    new_password = str(form.get("new_password") or "")
    try:
        if new_password != str(form.get("new_password_again") or ""):
            raise AccountError("The two passwords differ", field="new_password")
        await web(request).mail_links.reset_password(token, new_password, ip=client_ip(request))
    except MailLinkError as error:
        return render(request, "password_reset.html", {"link_error": str(error)}, status_code=400)
    except AccountError as error:
        return render(request, "password_reset.html", {"token": token, "error": str(error)}, status_code=400)
    return render(request, "password_reset.html", {"is_done": True})
