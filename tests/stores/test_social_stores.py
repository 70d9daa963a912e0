"""The stores behind logging in through another provider: providers, the identities linked to users, and
login attempts, each consumed once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from stores_support import Stores, digest, unique

from gatepass.services.stores import Conflict, LoginAttemptRecord, NewLoginAttempt, NotFound


async def test_a_provider_reads_back_and_a_name_is_taken_once(stores: Stores) -> None:
    provider = await stores.provider(
        default_roles=("Guest",), role_map=(("admins", "System Manager"),), role_sync="merge"
    )
    assert await stores.providers.get_provider(provider.config.name) == provider
    assert provider.config.role_map == (("admins", "System Manager"),)
    with pytest.raises(Conflict):
        await stores.providers.add_provider(replace(provider.config, display_name="Impostor"), stores.now)
    again = await stores.providers.get_provider(provider.config.name)
    assert again is not None and again.config.display_name == "Upstream"
    assert await stores.providers.get_provider(unique("missing")) is None


async def test_a_provider_update_replaces_its_settings(stores: Stores) -> None:
    provider = await stores.provider()
    changed = replace(
        provider.config,
        display_name="Renamed",
        client_secret_encrypted=None,
        scopes=("openid",),
        is_enabled=False,
        allow_signup=True,
        default_roles=("Guest",),
        role_map=(("staff", "Employee"),),
        role_sync="replace",
    )
    later = stores.now + timedelta(minutes=1)
    updated = await stores.providers.update_provider(changed, later)
    assert (updated.config, updated.updated_at, updated.created_at) == (changed, later, provider.created_at)
    assert await stores.providers.get_provider(provider.config.name) == updated
    with pytest.raises(NotFound):
        await stores.providers.update_provider(replace(changed, name=unique("missing")), later)


async def test_providers_are_listed_by_name(stores: Stores) -> None:
    second, first = await stores.provider(name=f"zz-{unique('p')}"), await stores.provider(name=f"aa-{unique('p')}")
    names = [provider.config.name for provider in await stores.providers.list_providers()]
    assert names == sorted(names)
    assert {first.config.name, second.config.name} <= set(names)


async def test_deleting_a_provider_deletes_the_identities_linked_through_it(stores: Stores) -> None:
    provider, kept_provider, user = await stores.provider(), await stores.provider(), await stores.user()
    await stores.identities.add_identity(provider.id, "subject-1", user.id, user.email, stores.now)
    await stores.identities.add_identity(kept_provider.id, "subject-1", user.id, user.email, stores.now)
    assert await stores.providers.delete_provider(provider.config.name) is True
    assert await stores.providers.get_provider(provider.config.name) is None
    assert await stores.identities.get_identity(provider.id, "subject-1") is None
    assert await stores.identities.get_identity(kept_provider.id, "subject-1") is not None
    assert await stores.providers.delete_provider(provider.config.name) is False


async def test_an_identity_is_linked_once_and_touched_on_each_login(stores: Stores) -> None:
    provider, user, other = await stores.provider(), await stores.user(), await stores.user()
    now, subject = stores.now, unique("subject")
    assert await stores.identities.get_identity(provider.id, subject) is None
    await stores.identities.add_identity(provider.id, subject, user.id, "old@example.test", now)
    with pytest.raises(Conflict):
        await stores.identities.add_identity(provider.id, subject, other.id, None, now)
    later = now + timedelta(days=1)
    await stores.identities.touch_identity(provider.id, subject, "new@example.test", later)
    found = await stores.identities.get_identity(provider.id, subject)
    assert found is not None
    assert (found.user_id, found.email, found.created_at, found.last_login_at) == (
        user.id,
        "new@example.test",
        now,
        later,
    )


def _attempt(state_digest: str, provider_name: str, created_at_offset: timedelta, stores: Stores) -> NewLoginAttempt:
    created_at = stores.now + created_at_offset
    return NewLoginAttempt(
        state_digest=state_digest,
        provider_name=provider_name,
        browser_digest=digest(),
        nonce="n-0S6_WzA2Mj",
        code_verifier_encrypted="encrypted-verifier",
        next_url="/consent?x=1",
        created_at=created_at,
        expires_at=created_at + timedelta(minutes=10),
    )


async def test_a_login_attempt_is_consumed_by_one_callback_only(stores: Stores) -> None:
    state = digest()
    attempt = _attempt(state, "upstream", timedelta(0), stores)
    await stores.login_attempts.add_attempt(attempt)
    outcomes = await asyncio.gather(*(stores.login_attempts.consume_attempt(state, stores.now) for _ in range(3)))
    won = [outcome for outcome in outcomes if outcome is not None]
    assert won == [
        LoginAttemptRecord(
            provider_name="upstream",
            browser_digest=attempt.browser_digest,
            nonce=attempt.nonce,
            code_verifier_encrypted=attempt.code_verifier_encrypted,
            next_url=attempt.next_url,
            created_at=attempt.created_at,
            expires_at=attempt.expires_at,
        )
    ]
    assert await stores.login_attempts.consume_attempt(state, stores.now) is None
    assert await stores.login_attempts.consume_attempt(digest(), stores.now) is None


async def test_purge_removes_expired_login_attempts_only(stores: Stores) -> None:
    expired, live = digest(), digest()
    await stores.login_attempts.add_attempt(_attempt(expired, "upstream", -timedelta(hours=1), stores))
    await stores.login_attempts.add_attempt(_attempt(live, "upstream", timedelta(0), stores))
    assert await stores.login_attempts.purge_attempts(stores.now) >= 1
    assert await stores.login_attempts.consume_attempt(expired, stores.now) is None
    assert await stores.login_attempts.consume_attempt(live, stores.now) is not None
