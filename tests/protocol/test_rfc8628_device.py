"""RFC 8628's pure rules: user codes people can read and type back, and when a poll is too fast."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from gatepass.protocol.rfc8628_device import (
    USER_CODE_ALPHABET,
    check_poll_timing,
    display_user_code,
    new_user_code,
    normalize_user_code,
)


def test_a_user_code_is_eight_letters_of_the_unambiguous_alphabet_shown_in_two_groups() -> None:
    code = new_user_code(random.Random(8628).choice)
    assert len(code) == 8 and set(code) <= set(USER_CODE_ALPHABET)
    assert not set("AEIOU01") & set(USER_CODE_ALPHABET), "no vowels (no words), no look-alike digits"
    assert display_user_code("BCDFGHJK") == "BCDF-GHJK"


@pytest.mark.parametrize("typed", ["BCDF-GHJK", "bcdf-ghjk", " bcdf ghjk ", "BCDFGHJK", "Bc-Df-Gh-Jk"])
def test_a_typed_user_code_ignores_case_dashes_and_spaces(typed: str) -> None:
    assert normalize_user_code(typed) == "BCDFGHJK"


@pytest.mark.parametrize(
    "typed", ["", "BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ0", "BCDF\u00adGHJK", "<script>"]
)
def test_text_that_cannot_be_a_user_code_is_never_looked_up(typed: str) -> None:
    assert normalize_user_code(typed) is None


def test_a_poll_sooner_than_the_interval_raises_it_by_five_seconds() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert check_poll_timing(None, 5, now) is None
    assert check_poll_timing(now - timedelta(seconds=5), 5, now) is None
    assert check_poll_timing(now - timedelta(seconds=4.9), 5, now) == 10
    assert check_poll_timing(now - timedelta(seconds=9), 10, now) == 15
