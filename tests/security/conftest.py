"""Fixtures of the security tests: a document-API token on each backend's shared server."""

from __future__ import annotations

import pytest

from support.provision import issue_api_token
from support.server import LiveServer


@pytest.fixture(scope="module")
def api_token(server: LiveServer) -> str:
    """An access token with scope all for the document API, acting as a new user (one per module and backend)."""
    return issue_api_token(server, name="Security tests")
