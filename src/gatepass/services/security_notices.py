"""Mails that tell a user of a change to how their account is protected, so a change they did not make
does not go unnoticed: a new password, a new second factor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from gatepass.services.mail import Outbox, OutgoingMail
from gatepass.services.stores import UserRecord


class _Users(Protocol):
    async def get_user(self, user_id: int) -> UserRecord | None: ...


_NOT_YOU = (
    "If this was not you, reset your password at once from the login page ({}/login), and tell your administrator."
)


class SecurityNotices:
    """Each notice is sent in the background: the change it reports has happened, whatever the mail does."""

    def __init__(self, users: _Users, outbox: Outbox, *, issuer: str) -> None:
        self._users = users
        self._outbox = outbox
        self._issuer = issuer

    def password_changed(self, user_id: int) -> None:
        self._notify(
            user_id,
            "Your Gatepass password was changed",
            lambda email: (
                f"The password of your account {email} was changed. You were signed out everywhere, "
                "and every app you allowed must ask you again."
            ),
        )

    def second_factor_added(self, user_id: int, factor: str) -> None:
        """For whoever adds a factor (an authenticator app, a passkey): ``factor`` names it in words."""
        self._notify(
            user_id,
            "A second factor was added to your Gatepass account",
            lambda email: f"A new second factor was added to your account {email}: {factor}.",
        )

    def _notify(self, user_id: int, subject: str, what: Callable[[str], str]) -> None:
        async def send() -> None:
            user = await self._users.get_user(user_id)
            if user is None or not user.is_enabled:
                return
            text = f"{what(user.email)}\n\n{_NOT_YOU.format(self._issuer)}\n"
            self._outbox.send_later(OutgoingMail(user.email, subject, text))

        self._outbox.run_later(send, what=f"notice {subject!r}")


__all__ = ["SecurityNotices"]
