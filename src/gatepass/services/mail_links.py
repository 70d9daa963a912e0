"""Links sent by mail: a password reset for someone who forgot theirs, and the verification of an address.

A link carries 256 random bits; only its keyed digest is stored, with its purpose, the address it went to, an
expiry and the time it was used, so a used or expired link is refused saying so, and works at most once
(one conditional update decides). Asking for a reset answers alike for every email: the lookup, the link and
the mail all happen after the answer, in the background.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlencode

from gatepass.protocol.tokens import new_token, token_digest
from gatepass.services import audit
from gatepass.services.accounts import AccountError, check_password_strength, normalise_email
from gatepass.services.mail import Outbox, OutgoingMail
from gatepass.services.stores import MailLinkRecord, MailLinkStore, UserRecord

RESET = "reset"
VERIFY = "verify"

UNKNOWN_LINK = "This link is not valid: it may be incomplete. Ask for a new one."
USED_LINK = "This link was already used: each link works once. Ask for a new one if you still need it."
EXPIRED_LINK = "This link has expired. Ask for a new one."
OTHER_ADDRESS = "This link was sent to an address your account no longer has."


class MailLinkError(ValueError):
    """A link that cannot be used; the message says why and what to do."""


class _Users(Protocol):
    async def get_user(self, user_id: int) -> UserRecord | None: ...
    async def get_user_by_email(self, email: str) -> UserRecord | None: ...
    async def set_email_verified(self, user_id: int, email: str, now: datetime) -> None: ...


class MailLinks:
    def __init__(
        self,
        users: _Users,
        links: MailLinkStore,
        outbox: Outbox,
        digest_key: bytes,
        audit_log: audit.Audit,
        clock: Callable[[], datetime],
        *,
        issuer: str,
        set_password: Callable[[int, str, str | None], Awaitable[None]],
        reset_ttl_seconds: int,
        verification_ttl_seconds: int,
    ) -> None:
        self._users = users
        self._links = links
        self._outbox = outbox
        self._digest_key = digest_key
        self._audit = audit_log
        self._clock = clock
        self._issuer = issuer
        self._set_password = set_password
        self._ttl = {RESET: timedelta(seconds=reset_ttl_seconds), VERIFY: timedelta(seconds=verification_ttl_seconds)}

    def request_password_reset(self, email: str, *, ip: str | None) -> None:
        """Returns before looking anything up: the caller answers the same whether the account exists or not."""
        self._outbox.run_later(lambda: self._send_reset_link(email, ip), what="password reset link")

    async def _send_reset_link(self, email: str, ip: str | None) -> None:
        try:
            email = normalise_email(email)
        except AccountError:
            return
        user = await self._users.get_user_by_email(email)
        # An account without a password logs in through another provider (or is a service user): its
        # password is theirs to reset, not ours.
        if user is None or not user.is_enabled or user.password_hash is None:
            return
        link = await self._new_link(user, RESET, "/password/reset")
        await self._audit.record(audit.PASSWORD_RESET_REQUESTED, user_id=user.id, ip=ip)
        minutes = max(1, int(self._ttl[RESET].total_seconds()) // 60)
        text = (
            f"Someone asked to reset the password of your Gatepass account {user.email}.\n\n"
            f"To choose a new password, open this link within {minutes} minutes; it works once:\n\n{link}\n\n"
            "If you did not ask for this, ignore this mail: your password stays as it is.\n"
        )
        self._outbox.send_later(OutgoingMail(user.email, "Reset your Gatepass password", text))

    async def check_reset_link(self, token: str) -> None:
        """Raises MailLinkError unless the link can still reset a password (the form is not shown otherwise)."""
        await self._live_link(token, RESET)

    async def reset_password(self, token: str, new_password: str, *, ip: str | None) -> None:
        """Sets the password, which signs the user out everywhere; every other reset link of the user dies too."""
        link = await self._live_link(token, RESET)
        # Before the link is used up: a password too short is fixed on the same form, with the same link.
        check_password_strength(new_password)
        user = await self._users.get_user(link.user_id)
        if user is None or not user.is_enabled:
            raise MailLinkError(UNKNOWN_LINK)
        now = self._clock()
        if not await self._links.use_link(link.link_id, now):
            raise MailLinkError(USED_LINK)
        await self._set_password(user.id, new_password, ip)
        await self._links.use_links_of(user.id, RESET, now)

    async def send_verification(self, user: UserRecord, *, ip: str | None) -> None:
        link = await self._new_link(user, VERIFY, "/account/email/verify")
        await self._audit.record(audit.EMAIL_VERIFICATION_SENT, user_id=user.id, ip=ip)
        text = (
            f"To confirm that {user.email} is your address for your Gatepass account, open this link; "
            f"it works once:\n\n{link}\n\nIf you did not ask for this, ignore this mail.\n"
        )
        self._outbox.send_later(OutgoingMail(user.email, "Confirm your email address", text))

    async def verify_email(self, token: str, *, ip: str | None) -> UserRecord:
        link = await self._live_link(token, VERIFY)
        user = await self._users.get_user(link.user_id)
        if user is None or not user.is_enabled:
            raise MailLinkError(UNKNOWN_LINK)
        if user.email != link.email:
            raise MailLinkError(OTHER_ADDRESS)
        now = self._clock()
        if not await self._links.use_link(link.link_id, now):
            raise MailLinkError(USED_LINK)
        await self._users.set_email_verified(user.id, link.email, now)
        await self._audit.record(audit.EMAIL_VERIFIED, user_id=user.id, ip=ip)
        return user

    async def _new_link(self, user: UserRecord, purpose: str, path: str) -> str:
        token, now = new_token(), self._clock()
        await self._links.add_link(self._digest(token), user.id, purpose, user.email, now, now + self._ttl[purpose])
        return f"{self._issuer}{path}?{urlencode({'token': token})}"

    async def _live_link(self, token: str, purpose: str) -> MailLinkRecord:
        """The link's row, unless it is unknown, for another purpose, used or expired (each said apart)."""
        link = await self._links.get_link(self._digest(token)) if 0 < len(token) <= 128 else None
        if link is None or link.purpose != purpose:
            raise MailLinkError(UNKNOWN_LINK)
        if link.used_at is not None:
            raise MailLinkError(USED_LINK)
        if link.expires_at <= self._clock():
            raise MailLinkError(EXPIRED_LINK)
        return link

    def _digest(self, token: str) -> str:
        return token_digest(self._digest_key, f"mail-link:{token}")


__all__ = ["EXPIRED_LINK", "RESET", "UNKNOWN_LINK", "USED_LINK", "VERIFY", "MailLinkError", "MailLinks"]
