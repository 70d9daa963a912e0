"""The stores themselves, on each backend: the same assertions on SQLite, PostgreSQL and MariaDB.

A store is the data layer's contract with the services (services/stores.py). Each backend reaches
it by its own path (SQLAlchemy; on a SQLite file the group-commit writer; on PostgreSQL and MariaDB
the driver statements), so these tests call the stores in this process, on a fresh migrated
database per backend, exactly as the app builds them (gatepass.app.build_gatepass does the same),
with the read cache told of every write the way the app tells it, so a write a cached read misses fails here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from stores_support import Stores

from gatepass.cache.reads import ChangeStamp, ReadCache
from gatepass.config import load_settings
from gatepass.db.audit import SqlAuditStore
from gatepass.db.base import Database
from gatepass.db.client_assertions import SqlClientAssertionStore
from gatepass.db.clients import SqlClientStore
from gatepass.db.consents import SqlConsentStore
from gatepass.db.device_authorizations import SqlDeviceAuthorizationStore
from gatepass.db.doctypes import SqlDocTypeStore
from gatepass.db.documents import SqlDocumentStore
from gatepass.db.dpop_proofs import SqlDpopProofStore
from gatepass.db.driver import create_driver_pool
from gatepass.db.engine import announce_changes, create_engine, create_sqlite_reader, create_sqlite_writer
from gatepass.db.migrate import upgrade_to_head
from gatepass.db.pushed_requests import SqlPushedRequestStore
from gatepass.db.registration import SqlRegistrationStore
from gatepass.db.runtime_settings import SqlSettingsStore
from gatepass.db.signing_keys import SqlSigningKeyStore
from gatepass.db.social import SqlExternalIdentityStore, SqlLoginAttemptStore, SqlProviderStore
from gatepass.db.tokens import SqlCodeStore, SqlTokenStore
from gatepass.db.users import SqlSessionStore, SqlUserStore
from support.backends import BACKENDS, require_backend
from support.backends import Database as TestDatabase


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
        database = Database.of(
            engine,
            create_sqlite_writer(engine),
            create_driver_pool(engine, pool_size=4) or create_sqlite_reader(engine),
        )
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
            pushed_requests=SqlPushedRequestStore(database),
            device_authorizations=SqlDeviceAuthorizationStore(database),
            client_assertions=SqlClientAssertionStore(database),
            dpop_proofs=SqlDpopProofStore(database),
        )
        if database.sqlite_writer is not None:
            database.sqlite_writer.close()
        if database.driver_pool is not None:
            await database.driver_pool.close()
    finally:
        await engine.dispose()
        test_database.drop()
