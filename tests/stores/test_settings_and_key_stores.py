"""The consent, runtime-settings, signing-key and registration-token stores: small tables, each with one
rule to keep (consents only grow, settings and keys are seen through the cache at once, a registration
token is used at most as often as it allows)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from stores_support import Stores, digest, unique

from gatepass.services.stores import ConsentRecord, SigningKeyRecord


async def test_a_consent_only_grows_until_it_is_withdrawn(stores: Stores) -> None:
    user, client, now = await stores.user(), await stores.client(), stores.now
    client_id = client.info.client_id
    assert await stores.consents.get_consent(user.id, client_id) is None
    await stores.consents.save_consent(user.id, client_id, ("openid", "profile"), now)
    await stores.consents.save_consent(user.id, client_id, ("email", "openid"), now + timedelta(minutes=1))
    found = await stores.consents.get_consent(user.id, client_id)
    # The first grant's time stays: the consent was given then, and only widened since.
    assert found == ConsentRecord(user.id, client_id, ("email", "openid", "profile"), now)
    await stores.consents.delete_consent(user.id, client_id)
    assert await stores.consents.get_consent(user.id, client_id) is None


async def test_withdrawing_every_consent_of_a_user_leaves_other_users(stores: Stores) -> None:
    user, other = await stores.user(), await stores.user()
    first, second = await stores.client(), await stores.client()
    for who in (user, other):
        for client in (first, second):
            await stores.consents.save_consent(who.id, client.info.client_id, ("openid",), stores.now)
    await stores.consents.delete_consents_of(user.id)
    assert await stores.consents.get_consent(user.id, first.info.client_id) is None
    assert await stores.consents.get_consent(user.id, second.info.client_id) is None
    assert await stores.consents.get_consent(other.id, first.info.client_id) is not None


async def test_a_runtime_setting_is_seen_at_once_through_the_cache(stores: Stores) -> None:
    key = unique("setting")
    assert key not in await stores.settings.get_runtime_settings()  # now cached
    await stores.settings.set_runtime_setting(key, {"enabled": True, "limit": 3}, stores.now)
    assert (await stores.settings.get_runtime_settings())[key] == {"enabled": True, "limit": 3}
    await stores.settings.set_runtime_setting(key, "replaced", stores.now)
    assert (await stores.settings.get_runtime_settings())[key] == "replaced"
    # A caller changing the dict it got back changes nothing cached.
    settings = await stores.settings.get_runtime_settings()
    settings[key] = "mutated"
    assert (await stores.settings.get_runtime_settings())[key] == "replaced"


def _key(kid: str, alg: str, signs_from_hours: float) -> SigningKeyRecord:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    return SigningKeyRecord(
        kid=kid,
        alg=alg,
        public_jwk={"kty": "RSA", "kid": kid, "n": "AQAB", "e": "AQAB"},
        private_jwk_encrypted=f"encrypted-{kid}",
        created_at=start,
        signs_from=start + timedelta(hours=signs_from_hours),
        retired_at=None,
        unpublish_at=None,
    )


async def test_signing_keys_are_listed_oldest_first_and_retired_by_algorithm(stores: Stores) -> None:
    # The key table is shared by every test: these keys sign from 2030 on, so they sort after the others.
    newer, older, other_alg = (
        _key(unique("kid"), "RS256", 2),
        _key(unique("kid"), "RS256", 1),
        _key(unique("kid"), "ES256", 0),
    )
    await stores.signing_keys.list_keys()  # now cached
    for key in (newer, older, other_alg):
        await stores.signing_keys.add_key(key)
    listed = await stores.signing_keys.list_keys()
    assert [key for key in listed if key.kid in {newer.kid, older.kid, other_alg.kid}] == [other_alg, older, newer]

    now, unpublish_at = stores.now, stores.now + timedelta(days=1)
    await stores.signing_keys.retire_keys_except({newer.kid}, "RS256", now, unpublish_at)
    after = {key.kid: key for key in await stores.signing_keys.list_keys()}
    assert (after[older.kid].retired_at, after[older.kid].unpublish_at) == (now, unpublish_at)
    assert after[newer.kid].retired_at is None
    # Another algorithm's keys are not this rotation's to retire.
    assert after[other_alg.kid].retired_at is None


async def test_a_registration_token_is_used_at_most_as_often_as_it_allows(stores: Stores) -> None:
    token, now = digest(), stores.now
    await stores.registration.add_initial_token(token, "two clients", now, now + timedelta(hours=1), 2)
    outcomes = await asyncio.gather(*(stores.registration.consume_initial_token(token, now) for _ in range(4)))
    assert sorted(outcomes) == [False, False, True, True]
    assert await stores.registration.consume_initial_token(token, now) is False
    assert await stores.registration.consume_initial_token(digest(), now) is False


async def test_an_expired_registration_token_is_refused(stores: Stores) -> None:
    token, now = digest(), stores.now
    await stores.registration.add_initial_token(token, "expiring", now, now + timedelta(minutes=1), 5)
    assert await stores.registration.consume_initial_token(token, now + timedelta(minutes=1)) is False
    assert await stores.registration.consume_initial_token(token, now) is True


async def test_first_consents_given_at_once_make_one_consent_with_every_scope(stores: Stores) -> None:
    user, client, now = await stores.user(), await stores.client(), stores.now
    client_id = client.info.client_id
    # Two browsers of one user allowing one app at the same moment (a double click, two tabs).
    await asyncio.gather(
        *(stores.consents.save_consent(user.id, client_id, scopes, now) for scopes in [("openid",), ("email",)] * 4)
    )
    found = await stores.consents.get_consent(user.id, client_id)
    assert found is not None and sorted(found.scopes) == ["email", "openid"]
