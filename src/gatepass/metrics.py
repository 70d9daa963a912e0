"""Prometheus metrics. With several workers they are shared through PROMETHEUS_MULTIPROC_DIR.

Endpoint labels are route templates, never raw paths, so label cardinality stays bounded.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

REQUESTS = Counter("gatepass_http_requests_total", "HTTP requests answered.", ["endpoint", "method", "status"])
LATENCY = Histogram(
    "gatepass_http_request_duration_seconds",
    "Time to answer a request.",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
TOKENS_ISSUED = Counter("gatepass_tokens_issued_total", "Tokens issued, by grant type.", ["grant_type"])
TOKENS_REFRESHED = Counter("gatepass_tokens_refreshed_total", "Refresh grants that rotated a token.")
TOKENS_REVOKED = Counter("gatepass_tokens_revoked_total", "Grants revoked (revocation, reuse detection, admin).")
OAUTH_ERRORS = Counter("gatepass_oauth_errors_total", "OAuth errors returned, by error code.", ["error"])
LOGIN_FAILURES = Counter("gatepass_login_failures_total", "Failed or locked-out password logins.")
RATE_LIMITED = Counter("gatepass_rate_limited_total", "Requests refused by a rate limit.", ["limit"])

_EVENT_COUNTERS = {
    "token.refreshed": TOKENS_REFRESHED,
    "token.revoked": TOKENS_REVOKED,
    "access.revoked": TOKENS_REVOKED,
    "code.reused": TOKENS_REVOKED,
    "refresh.reused": TOKENS_REVOKED,
    "login.failed": LOGIN_FAILURES,
    "login.locked": LOGIN_FAILURES,
}


_request_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    """Count and time one answered request; the labelled series are looked up once per combination."""
    key = (endpoint, method, status)
    series = _request_series.get(key)
    if series is None:
        series = _request_series[key] = (REQUESTS.labels(endpoint, method, str(status)), LATENCY.labels(endpoint))
    series[0].inc()
    series[1].observe(seconds)


def observe_audit_event(event: str, detail: dict[str, object]) -> None:
    if event == "token.issued":
        TOKENS_ISSUED.labels(str(detail.get("grant_type", "unknown"))).inc()
        return
    counter = _EVENT_COUNTERS.get(event)
    if counter is not None:
        counter.inc()


def render_metrics() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
