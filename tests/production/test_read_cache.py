"""The per-worker read cache (cache/reads.py): whatever changes, every worker and every node sees it.

Every test first warms the caches with the reads it is about, then changes the rows behind them
from another process (the CLI), another worker (the console) or another node, and asserts that the
very next answers, on every worker, follow the change. A probe that writes to the database behind
Gatepass's back (so nothing is announced) shows whether a cache is on at all, so the tests cannot
pass merely because every read went to the database.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import jwt
import pytest
from flow import authorization_code_flow
from private_servers import PrivateRedis

from gatepass.cache.reads import RECORDS, TOKENS, ChangeStamp, ReadCache
from support.backends import Database, backend_unavailable_reason, require
from support.html import input_values
from support.server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer, free_port

ROUNDS = 20
CHANNEL = "gatepass:changes"


def _fresh_connections(server: LiveServer) -> httpx.AsyncClient:
    """A client that opens a new connection per request, so the kernel spreads them over the workers."""
    return httpx.AsyncClient(base_url=server.url, timeout=15, limits=httpx.Limits(max_keepalive_connections=0))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _userinfo(server: LiveServer, token: str, rounds: int = ROUNDS) -> list[httpx.Response]:
    async with _fresh_connections(server) as http:
        return [await http.get("/oauth/userinfo", headers=_bearer(token)) for _ in range(rounds)]


async def _documents(server: LiveServer, token: str, doctype: str) -> list[int]:
    async with _fresh_connections(server) as http:
        return [(await http.get(f"/api/resource/{doctype}", headers=_bearer(token))).status_code for _ in range(ROUNDS)]


async def _introspect(server: LiveServer, auth: tuple[str, str], token: str) -> list[httpx.Response]:
    async with _fresh_connections(server) as http:
        return [await http.post("/oauth/introspect", data={"token": token}, auth=auth) for _ in range(ROUNDS)]


async def _revoke(server: LiveServer, auth: tuple[str, str], token: str) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as http:
        revoked = await http.post("/oauth/revoke", data={"token": token}, auth=auth)
    assert revoked.status_code == 200, revoked.text


def _statuses(answers: list[httpx.Response]) -> list[int]:
    return [answer.status_code for answer in answers]


async def _poll_until_refused(server: LiveServer, token: str, *, within: float) -> None:
    """``server`` must refuse ``token`` within ``within`` seconds, and from then on every time."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as http:
        while True:
            answer = await http.get("/oauth/userinfo", headers=_bearer(token))
            waited = time.monotonic() - started
            if answer.status_code != 200:
                assert answer.status_code == 401, answer.text
                break
            assert waited < within, f"{server.url} still accepts the revoked token after {waited:.2f} s"
            await asyncio.sleep(0.02)
    assert _statuses(await _userinfo(server, token)) == [401] * ROUNDS


def _service_client(server: LiveServer, service_user: str = ADMIN_EMAIL) -> tuple[str, str]:
    """A client whose client_credentials tokens act as ``service_user``; returns its credentials."""
    client = server.create_client(
        "--grant-type", "client_credentials", "--service-user", service_user,
        "--scope", "openid", "--scope", "profile", "--scope", "roles", name="Cache bot",
    )  # fmt: skip
    return client["client_id"], client["client_secret"]


async def _client_credentials_token(server: LiveServer, auth: tuple[str, str], scope: str) -> str:
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as http:
        issued = await http.post("/oauth/token", data={"grant_type": "client_credentials", "scope": scope}, auth=auth)
    assert issued.status_code == 200, issued.text
    token: str = issued.json()["access_token"]
    return token


# -- writing behind Gatepass's back: shows whether a cache answers at all ------------------------


def _rename_behind_the_back(database: Database, email: str, first_name: str) -> None:
    """Change a user row without Gatepass knowing: no stamp, no notice."""
    if database.backend == "sqlite":
        with sqlite3.connect(database.url.removeprefix("sqlite:///"), timeout=10) as connection:
            connection.execute("UPDATE users SET first_name = ? WHERE email = ?", (first_name, email))
        return

    async def rename() -> None:
        connection = await asyncpg.connect(database.url)
        try:
            await connection.execute("UPDATE users SET first_name = $1 WHERE email = $2", first_name, email)
        finally:
            await connection.close()

    asyncio.run(rename())


