"""A user's browser sessions as a list they (or an admin) can read and end, one at a time or all others."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gatepass.services import audit
from gatepass.services.stores import BrowserSession

# The first match names the browser: Edge and Opera also say Chrome, and Chrome also says Safari.
_BROWSERS = (
    ("Edge", re.compile(r"\bEdg(e|A|iOS)?/")),
    ("Opera", re.compile(r"\bOPR/")),
    ("Firefox", re.compile(r"\b(Firefox|FxiOS)/")),
    ("Chrome", re.compile(r"\b(HeadlessChrome|Chrome|Chromium|CriOS)/")),
    ("Safari", re.compile(r"\bSafari/")),
    ("curl", re.compile(r"^curl/")),
)
_SYSTEMS = (
    ("Android", re.compile(r"\bAndroid\b")),
    ("iPhone", re.compile(r"\biPhone\b")),
    ("iPad", re.compile(r"\biPad\b")),
    ("Windows", re.compile(r"\bWindows\b")),
    ("macOS", re.compile(r"\bMac OS X\b|\bMacintosh\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("Linux", re.compile(r"\bLinux\b")),
)


def describe_device(user_agent: str | None) -> str:
    """ "Firefox on Windows", in words a person recognises; never the raw header, which anyone can set."""
    if not user_agent:
        return "Unknown device"
    browser = next((name for name, pattern in _BROWSERS if pattern.search(user_agent)), "Unknown browser")
    system = next((name for name, pattern in _SYSTEMS if pattern.search(user_agent)), None)
    return f"{browser} on {system}" if system else browser


@dataclass(frozen=True)
class ListedSession:
    session_id: int
    device: str
    ip: str | None
    created_at: datetime
    last_seen_at: datetime
    is_current: bool


class _Sessions(Protocol):
    async def list_sessions_of(self, user_id: int, now: datetime) -> list[BrowserSession]: ...
    async def delete_session_of(self, user_id: int, session_id: int) -> bool: ...
    async def delete_sessions_of(self, user_id: int, *, keep: int | None = None) -> int: ...


class _Logouts(Protocol):
    async def sessions_ended(self, user_id: int, session_ids: list[int]) -> None: ...


class BrowserSessions:
    """Ending a session here tells the apps that took part in it, as logging out does (back-channel logout)."""

    def __init__(
        self, sessions: _Sessions, audit_log: audit.Audit, clock: Callable[[], datetime], logouts: _Logouts
    ) -> None:
        self._sessions = sessions
        self._logouts = logouts
        self._audit = audit_log
        self._clock = clock

    async def list_of(self, user_id: int, *, current_session_id: int | None = None) -> list[ListedSession]:
        return [
            ListedSession(
                session.session_id,
                describe_device(session.user_agent),
                session.ip,
                session.created_at,
                session.last_seen_at or session.created_at,
                session.session_id == current_session_id,
            )
            for session in await self._sessions.list_sessions_of(user_id, self._clock())
        ]

    async def end(self, user_id: int, session_id: int, *, by: str, ip: str | None) -> bool:
        """Only a session of this user ends; False when it had ended already (or was never theirs)."""
        ended = await self._sessions.delete_session_of(user_id, session_id)
        if ended:
            await self._logouts.sessions_ended(user_id, [session_id])
            await self._audit.record(audit.SESSIONS_ENDED, user_id=user_id, ip=ip, by=by, count=1)
        return ended

    async def end_all_but(self, user_id: int, keep: int | None, *, by: str, ip: str | None) -> int:
        """Every session of the user except ``keep`` (None: every one); how many ended."""
        ending = [s.session_id for s in await self._sessions.list_sessions_of(user_id, self._clock())]
        count = await self._sessions.delete_sessions_of(user_id, keep=keep)
        await self._logouts.sessions_ended(user_id, [session_id for session_id in ending if session_id != keep])
        await self._audit.record(audit.SESSIONS_ENDED, user_id=user_id, ip=ip, by=by, count=count)
        return count


__all__ = ["BrowserSessions", "ListedSession", "describe_device"]
