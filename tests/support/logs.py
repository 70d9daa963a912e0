"""What a test server wrote to its log while a test ran: the log from an offset on, as text or JSON entries."""

from __future__ import annotations

import json
import time
from typing import Any

from support.server import LiveServer


class LogWindow:
    """What a server logged since this window opened."""

    def __init__(self, server: LiveServer) -> None:
        self._path = server.log_path
        self._offset = self._path.stat().st_size

    def text(self) -> str:
        with self._path.open("rb") as log:
            log.seek(self._offset)
            return log.read().decode("utf-8", "replace")

    def entries(self) -> list[dict[str, Any]]:
        """The structured (JSON) lines, in order; tracebacks and other plain lines left out."""
        return [json.loads(line) for line in self.text().splitlines() if line.startswith("{")]

    def wait_for(self, needle: str, timeout_seconds: float = 10) -> str:
        """The text once ``needle`` is in it: the server writes its access log after it answers."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            text = self.text()
            if needle in text:
                return text
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} not logged; the log says: {self.text()[-2000:]}")
