"""Second factors, step-up and the two-factor policy run on the SQLite clock server: their rows (factors,
used steps, recovery codes, the policy setting) have contract tests on every backend in
tests/stores/test_second_factor_store.py and test_settings_and_key_stores.py (see support/backends.py's
FLOW_BACKENDS)."""

from __future__ import annotations

import pytest

from support.clock_server import ClockServer


@pytest.fixture(scope="session")
def clock_server(sqlite_clock_server: ClockServer) -> ClockServer:
    return sqlite_clock_server
