"""The security tests drive flows with the flow tests' helpers (tests/flows/flows_support.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_FLOWS = str(Path(__file__).resolve().parent.parent / "flows")
if _FLOWS not in sys.path:
    sys.path.insert(0, _FLOWS)

# The helpers assert too: have pytest explain their failures.
pytest.register_assert_rewrite("flows_support")
