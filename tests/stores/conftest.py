"""The stores themselves, on each backend: the same assertions on SQLite, PostgreSQL and MariaDB.

A store is the data layer's contract with the services (services/stores.py). Each backend reaches
it by its own path (SQLAlchemy; on a SQLite file the group-commit writer; on PostgreSQL and MariaDB
the driver statements), so these tests call the stores in this process, on a fresh migrated
database per backend, exactly as the app builds them (gatepass.app.build_gatepass does the same),
with the read cache told of every write the way the app tells it, so a write a cached read misses fails here.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gatepass.cache.reads import ChangeStamp, ReadCache
from gatepass.config import load_settings
from gatepass.db.audit import SqlAuditStore
from gatepass.db.base import Database
from gatepass.db.clients import SqlClientStore
from gatepass.db.consents import SqlConsentStore
from gatepass.db.doctypes import SqlDocTypeStore
from gatepass.db.documents import SqlDocumentStore
from gatepass.db.driver import create_driver_pool
from gatepass.db.engine import announce_changes, create_engine, create_sqlite_writer
from gatepass.db.migrate import upgrade_to_head
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
from support.backends import BACKENDS, require_backend
from support.backends import Database as TestDatabase

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


def _read_cache(database: Database, var_dir: Path, max_age_seconds: int) -> ReadCache:
    """The read cache as the app builds it on one node: every write path tells it what it changed."""
    cache = ReadCache(ChangeStamp(var_dir / "run" / "changes"), max_age_seconds=max_age_seconds)
    announce_changes(database.engine, cache.changed)
    if database.sqlite_writer is not None:
        database.sqlite_writer.on_change = cache.changed
    if database.driver_pool is not None:
        database.driver_pool.on_change = cache.changed
    return cache


@pytest.fixture(
    scope="session", params=[pytest.param(backend, marks=pytest.mark.backend(backend)) for backend in BACKENDS]
)
async def stores(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stores]:
    backend: str = request.param
    require_backend(backend)
    var_dir: Path = tmp_path_factory.mktemp(f"stores-{backend}")
    test_database = TestDatabase.create(backend, var_dir)
    settings = load_settings({"GATEPASS_DATABASE_URL": test_database.url, "GATEPASS_SERVER_VAR_DIR": str(var_dir)})
    engine = create_engine(settings)
    try:
        await upgrade_to_head(engine)
        database = Database.of(engine, create_sqlite_writer(engine), create_driver_pool(engine, pool_size=4))
        cache = _read_cache(database, var_dir, settings.database.read_cache_seconds)
        # The same stores read through the cache as in gatepass.app.build_gatepass.
        yield Stores(
            backend,
            database,
            users=SqlUserStore(database, cache),
            sessions=SqlSessionStore(database),
            clients=SqlClientStore(database, cache),
            codes=SqlCodeStore(database),
            tokens=SqlTokenStore(database, cache),
            consents=SqlConsentStore(database),
            settings=SqlSettingsStore(database, cache),
            signing_keys=SqlSigningKeyStore(database, cache),
            audit=SqlAuditStore(database),
            doctypes=SqlDocTypeStore(database, cache),
            documents=SqlDocumentStore(database),
            registration=SqlRegistrationStore(database),
            providers=SqlProviderStore(database),
            identities=SqlExternalIdentityStore(database),
            login_attempts=SqlLoginAttemptStore(database),
        )
        if database.sqlite_writer is not None:
            database.sqlite_writer.close()
        if database.driver_pool is not None:
            await database.driver_pool.close()
    finally:
        await engine.dispose()
        test_database.drop()


def later(start: datetime, **delta: float) -> datetime:
    return start + timedelta(**delta)
