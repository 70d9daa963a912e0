"""Structured JSON logs with a request id, and a filter that keeps credentials out of every line.

Nothing that can be replayed (tokens, codes, client secrets, passwords, cookies, Authorization
headers) may reach a log line; the filter scrubs messages and arguments before formatting.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("gatepass_request_id", default=None)

_SECRET_PARAMS = (
    "access_token|refresh_token|id_token|token|code|code_verifier|client_secret|password|api_secret|"
    "id_token_hint|registration_access_token|state|nonce"
)
_PATTERNS = (
    # key=value in query strings and form bodies
    re.compile(rf"(?i)\b({_SECRET_PARAMS})=([^&\s\"']+)"),
    # "key": "value" in JSON
    re.compile(rf"(?i)\"({_SECRET_PARAMS})\"\s*:\s*\"([^\"]*)\""),
    # Authorization / Cookie header values
    re.compile(r"(?i)\b(authorization|cookie|set-cookie)(\s*[:=]\s*)([^\n]+)"),
    # bare bearer and basic credentials
    re.compile(r"(?i)\b(bearer|basic|token)\s+([A-Za-z0-9\-._~+/:=]{8,})"),
)


def redact(text: str) -> str:
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)}=[redacted]", text)
    text = _PATTERNS[1].sub(lambda m: f'"{m.group(1)}": "[redacted]"', text)
    text = _PATTERNS[2].sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
    return _PATTERNS[3].sub(lambda m: f"{m.group(1)} [redacted]", text)


#: Set on a record (``extra={UNREDACTED: True}``) that must keep a one-time link whole: only the development mail
#: written to the log when no SMTP server is configured (mail/__init__.py), so a developer can follow its link.
UNREDACTED = "gatepass_unredacted"


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            try:
                record.msg = record.getMessage()
            except (TypeError, ValueError):
                record.msg = str(record.msg)
            record.args = None
        if not getattr(record, UNREDACTED, False):
            record.msg = redact(str(record.msg))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key in ("audit", "http"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure_logging(level: str = "info") -> None:
    """JSON lines on stderr for gatepass, uvicorn and everything else, redacted."""
    # The JSON lines name no source line, thread, process or task, so each record need not look them up
    # (the logging documentation's "Optimization" knobs): a sixth of what an access line costs.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # (Python 3.12 and later also name the asyncio task.)
    setattr(logging, "logAsyncioTasks", False)  # noqa: B010
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Gatepass writes its own access line (gatepass.access) without the query string.
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
    # SQL echo would print digests and parameters; keep it at warning unless asked for.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
