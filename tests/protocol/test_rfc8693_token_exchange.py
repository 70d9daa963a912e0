"""RFC 8693's pure rules: reading a token exchange request, choosing and applying a policy, the act claim,
and how long the new token may live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gatepass.protocol.errors import InvalidRequest, InvalidScope, InvalidTarget, OAuthError, UnauthorizedClient
from gatepass.protocol.rfc8693_token_exchange import (
    ACCESS_TOKEN_TYPE,
    ID_TOKEN_TYPE,
    ExchangePolicy,
    PresentedToken,
    act_claim,
    check_actor,
    check_client_may_exchange,
    check_subject,
    choose_policy,
    exchanged_lifetime,
    granted_scopes,
    is_jwt_shaped,
    parse_token_exchange_request,
)
from gatepass.protocol.values import ClientInfo

NOW = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = ExchangePolicy(
    client_id="front",
    audience="https://api.example.com",
    subject_token_types=(ACCESS_TOKEN_TYPE,),
    subject_client_ids=("front",),
    actor_client_ids=("worker",),
    allow_impersonation=False,
    scopes=("read", "write"),
)


def _token(client_id: str = "front", *, act: dict[str, str] | None = None) -> PresentedToken:
    return PresentedToken(ACCESS_TOKEN_TYPE, client_id, f"sub-of-{client_id}", ("read", "profile"), NOW, act)


def _client(client_type: str) -> ClientInfo:
    return ClientInfo(
        client_id="front",
        app_name="Front",
        client_type=client_type,
        token_endpoint_auth_method="none" if client_type == "public" else "client_secret_basic",
        secret_digest=None,
        redirect_uris=(),
        default_redirect_uri=None,
        scopes=(),
        grant_types=(),
        response_types=(),
    )


def test_a_request_is_read_with_its_one_target_and_an_access_token_asked_for_by_default() -> None:
    request = parse_token_exchange_request(
        {
            "subject_token": "abc",
            "subject_token_type": ACCESS_TOKEN_TYPE,
            "resource": "https://api.example.com/",
            "audience": "https://api.example.com",
            "scope": "read",
        }
    )
    assert (request.target, request.scopes, request.requested_token_type) == (
        "https://api.example.com",
        ("read",),
        ACCESS_TOKEN_TYPE,
    )
    assert parse_token_exchange_request({"subject_token": "a", "subject_token_type": ID_TOKEN_TYPE}).target is None


def _form(**extra: str) -> dict[str, str]:
    return {"subject_token": "a", "subject_token_type": ACCESS_TOKEN_TYPE, **extra}


@pytest.mark.parametrize(
    ("form", "error", "description"),
    [
        ({"subject_token_type": ACCESS_TOKEN_TYPE}, InvalidRequest, "subject_token"),
        (_form(subject_token_type="urn:x"), InvalidRequest, "subject_token_type 'urn:x'"),
        (_form(actor_token_type=ACCESS_TOKEN_TYPE), InvalidRequest, "actor_token and actor_token_type go together"),
        (_form(actor_token="b", actor_token_type=ID_TOKEN_TYPE), InvalidRequest, "actor_token_type"),
        (_form(requested_token_type="urn:ietf:params:oauth:token-type:refresh_token"), InvalidRequest, "requested"),
        (_form(resource="/relative"), InvalidTarget, "resource must be an absolute URI"),
        (_form(resource="https://a.example#f"), InvalidTarget, "resource must be an absolute URI"),
        (_form(resource="https://a.example", audience="b"), InvalidTarget, "resource and audience name different"),
    ],
)
def test_a_malformed_request_is_refused_naming_what_to_fix(
    form: dict[str, str], error: type[OAuthError], description: str
) -> None:
    with pytest.raises(error) as raised:
        parse_token_exchange_request(form)
    assert description in raised.value.description


def test_only_a_confidential_client_with_a_policy_may_exchange() -> None:
    with pytest.raises(UnauthorizedClient, match="public client"):
        check_client_may_exchange(_client("public"), [POLICY])
    with pytest.raises(UnauthorizedClient, match="No token exchange policy"):
        check_client_may_exchange(_client("confidential"), [])
    check_client_may_exchange(_client("confidential"), [POLICY])


def test_the_policy_is_the_one_for_the_target_or_the_only_one() -> None:
    other = ExchangePolicy("front", "reports", (ACCESS_TOKEN_TYPE,), ("front",), (), True, ("read",))
    assert choose_policy([POLICY], None) is POLICY
    assert choose_policy([POLICY, other], "reports") is other
    assert choose_policy([POLICY, other], "https://api.example.com/") is POLICY
    with pytest.raises(InvalidTarget, match="Name the audience"):
        choose_policy([POLICY, other], None)
    with pytest.raises(InvalidTarget, match="may not exchange tokens for 'payroll'"):
        choose_policy([POLICY, other], "payroll")


def test_subject_and_actor_must_be_those_the_policy_names() -> None:
    check_subject(POLICY, _token())
    with pytest.raises(InvalidRequest, match="issued to client 'other'"):
        check_subject(POLICY, _token("other"))
    id_token = PresentedToken(ID_TOKEN_TYPE, "front", "s", None, NOW)
    with pytest.raises(InvalidRequest, match="subject token of type"):
        check_subject(POLICY, id_token)
    check_actor(POLICY, _token("worker"))
    with pytest.raises(InvalidRequest, match="delegation only"):
        check_actor(POLICY, None)
    with pytest.raises(InvalidRequest, match="client 'intruder' to act"):
        check_actor(POLICY, _token("intruder"))


def test_scopes_stay_within_the_subject_token_and_the_policy() -> None:
    assert granted_scopes(None, ("read", "profile"), POLICY) == ("read",)
    assert granted_scopes(("read",), ("read", "write"), POLICY) == ("read",)
    with pytest.raises(InvalidScope, match="beyond what the subject token"):
        granted_scopes(("write",), ("read",), POLICY)
    with pytest.raises(InvalidScope, match="not allowed by the policy"):
        granted_scopes(("profile",), ("read", "profile"), POLICY)
    with pytest.raises(InvalidScope, match="no scope the policy"):
        granted_scopes(None, ("profile",), POLICY)


def test_act_names_the_actor_with_earlier_actors_nested_and_impersonation_keeps_the_chain() -> None:
    earlier = {"sub": "sub-of-first", "client_id": "first"}
    assert act_claim(None, _token()) is None
    assert act_claim(None, _token(act=earlier)) == earlier
    assert act_claim(_token("worker"), _token()) == {"sub": "sub-of-worker", "client_id": "worker"}
    assert act_claim(_token("worker"), _token(act=earlier)) == {
        "sub": "sub-of-worker",
        "client_id": "worker",
        "act": earlier,
    }


def test_the_new_token_ends_no_later_than_the_tokens_it_came_from() -> None:
    assert exchanged_lifetime(3600, NOW, NOW + timedelta(seconds=100)) == 100
    assert exchanged_lifetime(3600, NOW, NOW + timedelta(days=1), NOW + timedelta(seconds=50)) == 50
    assert exchanged_lifetime(600, NOW, NOW + timedelta(days=1)) == 600
    with pytest.raises(InvalidRequest, match="expired"):
        exchanged_lifetime(3600, NOW, NOW)


def test_a_jwt_is_three_base64url_parts() -> None:
    assert is_jwt_shaped("eyJh.eyJi.c2ln")
    assert not is_jwt_shaped("opaque-token_value")
    assert not is_jwt_shaped("a..c")
    assert not is_jwt_shaped("a.b.c d")