async def _names_after_a_silent_rename(server: LiveServer, token: str, email: str) -> list[str]:
    """given_name as userinfo shows it, after renaming the user without any announcement."""
    new_name = f"Silent{secrets.token_hex(3)}"
    await asyncio.to_thread(_rename_behind_the_back, server.database, email, new_name)
    return ["new" if answer.json()["given_name"] == new_name else "old" for answer in await _userinfo(server, token)]


# -- the console, as an admin uses it ------------------------------------------------------------


async def _disable_client_in_console(server: LiveServer, client_id: str) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as admin:
        form = input_values((await admin.get("/login")).text)
        logged_in = await admin.post("/login", data={**form, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert logged_in.status_code == 303, logged_in.text[:300]
        csrf = input_values((await admin.get("/login?switch=1")).text)["csrf_token"]
        disabled = await admin.post(f"/admin/clients/{client_id}/enabled", data={"enabled": "0", "csrf_token": csrf})
    assert disabled.headers.get("location") == f"/admin/clients/{client_id}?notice=client_disabled", disabled.text


# -- one node with two workers on SQLite --------------------------------------------------------

ADMIN = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """SQLite (read_cache auto: on) with two workers sharing var_dir, hence the change stamp."""
    var_dir = tmp_path_factory.mktemp("read-cache-sqlite")
    live = LiveServer(
        "sqlite", var_dir, Database.create("sqlite", var_dir), extra_env={"GATEPASS_SERVER_WORKERS": "2"}
    ).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def app(two_workers: LiveServer) -> dict[str, str]:
    """A confidential client of the code flow, with refresh tokens."""
    client: dict[str, str] = two_workers.create_client(name="Cache watcher")
    return client


async def test_roles_permissions_revocation_and_disabling_are_seen_by_every_worker_at_once(
    two_workers: LiveServer, app: dict[str, str]
) -> None:
    server, tag = two_workers, secrets.token_hex(3)
    role, doctype = f"Auditor{tag}", f"Ledger{tag}"
    user, *_ = await asyncio.gather(
        asyncio.to_thread(server.create_user),
        asyncio.to_thread(server.cli, "role", "add", role),
        asyncio.to_thread(server.cli, "doctype", "add", doctype, "--field", "title:Data"),
    )
    server.cli("permission", "set", doctype, role, "--read")
    scope = "openid roles profile email all"
    token = (await authorization_code_flow(server, app, user, scope=scope))["access_token"]

    warm = await _userinfo(server, token)
    assert _statuses(warm) == [200] * ROUNDS
    roles_before = warm[0].json()["roles"]
    assert role not in roles_before
    assert [answer.json()["roles"] for answer in warm] == [roles_before] * ROUNDS
    assert await _documents(server, token, doctype) == [403] * ROUNDS

    # SQLite means `auto` is on: a write nobody announced is not seen by a worker holding the user.
    assert "old" in await _names_after_a_silent_rename(server, token, user["email"])

    # A role given by the CLI: userinfo and the document API follow on the very next request.
    server.cli("user", "roles", user["email"], "--add", role)
    answers = await _userinfo(server, token)
    assert _statuses(answers) == [200] * ROUNDS
    assert [sorted(answer.json()["roles"]) for answer in answers] == [sorted([*roles_before, role])] * ROUNDS
    assert await _documents(server, token, doctype) == [200] * ROUNDS

    # The permission row removed by the CLI: refused at once, though the user's roles did not change.
    server.cli("permission", "set", doctype, role)
    assert await _documents(server, token, doctype) == [403] * ROUNDS

    # Revoked through the revocation endpoint (served by one worker): every worker refuses it.
    await _revoke(server, (app["client_id"], app["client_secret"]), token)
    assert await _documents(server, token, doctype) == [401] * ROUNDS
    assert _statuses(await _userinfo(server, token)) == [401] * ROUNDS

    # A user disabled by the CLI: their next token stops on every worker at once.
    token = (await authorization_code_flow(server, app, user, scope=scope))["access_token"]
    assert _statuses(await _userinfo(server, token)) == [200] * ROUNDS
    server.cli("user", "disable", user["email"])
    assert _statuses(await _userinfo(server, token)) == [401] * ROUNDS


async def test_a_client_given_a_new_secret_or_disabled_is_refused_by_every_worker_at_once(
    two_workers: LiveServer,
) -> None:
    server = two_workers
    client_id, secret = _service_client(server)
    token = await _client_credentials_token(server, (client_id, secret), "openid")
    warm = await _introspect(server, (client_id, secret), token)
    assert [answer.json()["active"] for answer in warm] == [True] * ROUNDS

    # A new secret from the CLI: the old one fails at once, the new one works at once.
    rotated = json.loads(server.cli("client", "rotate-secret", client_id, "--json").stdout)["client_secret"]
    refused = await _introspect(server, (client_id, secret), token)
    assert _statuses(refused) == [401] * ROUNDS
    renewed = await _introspect(server, (client_id, rotated), token)
    assert [answer.json()["active"] for answer in renewed] == [True] * ROUNDS

    # Disabled in the console, so by a write in one of the workers.
    await _disable_client_in_console(server, client_id)
    refused = await _introspect(server, (client_id, rotated), token)
    assert _statuses(refused) == [401] * ROUNDS
    assert {answer.json()["error"] for answer in refused} == {"invalid_client"}


async def test_rotated_keys_sign_the_next_id_token_on_every_worker(
    two_workers: LiveServer, app: dict[str, str]
) -> None:
    server, auth = two_workers, (app["client_id"], app["client_secret"])
    tokens = await authorization_code_flow(server, app, ADMIN, scope="openid")
    refresh_token = tokens["refresh_token"]
    old_kid, alg = (jwt.get_unverified_header(tokens["id_token"])[name] for name in ("kid", "alg"))

    async def refreshed_kids() -> list[str]:
        nonlocal refresh_token
        kids = []
        async with _fresh_connections(server) as http:
            for _ in range(ROUNDS):
                grant = {"grant_type": "refresh_token", "refresh_token": refresh_token}
                answer = await http.post("/oauth/token", data=grant, auth=auth)
                assert answer.status_code == 200, answer.text
                refresh_token, id_token = answer.json()["refresh_token"], answer.json()["id_token"]
                kids.append(jwt.get_unverified_header(id_token)["kid"])
                published = (await http.get("/.well-known/jwks.json")).json()["keys"]
                signer = next(key for key in published if key["kid"] == kids[-1])
                jwt.decode(id_token, jwt.PyJWK(signer).key, algorithms=[alg], audience=app["client_id"])
        return kids

    assert await refreshed_kids() == [old_kid] * ROUNDS
    rotated = server.cli("keys", "rotate", "--grace-seconds", "0").stdout
    new_kids = {line.split()[2].rstrip(":") for line in rotated.splitlines() if line.startswith("New key ")}
    async with _fresh_connections(server) as http:
        published = [(await http.get("/.well-known/jwks.json")).json()["keys"] for _ in range(ROUNDS)]
    new_kid = next(key["kid"] for key in published[0] if key["kid"] in new_kids and key["alg"] == alg)
    assert all({old_kid, new_kid} <= {key["kid"] for key in keys} for keys in published)
    assert await refreshed_kids() == [new_kid] * ROUNDS


# -- nodes on one PostgreSQL database -----------------------------------------------------------


def _redis_subscribers(redis: PrivateRedis) -> int:
    answer = subprocess.run(
        ["redis-cli", "-p", str(redis.port), "pubsub", "numsub", CHANNEL], capture_output=True, text=True, timeout=10
    )
    lines = answer.stdout.split()
    return int(lines[1]) if len(lines) == 2 and lines[1].isdigit() else 0


async def _wait_for_subscribers(redis: PrivateRedis, count: int, within: float) -> None:
    deadline = time.monotonic() + within
    while (found := await asyncio.to_thread(_redis_subscribers, redis)) < count:
        assert time.monotonic() < deadline, f"{found} of {count} workers subscribed to {CHANNEL} after {within} s"
        await asyncio.sleep(0.1)


@dataclass
class Nodes:
    """Servers with their own var_dir (so no shared stamp) on one database, with one instance secret."""

    database: Database
    redis: PrivateRedis
    a: LiveServer
    b: LiveServer
    #: A service user and a client acting as them, for every test here.
    user: dict[str, str]
    auth: tuple[str, str]

    def start_another(
        self, tmp_path_factory: pytest.TempPathFactory, name: str, read_cache: str = "auto"
    ) -> LiveServer:
        """A node without Redis on the same database."""
        env = {
            "GATEPASS_SERVER_INSTANCE_SECRET": self.a.env["GATEPASS_SERVER_INSTANCE_SECRET"],
            "GATEPASS_DATABASE_READ_CACHE": read_cache,
        }
        return LiveServer("postgresql", tmp_path_factory.mktemp(name), self.database, extra_env=env).start()

    async def token(self, node: LiveServer | None = None) -> str:
        return await _client_credentials_token(node or self.a, self.auth, "openid profile roles")


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    """Nodes A and B, both with Redis. Its `timeout 1` drops clients idle for a second, as deployments may."""
    require(backend_unavailable_reason("postgresql"))
    require(None if shutil.which("redis-server") else "redis-server is not installed")
    redis = PrivateRedis(free_port(), args=("--timeout", "1"))
    redis.start()
    database = Database.create("postgresql", tmp_path_factory.mktemp("read-cache-pg"))
    env = {"GATEPASS_SERVER_INSTANCE_SECRET": secrets.token_urlsafe(48), "GATEPASS_REDIS_URL": redis.url}
    started: list[LiveServer] = []
    try:
        # One after the other: each migrates the schema as it starts.
        for name in ("node-a", "node-b"):
            started.append(LiveServer("postgresql", tmp_path_factory.mktemp(name), database, extra_env=env).start())
        user = started[0].create_user()
        yield Nodes(database, redis, started[0], started[1], user, _service_client(started[0], user["email"]))
    finally:
        for live in started:
            live.stop()
        database.drop()
        redis.stop()


async def test_changes_on_one_node_reach_the_other_through_redis(nodes: Nodes) -> None:
    await _wait_for_subscribers(nodes.redis, 2, within=10)
    token = await nodes.token()
    assert _statuses(await _userinfo(nodes.a, token)) == [200] * ROUNDS
    assert _statuses(await _userinfo(nodes.b, token)) == [200] * ROUNDS
    # With Redis, `auto` turns the cache on for PostgreSQL too.
    assert await _names_after_a_silent_rename(nodes.a, token, nodes.user["email"]) == ["old"] * ROUNDS

    await _revoke(nodes.b, nodes.auth, token)
    await _poll_until_refused(nodes.a, token, within=2)

    # Node B quiet for longer than Redis keeps an idle client: its next notice must still get through.
    # (Redis drops a client once idle for more than `timeout` whole seconds, so wait well past 2 s.)
    token = await nodes.token()
    assert _statuses(await _userinfo(nodes.a, token)) == [200] * ROUNDS
    await asyncio.sleep(2.5)
    await _revoke(nodes.b, nodes.auth, token)
    await _poll_until_refused(nodes.a, token, within=2)

    # The CLI of a node announces through Redis too: a role given from node B's CLI.
    token = await nodes.token()
    assert "System Manager" not in (await _userinfo(nodes.a, token, rounds=1))[0].json()["roles"]
    nodes.b.cli("user", "roles", nodes.user["email"], "--add", "System Manager")
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=nodes.a.url, timeout=15) as http:
        while "System Manager" not in (await http.get("/oauth/userinfo", headers=_bearer(token))).json()["roles"]:
            assert time.monotonic() - started < 2, "node A still shows the old roles after 2 s"
            await asyncio.sleep(0.02)
    assert {"System Manager" in answer.json()["roles"] for answer in await _userinfo(nodes.a, token)} == {True}


async def test_while_redis_is_down_a_node_reads_through_and_recovers_when_it_is_back(nodes: Nodes) -> None:
    redis = nodes.redis
    await _wait_for_subscribers(redis, 2, within=10)
    token = await nodes.token()
    assert _statuses(await _userinfo(nodes.a, token)) == [200] * ROUNDS

    await asyncio.to_thread(redis.stop)
    try:
        # Node B's notice is lost; node A cannot know, so it must not trust its cache now.
        await _revoke(nodes.b, nodes.auth, token)
        assert _statuses(await _userinfo(nodes.a, token)) == [401] * ROUNDS
    finally:
        await asyncio.to_thread(redis.start)

    # Back: the revoked token stays refused throughout, and the notices flow again.
    deadline = time.monotonic() + 10
    while await asyncio.to_thread(_redis_subscribers, redis) < 2:
        assert _statuses(await _userinfo(nodes.a, token, rounds=1)) == [401]
        assert time.monotonic() < deadline, "the nodes did not subscribe again within 10 s of Redis coming back"
        await asyncio.sleep(0.1)
    assert _statuses(await _userinfo(nodes.a, token)) == [401] * ROUNDS
    fresh = await nodes.token()
    assert _statuses(await _userinfo(nodes.a, fresh)) == [200] * ROUNDS
    await _revoke(nodes.b, nodes.auth, fresh)
    await _poll_until_refused(nodes.a, fresh, within=2)


async def test_a_blip_of_redis_loses_no_notice(nodes: Nodes) -> None:
    """Redis back at once: what was announced while it was away still empties the other node's cache."""
    redis = nodes.redis
    await _wait_for_subscribers(redis, 2, within=10)
    token = await nodes.token()
    assert _statuses(await _userinfo(nodes.a, token)) == [200] * ROUNDS

    await asyncio.to_thread(redis.stop)
    try:
        await _revoke(nodes.b, nodes.auth, token)
    finally:
        await asyncio.to_thread(redis.start)
    await _wait_for_subscribers(redis, 2, within=10)
    assert _statuses(await _userinfo(nodes.a, token)) == [401] * ROUNDS


async def _listening_sessions(database: Database) -> list[int]:
    """The PostgreSQL sessions that listen for change notices (their last statement was the LISTEN)."""
    connection = await asyncpg.connect(database.url)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'"
        )
    finally:
        await connection.close()
    return [row["pid"] for row in rows]


