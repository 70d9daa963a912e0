"""The ``gatepass`` command: one module per command group, all on the root group of cli/app.py."""

from gatepass.cli import (  # noqa: F401  (each module adds its commands to the root group)
    clients,
    documents,
    exchange_policies,
    frappe_import,
    keys,
    providers,
    registration,
    runtime_settings,
    server,
    users,
)
from gatepass.cli.app import main

__all__ = ["main"]
