"""A session's device, in the words its owner reads in their list, from the browser's User-Agent."""

from __future__ import annotations

import pytest

from gatepass.services.browser_sessions import describe_device


@pytest.mark.parametrize(
    ("user_agent", "device"),
    [
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Windows"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
            "Safari/605.1.15",
            "Safari on macOS",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 "
            "Safari/537.36 Edg/126.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "CriOS/126.0 Mobile/15E148 Safari/604.1",
            "Chrome on iPhone",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0 Safari/537.36",
            "Chrome on Linux",
        ),
        ("curl/8.5.0", "curl"),
        ("something else", "Unknown browser"),
        ("", "Unknown device"),
        (None, "Unknown device"),
    ],
    ids=["firefox", "safari", "edge", "chrome-ios", "headless", "curl", "unknown", "empty", "none"],
)
def test_the_device_is_named_by_browser_and_system(user_agent: str | None, device: str) -> None:
    assert describe_device(user_agent) == device