async def _wait_for_listeners(database: Database, count: int, within: float, other_than: tuple[int, ...] = ()) -> None:
    deadline = time.monotonic() + within
    while len(found := set(await _listening_sessions(database)) - set(other_than)) < count:
        assert time.monotonic() < deadline, f"{len(found)} of {count} workers listening after {within} s"
        await asyncio.sleep(0.1)


async def test_postgresql_without_redis_caches_and_tells_every_node_through_listen_notify(
    nodes: Nodes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Two nodes with the default settings and no Redis: the cache is on, and PostgreSQL carries the notices."""
    node_c = nodes.start_another(tmp_path_factory, "node-c")
    node_d = nodes.start_another(tmp_path_factory, "node-d")
    try:
        await _wait_for_listeners(nodes.database, 2, within=10)
        token = await nodes.token(node_c)
        assert _statuses(await _userinfo(node_c, token)) == [200] * ROUNDS
        # `auto` is on for PostgreSQL: a write nobody announced is not seen, the cache answers.
        assert await _names_after_a_silent_rename(node_c, token, nodes.user["email"]) == ["old"] * ROUNDS

        await _revoke(node_d, nodes.auth, token)
        await _poll_until_refused(node_c, token, within=2)

        # A role taken and given from node D's CLI (a process of its own, with its own var_dir) reaches node C.
        token = await nodes.token(node_c)
        for change, is_wanted in (("--remove", False), ("--add", True)):
            node_d.cli("user", "roles", nodes.user["email"], change, "System Manager")
            started = time.monotonic()
            async with httpx.AsyncClient(base_url=node_c.url, timeout=15) as http:
                while is_wanted != (
                    "System Manager" in (await http.get("/oauth/userinfo", headers=_bearer(token))).json()["roles"]
                ):
                    assert time.monotonic() - started < 2, f"node C still shows the old roles 2 s after {change}"
                    await asyncio.sleep(0.02)

        # The listening sessions cut (a PostgreSQL restart, a network blip): the workers listen again by
        # themselves, and a revocation through node D still reaches node C.
        cut = tuple(await _listening_sessions(nodes.database))
        connection = await asyncpg.connect(nodes.database.url)
        try:
            for pid in cut:
                await connection.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await connection.close()
        token = await nodes.token(node_c)
        assert _statuses(await _userinfo(node_c, token)) == [200] * ROUNDS
        await _wait_for_listeners(nodes.database, 2, within=10, other_than=cut)
        await _revoke(node_d, nodes.auth, token)
        await _poll_until_refused(node_c, token, within=2)
    finally:
        node_c.stop()
        node_d.stop()


async def test_a_notice_names_its_node_and_what_changed_so_other_nodes_drop_only_that(
    nodes: Nodes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """What crosses between nodes without Redis: a token change says "tokens" only (the other nodes keep their
    clients, users and keys), a role change says both groups, and every process of one node (its workers and
    its CLI, which share its var_dir) signs as that node, so its own workers can ignore what they already know."""
    node_c = nodes.start_another(tmp_path_factory, "node-c")
    node_d = nodes.start_another(tmp_path_factory, "node-d")
    heard: list[str] = []
    listener = await asyncpg.connect(nodes.database.url)

    async def next_notice() -> tuple[str, str]:
        """The next notice that is not a subscription probe: (its node, the groups it names)."""
        deadline = time.monotonic() + 5
        while not (notices := [payload for payload in heard if not payload.startswith("probe:")]):
            assert time.monotonic() < deadline, "no change notice within 5 s"
            await asyncio.sleep(0.02)
        heard.remove(notices[0])
        origin, separator, groups = notices[0].partition("|")
        assert separator and origin, notices[0]
        return origin, groups

    try:
        await _wait_for_listeners(nodes.database, 2, within=10)
        await listener.add_listener("gatepass_changes", lambda _c, _pid, _channel, payload: heard.append(payload))
        token = await nodes.token(node_c)
        assert _statuses(await _userinfo(node_c, token)) == [200] * ROUNDS

        await _revoke(node_d, nodes.auth, token)
        node_d_server, groups = await next_notice()
        assert groups == "tokens"
        await _poll_until_refused(node_c, token, within=2)

        node_d.cli("role", "add", f"Noticed{secrets.token_hex(3)}")
        node_d_cli, groups = await next_notice()
        assert (node_d_cli, groups) == (node_d_server, "records,tokens")

        await _revoke(node_c, nodes.auth, await nodes.token(node_c))
        node_c_server, groups = await next_notice()
        assert groups == "tokens" and node_c_server != node_d_server
    finally:
        await listener.close()
        node_c.stop()
        node_d.stop()


async def test_postgresql_with_the_cache_off_reads_through_so_every_node_refuses_at_once(
    nodes: Nodes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    node_c = nodes.start_another(tmp_path_factory, "node-c", read_cache="off")
    try:
        token = await nodes.token(node_c)
        assert _statuses(await _userinfo(node_c, token)) == [200] * ROUNDS
        # `off`: even a write nobody announced is seen at once.
        assert await _names_after_a_silent_rename(node_c, token, nodes.user["email"]) == ["new"] * ROUNDS
        await _revoke(nodes.b, nodes.auth, token)
        assert _statuses(await _userinfo(node_c, token)) == [401] * ROUNDS
    finally:
        node_c.stop()


async def test_a_notice_drops_the_groups_it_names_and_every_process_of_a_node_is_that_node(tmp_path: Path) -> None:
    loaded: list[str] = []

    async def load(name: str) -> str:
        loaded.append(name)
        return f"{name} #{len(loaded)}"

    cache = ReadCache(ChangeStamp(tmp_path / "run" / "changes"), max_age_seconds=60)

    async def read_both() -> tuple[str | None, str | None]:
        client = await cache.get("client", lambda: load("client"), group=RECORDS)
        token = await cache.get("token", lambda: load("token"), group=TOKENS)
        return client, token

    assert await read_both() == ("client #1", "token #2")
    assert await read_both() == ("client #1", "token #2")
    cache.heard_of_change({TOKENS})
    assert await read_both() == ("client #1", "token #3")
    cache.heard_of_change()  # all groups: what a feed says when it may have missed notices
    assert await read_both() == ("client #4", "token #5")
    # A second process on the same var_dir (another worker, the CLI) is the same node; another var_dir is not.
    assert ChangeStamp(tmp_path / "run" / "changes").node == cache.node
    assert ChangeStamp(tmp_path / "elsewhere" / "changes").node != cache.node


# -- settings ------------------------------------------------------------------------------------


def test_a_bad_read_cache_mode_stops_serve_and_the_cli_with_exit_2(tmp_path: Path) -> None:
    live = LiveServer(
        "sqlite", tmp_path, Database.create("sqlite", tmp_path), extra_env={"GATEPASS_DATABASE_READ_CACHE": "bogus"}
    )
    # Side by side: each pays the start-up of a Python process.
    commands = (["serve"], ["user", "list"])
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "gatepass", *args],
            env=live.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    try:
        for process in processes:
            out, err = process.communicate(timeout=60)
            assert process.returncode == 2, out + err
            assert "database.read_cache: 'bogus'; allowed auto, node, off" in err
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert not (tmp_path / "gatepass.db").exists()
