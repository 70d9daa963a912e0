"""Frappe-style API keys: ``Authorization: token <api_key>:<api_secret>`` for scripts.

Frappe keeps the secret encrypted and compares it with ``==``, which leaks timing; Gatepass keeps only
an HMAC-SHA-256 digest of it under the instance's digest key and compares in constant time. The
secret is random, so a keyed digest is enough (see protocol/tokens.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from gatepass.protocol.errors import InvalidToken
from gatepass.protocol.tokens import constant_time_equals, new_token, token_digest
from gatepass.protocol.values import Principal
from gatepass.services import audit
from gatepass.services.crypto import InstanceKeys
from gatepass.services.stores import UserStore

#: An API key acts with the user's full rights, like a session: the implicit scope ``all``.
API_KEY_SCOPES = frozenset({"all"})
_UNKNOWN = "0" * 64


class ApiKeyService:
    def __init__(
        self, users: UserStore, keys: InstanceKeys, audit_log: audit.Audit, clock: Callable[[], datetime]
    ) -> None:
        self._users = users
        self._keys = keys
        self._audit = audit_log
        self._clock = clock

    def _digest(self, secret: str) -> str:
        return token_digest(self._keys.digest_key, "api-secret:" + secret)

    async def issue(self, user_id: int) -> tuple[str, str]:
        """A new key and secret for the user; the old pair stops working. The secret is shown once."""
        api_key, api_secret = secrets.token_hex(8), new_token(24)
        await self._users.set_api_credentials(user_id, api_key, self._digest(api_secret), self._clock())
        await self._audit.record("user.api_key_issued", user_id=user_id)
        return api_key, api_secret

    async def authenticate(self, api_key: str, api_secret: str) -> Principal:
        found = await self._users.get_user_by_api_key(api_key) if 0 < len(api_key) <= 64 else None
        user, stored = found if found is not None else (None, None)
        # Compare even for an unknown key, so the answer takes as long either way.
        is_valid = constant_time_equals(stored or _UNKNOWN, self._digest(api_secret[:256]))
        if user is None or stored is None or not is_valid or not user.is_enabled:
            raise InvalidToken("The API key or secret is invalid")
        return Principal(user_id=user.id, client_id=None, scopes=API_KEY_SCOPES, via="api_key")
