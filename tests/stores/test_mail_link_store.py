"""The mail-link store: a link reads back by digest, is used once (one conditional update decides), not after
it expires, and every unused link of one purpose of a user can be used up at once; the purge removes expired ones."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from stores_support import Stores, digest

from gatepass.db.mail_links import SqlMailLinkStore
from gatepass.services.stores import MailLinkRecord


async def test_a_link_reads_back_and_is_used_once(stores: Stores) -> None:
    links, user, now = SqlMailLinkStore(stores.database), await stores.user(), stores.now
    link = digest()
    await links.add_link(link, user.id, "reset", user.email, now, now + timedelta(minutes=30))
    found = await links.get_link(link)
    assert found is not None
    assert found == MailLinkRecord(found.link_id, user.id, "reset", user.email, now + timedelta(minutes=30), None)
    assert await links.use_link(found.link_id, now) is True
    assert await links.use_link(found.link_id, now) is False
    used = await links.get_link(link)
    assert used is not None and used.used_at == now
    assert await links.get_link(digest()) is None


async def test_two_uses_at_once_let_exactly_one_through(stores: Stores) -> None:
    links, user, now = SqlMailLinkStore(stores.database), await stores.user(), stores.now
    link = digest()
    await links.add_link(link, user.id, "verify", user.email, now, now + timedelta(hours=1))
    found = await links.get_link(link)
    assert found is not None
    outcomes = await asyncio.gather(*(links.use_link(found.link_id, now) for _ in range(5)))
    assert sorted(outcomes) == [False, False, False, False, True]


async def test_an_expired_link_cannot_be_used(stores: Stores) -> None:
    links, user, now = SqlMailLinkStore(stores.database), await stores.user(), stores.now
    link = digest()
    await links.add_link(link, user.id, "reset", user.email, now - timedelta(hours=1), now - timedelta(seconds=1))
    found = await links.get_link(link)
    assert found is not None
    assert await links.use_link(found.link_id, now) is False


async def test_using_up_the_links_of_a_purpose_leaves_other_purposes_and_users(stores: Stores) -> None:
    links, now = SqlMailLinkStore(stores.database), stores.now
    user, other = await stores.user(), await stores.user()
    resets, verify, others = [digest(), digest()], digest(), digest()
    later = now + timedelta(hours=1)
    for link in resets:
        await links.add_link(link, user.id, "reset", user.email, now, later)
    await links.add_link(verify, user.id, "verify", user.email, now, later)
    await links.add_link(others, other.id, "reset", other.email, now, later)
    assert await links.use_links_of(user.id, "reset", now) == 2
    for link in resets:
        found = await links.get_link(link)
        assert found is not None and found.used_at == now
    for link in (verify, others):
        found = await links.get_link(link)
        assert found is not None and found.used_at is None


async def test_purge_removes_expired_links_only(stores: Stores) -> None:
    links, user, now = SqlMailLinkStore(stores.database), await stores.user(), stores.now
    expired, live = digest(), digest()
    await links.add_link(expired, user.id, "reset", user.email, now - timedelta(hours=2), now - timedelta(hours=1))
    await links.add_link(live, user.id, "reset", user.email, now, now + timedelta(hours=1))
    assert await links.purge_expired(now) >= 1
    assert await links.get_link(expired) is None
    assert await links.get_link(live) is not None
