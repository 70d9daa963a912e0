"""Shared helpers of the tests, one concept per module: import them from the module that holds them."""

from support.backends import (
    BACKENDS,
    IS_CI,
    MARIADB_URL,
    POSTGRES_URL,
    Database,
    backend_unavailable_reason,
    require,
)
from support.cli import CLI_RUNS, run_gatepass
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, REDIRECT_URI, LiveServer, free_port, unique_email

__all__ = [
    "ADMIN_EMAIL",
    "ADMIN_PASSWORD",
    "BACKENDS",
    "CLI_RUNS",
    "IS_CI",
    "MARIADB_URL",
    "POSTGRES_URL",
    "REDIRECT_URI",
    "Database",
    "LiveServer",
    "backend_unavailable_reason",
    "free_port",
    "require",
    "run_gatepass",
    "unique_email",
]
