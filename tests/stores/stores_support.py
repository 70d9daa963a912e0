"""What the store-contract tests share: the stores of one backend, and names no other test uses."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gatepass.db.audit import SqlAuditStore
from gatepass.db.base import Database
from gatepass.db.client_assertions import SqlClientAssertionStore
from gatepass.db.clients import SqlClientStore
from gatepass.db.consents import SqlConsentStore
from gatepass.db.device_authorizations import SqlDeviceAuthorizationStore
from gatepass.db.doctypes import SqlDocTypeStore
from gatepass.db.documents import SqlDocumentStore
from gatepass.db.dpop_proofs import SqlDpopProofStore
from gatepass.db.pushed_requests import SqlPushedRequestStore
from gatepass.db.registration import SqlRegistrationStore
from gatepass.db.runtime_settings import SqlSettingsStore
from gatepass.db.signing_keys import SqlSigningKeyStore
from gatepass.db.social import SqlExternalIdentityStore, SqlLoginAttemptStore, SqlProviderStore
from gatepass.db.tokens import SqlCodeStore, SqlTokenStore
from gatepass.db.users import SqlSessionStore, SqlUserStore
from gatepass.protocol.values import ClientInfo
from gatepass.services.stores import (
    ClientRecord,
    DocFieldRecord,
    DocTypeRecord,
    NewUser,
    ProviderConfig,
    ProviderRecord,
    UserRecord,
)

_unique = itertools.count()


def unique(prefix: str) -> str:
    """A name no other test of the session uses: the tests of a backend share one database."""
    return f"{prefix}-{next(_unique)}-{secrets.token_hex(3)}"


def digest() -> str:
    return secrets.token_hex(32)


@dataclass
class Stores:
    backend: str
    database: Database
    users: SqlUserStore
    sessions: SqlSessionStore
    clients: SqlClientStore
    codes: SqlCodeStore
    tokens: SqlTokenStore
    consents: SqlConsentStore
    settings: SqlSettingsStore
    signing_keys: SqlSigningKeyStore
    audit: SqlAuditStore
    doctypes: SqlDocTypeStore
    documents: SqlDocumentStore
    registration: SqlRegistrationStore
    providers: SqlProviderStore
    identities: SqlExternalIdentityStore
    login_attempts: SqlLoginAttemptStore
    pushed_requests: SqlPushedRequestStore
    device_authorizations: SqlDeviceAuthorizationStore
    client_assertions: SqlClientAssertionStore
    dpop_proofs: SqlDpopProofStore

    @property
    def now(self) -> datetime:
        # Whole microseconds in UTC: what every backend keeps.
        return datetime.now(UTC)

    async def user(self, roles: tuple[str, ...] = ()) -> UserRecord:
        email = f"{unique('user')}@example.test"
        return await self.users.add_user(NewUser(email=email, sub=secrets.token_hex(8), roles=roles), self.now)

    async def client(self, **changes: object) -> ClientRecord:
        info = ClientInfo(
            client_id=unique("client"),
            app_name="Contract App",
            client_type="confidential",
            token_endpoint_auth_method="client_secret_basic",
            secret_digest=digest(),
            redirect_uris=("https://app.example/callback",),
            default_redirect_uri=None,
            scopes=("openid", "all"),
            grant_types=("authorization_code", "refresh_token", "client_credentials"),
            response_types=("code",),
        )
        info = ClientInfo(**{**info.__dict__, **changes})
        await self.clients.add_client(info, None, self.now)
        found = await self.clients.get_client(info.client_id)
        assert found is not None
        return found

    async def doctype(self, *fields: DocFieldRecord) -> DocTypeRecord:
        """A new document type (Title, plus any fields given)."""
        name = unique("Contract Type").replace("-", " ")
        doctype = DocTypeRecord(name, (DocFieldRecord("title", "Data", "Title"), *fields), "For the contract tests")
        await self.doctypes.add_doctype(doctype, self.now)
        return doctype

    async def role(self) -> str:
        name = unique("Contract Role")
        await self.users.add_role(name, "", self.now)
        return name

    async def provider(self, **changes: object) -> ProviderRecord:
        config = ProviderConfig(
            name=unique("upstream"),
            display_name="Upstream",
            preset="oidc",
            issuer="https://upstream.example",
            client_id="gatepass-at-upstream",
            client_secret_encrypted="encrypted-secret",
            scopes=("openid", "email"),
            is_enabled=True,
            allow_signup=False,
            allow_unverified_email=False,
            default_roles=(),
            role_map=(),
            role_sync="off",
        )
        return await self.providers.add_provider(ProviderConfig(**{**config.__dict__, **changes}), self.now)


def later(start: datetime, **delta: float) -> datetime:
    return start + timedelta(**delta)
