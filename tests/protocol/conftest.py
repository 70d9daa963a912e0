"""Builders shared by the protocol tests: one baseline value per record type, changed per case by overrides.

Every baseline is valid on its own, so a case that overrides one field tests exactly that field.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gatepass.protocol.tokens import token_digest
from gatepass.protocol.values import (
    AUTH_BASIC,
    GRANT_AUTHORIZATION_CODE,
    GRANT_REFRESH_TOKEN,
    ClientInfo,
    CodeRecord,
    RefreshRecord,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

#: The clock every protocol test runs at; the protocol never reads the real clock.
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DIGEST_KEY = b"protocol-tests-digest-key-32byte"
CLIENT_SECRET = "correct-client-secret"
REDIRECT_URI = "https://app.example.com/callback"


def load_fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def rfc7636_appendix_b() -> dict[str, Any]:
    """The RFC 7636 Appendix B example: code_verifier, code_challenge and method."""
    return load_fixture("rfc7636_appendix_b.json")


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def digest_key() -> bytes:
    return DIGEST_KEY


@pytest.fixture
def client_secret() -> str:
    return CLIENT_SECRET


@pytest.fixture
def make_client() -> Callable[..., ClientInfo]:
    """A confidential client_secret_basic client for the authorization code flow, PKCE required."""

    def make(**overrides: Any) -> ClientInfo:
        base = ClientInfo(
            client_id="app-1",
            app_name="Example App",
            client_type="confidential",
            token_endpoint_auth_method=AUTH_BASIC,
            secret_digest=token_digest(DIGEST_KEY, CLIENT_SECRET),
            redirect_uris=(REDIRECT_URI,),
            default_redirect_uri=None,
            scopes=("openid", "profile", "email"),
            grant_types=(GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN),
            response_types=("code",),
        )
        return dataclasses.replace(base, **overrides)

    return make


@pytest.fixture
def make_code(rfc7636_appendix_b: dict[str, Any]) -> Callable[..., CodeRecord]:
    """An unused, unexpired code for app-1, issued with redirect_uri sent and an S256 challenge."""

    def make(**overrides: Any) -> CodeRecord:
        base = CodeRecord(
            code_id=1,
            client_id="app-1",
            user_id=7,
            redirect_uri=REDIRECT_URI,
            redirect_uri_was_sent=True,
            scopes=("openid", "profile"),
            code_challenge=rfc7636_appendix_b["code_challenge"],
            code_challenge_method="S256",
            nonce=None,
            auth_time=NOW - timedelta(minutes=1),
            expires_at=NOW + timedelta(minutes=1),
            consumed_at=None,
        )
        return dataclasses.replace(base, **overrides)

    return make


@pytest.fixture
def make_refresh() -> Callable[..., RefreshRecord]:
    """A live, never rotated refresh token of app-1 granted openid, profile and email."""

    def make(**overrides: Any) -> RefreshRecord:
        base = RefreshRecord(
            refresh_id=11,
            family_id=3,
            client_id="app-1",
            user_id=7,
            scopes=("openid", "profile", "email"),
            expires_at=NOW + timedelta(days=30),
            rotated_at=None,
            revoked_at=None,
            auth_time=NOW - timedelta(hours=1),
        )
        return dataclasses.replace(base, **overrides)

    return make
