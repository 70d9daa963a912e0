"""The device authorization grant (RFC 8628): user codes, the device's request, and the rules of polling.

Pure: randomness comes in as a ``choose`` function and time as ``now``. The service layer stores the
authorization and asks here what a poll or a typed code means.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from gatepass.protocol.errors import (
    AccessDenied,
    InvalidGrant,
    InvalidScope,
    OAuthError,
    SlowDown,
    UnauthorizedClient,
)
from gatepass.protocol.values import GRANT_DEVICE_CODE, ClientInfo

#: Consonants only, without vowels (no words), and none that read alike (§6.1: no 0/O, 1/I/L confusion).
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
#: RFC 8628 §3.5: every slow_down adds this many seconds to the interval, for that poll and all after it.
SLOW_DOWN_SECONDS = 5
VERIFICATION_PATH = "/device"


class AuthorizationPending(OAuthError):
    error = "authorization_pending"


class ExpiredToken(OAuthError):
    error = "expired_token"


class PollingTooFast(SlowDown):
    """RFC 8628 §3.5 slow_down: a 400 like the grant's other errors, unlike the rate limit's 429."""

    status_code = 400


class DeviceAccessDenied(AccessDenied):
    """RFC 8628 §3.5 access_denied: the user said no; a 400 at the token endpoint (RFC 6749 §5.2)."""

    status_code = 400


def new_user_code(choose: Callable[[Sequence[str]], str]) -> str:
    """A user code in its normalized form (eight letters, no dash); ``choose`` is ``secrets.choice``."""
    return "".join(choose(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def display_user_code(code: str) -> str:
    """How people read it: two groups of four (XXXX-XXXX)."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def normalize_user_code(typed: str) -> str | None:
    """What the user typed as the stored form: case and dashes and spaces do not matter (§6.1); None when it
    cannot be a user code, so it is never looked up."""
    code = "".join(typed.split()).replace("-", "").upper()
    if len(code) != USER_CODE_LENGTH or any(letter not in USER_CODE_ALPHABET for letter in code):
        return None
    return code


def check_device_client(client: ClientInfo) -> None:
    """§3.1: only a client registered for the device grant may start one."""
    if GRANT_DEVICE_CODE not in client.grant_types:
        raise UnauthorizedClient(f"This client is not allowed to use the {GRANT_DEVICE_CODE} grant")


def device_scopes(client: ClientInfo, requested: tuple[str, ...]) -> tuple[str, ...]:
    """The scopes the user will be asked for: those requested, or every scope the client registered."""
    if not requested:
        return client.scopes
    extra = [scope for scope in requested if scope not in client.scopes]
    if extra:
        raise InvalidScope(f"Scope '{extra[0]}' is not registered for this client")
    return requested


@dataclass(frozen=True)
class DeviceAuthorizationResponse:
    """§3.2: the codes and where the user goes with them."""

    device_code: str
    user_code: str
    verification_uri: str
    expires_in: int
    interval: int

    @property
    def verification_uri_complete(self) -> str:
        return f"{self.verification_uri}?{urlencode({'user_code': self.user_code})}"

    def to_dict(self) -> dict[str, str | int]:
        return {
            "device_code": self.device_code,
            "user_code": self.user_code,
            "verification_uri": self.verification_uri,
            "verification_uri_complete": self.verification_uri_complete,
            "expires_in": self.expires_in,
            "interval": self.interval,
        }


def build_device_response(
    issuer: str, *, device_code: str, user_code: str, expires_in: int, interval: int
) -> DeviceAuthorizationResponse:
    return DeviceAuthorizationResponse(
        device_code=device_code,
        user_code=display_user_code(user_code),
        verification_uri=f"{issuer}{VERIFICATION_PATH}",
        expires_in=expires_in,
        interval=interval,
    )


def check_poll_timing(last_polled_at: datetime | None, interval_seconds: int, now: datetime) -> int | None:
    """The raised interval when this poll came sooner than the interval after the last one (§3.5
    slow_down), else None."""
    if last_polled_at is not None and now - last_polled_at < timedelta(seconds=interval_seconds):
        return interval_seconds + SLOW_DOWN_SECONDS
    return None


def check_device_code_owner(client_id: str, presenting_client_id: str) -> None:
    """§3.4: a device code is redeemed by the client it was issued to; to anyone else it does not exist."""
    if client_id != presenting_client_id:
        raise InvalidGrant("The device_code is invalid")
