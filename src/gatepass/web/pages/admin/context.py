"""What the admin pages reach through ``request.app.state.admin``: the services, built in app.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request

from gatepass.config import Settings
from gatepass.rp import CheckLine
from gatepass.services.accounts import AccountService
from gatepass.services.api_keys import ApiKeyService
from gatepass.services.audit import Audit
from gatepass.services.clients import ClientService
from gatepass.services.doctypes import DocTypeService
from gatepass.services.keys import KeyService
from gatepass.services.providers import ProviderService
from gatepass.services.revoke import RevocationService
from gatepass.services.runtime import RuntimeSettingsService


@dataclass(frozen=True)
class AdminContext:
    issuer: str
    accounts: AccountService
    clients: ClientService
    revocation: RevocationService
    runtime: RuntimeSettingsService
    audit: Audit
    signing_keys: KeyService
    doctypes: DocTypeService
    api_keys: ApiKeyService
    #: Shown read-only on the settings page (deployment configuration: changed by restarting).
    settings: Settings
    #: Delete expired and revoked codes, tokens and sessions (what `gatepass purge` does); returns the count.
    purge: Callable[[], Awaitable[int]]
    #: Login providers ("Log in with …", issue 7), and the test `gatepass provider check NAME` runs.
    providers: ProviderService
    check_provider: Callable[[str], Awaitable[list[CheckLine]]]


def admin(request: Request) -> AdminContext:
    context: AdminContext = request.app.state.admin
    return context
