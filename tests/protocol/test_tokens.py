"""Random tokens, their keyed digests, constant-time comparison and the OIDC half hash."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any

import pytest

from gatepass.protocol.tokens import constant_time_equals, derive_key, half_hash, new_client_id, new_token, token_digest

URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


@pytest.mark.parametrize(
    ("nbytes", "length"), [(32, 43), (16, 22), (64, 86)], ids=["default 256 bits", "128 bits", "512 bits"]
)
def test_new_token_is_url_safe_unpadded_base64_of_nbytes(nbytes: int, length: int) -> None:
    token = new_token(nbytes)

    assert len(token) == length
    assert URL_SAFE.match(token)


def test_new_token_defaults_to_256_bits() -> None:
    assert len(new_token()) == 43


def test_new_token_returns_a_different_value_each_call() -> None:
    assert len({new_token() for _ in range(50)}) == 50


def test_token_digest_is_hex_hmac_sha256_rfc4231_test_case_2() -> None:
    # RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
    assert token_digest(b"Jefe", "what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_token_digest_depends_on_the_key() -> None:
    assert token_digest(b"key-one", "token") != token_digest(b"key-two", "token")


def test_token_digest_never_contains_the_token() -> None:
    token = new_token()

    digest = token_digest(b"k" * 32, token)

    assert token not in digest
    assert re.fullmatch(r"[0-9a-f]{64}", digest)


EQUALITY: dict[str, tuple[str, str, bool]] = {
    "identical": ("abc", "abc", True),
    "different last char": ("abc", "abd", False),
    "prefix": ("abc", "abcd", False),
    "empty and empty": ("", "", True),
    "empty and non-empty": ("", "a", False),
    "case differs": ("ABC", "abc", False),
    "non-ASCII identical": ("café", "café", True),
    "non-ASCII differs": ("café", "cafe", False),
}


@pytest.mark.parametrize(("left", "right", "expected"), list(EQUALITY.values()), ids=list(EQUALITY))
def test_constant_time_equals_compares_whole_strings(left: str, right: str, expected: bool) -> None:
    assert constant_time_equals(left, right) is expected


def test_derive_key_is_hmac_of_the_purpose_under_the_instance_secret() -> None:
    secret = b"instance-secret"

    key = derive_key(secret, "token-digest")

    assert len(key) == 32
    assert key == hmac.new(secret, b"gatepass/token-digest", hashlib.sha256).digest()


def test_derive_key_gives_a_separate_key_per_purpose() -> None:
    assert derive_key(b"instance-secret", "token-digest") != derive_key(b"instance-secret", "client-secret")


FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "oidc_core_appendix_a_hashes.json"
OIDC_HASHES: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))["vectors"]


@pytest.mark.parametrize("vector", OIDC_HASHES, ids=[vector["claim"] for vector in OIDC_HASHES])
def test_half_hash_matches_the_oidc_core_appendix_a_examples(vector: dict[str, str]) -> None:
    assert half_hash(vector["value"]) == vector["hash"]


def test_generated_client_ids_never_start_with_a_dash_that_a_command_line_would_read_as_an_option() -> None:
    client_ids = [new_client_id() for _ in range(3000)]
    assert not [client_id for client_id in client_ids if client_id.startswith("-")]
    assert len(set(client_ids)) == len(client_ids)
    assert all(len(client_id) >= 22 for client_id in client_ids)
