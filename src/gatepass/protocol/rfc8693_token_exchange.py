"""OAuth 2.0 Token Exchange (RFC 8693, https://www.rfc-editor.org/rfc/rfc8693): the rules, without I/O.

A client hands in a token of a user (the subject) and, for delegation, a token of whoever acts for the
user (the actor), and gets an access token for another audience. What it may exchange is an admin's
policy: one per client and audience, and no policy means no exchange.

Which error says what (§2.2.2): a subject or actor token that is malformed, unknown, revoked, expired or
not allowed by the policy is ``invalid_request``, as the RFC requires (not ``invalid_grant``); an
audience or resource the client may not target is ``invalid_target``; scope beyond the subject token or
the policy is ``invalid_scope``; a client with no policy at all, or a public one, is ``unauthorized_client``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from gatepass.protocol.errors import InvalidRequest, InvalidScope, InvalidTarget, UnauthorizedClient
from gatepass.protocol.params import parse_scope, require
from gatepass.protocol.values import GRANT_TOKEN_EXCHANGE, ClientInfo

#: Token type identifiers (RFC 8693 §3).
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
REFRESH_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:refresh_token"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"

#: The short names an admin uses in a policy, and the identifiers they stand for.
TOKEN_TYPE_NAMES = {"access_token": ACCESS_TOKEN_TYPE, "id_token": ID_TOKEN_TYPE, "jwt": JWT_TOKEN_TYPE}
#: What may be exchanged: this server's access tokens (``jwt``: its JWT access tokens, RFC 9068) and id_tokens.
SUBJECT_TOKEN_TYPES = (ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE, ID_TOKEN_TYPE)
#: Who may act: the holder of an access token of this server.
ACTOR_TOKEN_TYPES = (ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE)
#: What is issued: an access token only. A refresh token would let the exchanged access outlive the subject
#: token it was limited by, so none is issued.
ISSUED_TOKEN_TYPES = (ACCESS_TOKEN_TYPE,)

#: An audience is kept with its client in a unique key; MariaDB's longest allows this many characters.
AUDIENCE_MAX_LENGTH = 512


@dataclass(frozen=True)
class TokenExchangeRequest:
    subject_token: str
    subject_token_type: str
    actor_token: str | None
    actor_token_type: str | None
    #: The one audience asked for, by ``audience`` or ``resource``; None when neither was sent.
    target: str | None
    scopes: tuple[str, ...] | None
    requested_token_type: str


@dataclass(frozen=True)
class ExchangePolicy:
    """What one client may exchange for one audience (the admin's row of token_exchange_policies)."""

    client_id: str
    audience: str
    subject_token_types: tuple[str, ...]
    subject_client_ids: tuple[str, ...]
    actor_client_ids: tuple[str, ...]
    allow_impersonation: bool
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class PresentedToken:
    """A subject or actor token as the server found it: its user, its client, its scopes and its end.

    ``scopes`` is None for an id_token, which carries none; ``act`` is the token's own actor chain, when
    it was itself issued by a delegation.
    """

    token_type: str
    client_id: str
    subject: str
    scopes: tuple[str, ...] | None
    expires_at: datetime
    act: Mapping[str, Any] | None = None


def parse_token_exchange_request(form: Mapping[str, str]) -> TokenExchangeRequest:
    """The request's parameters (§2.1), each checked for what it may be before any token is looked up."""
    subject_token = require(form, "subject_token")
    subject_token_type = require(form, "subject_token_type")
    if subject_token_type not in SUBJECT_TOKEN_TYPES:
        raise InvalidRequest(
            f"subject_token_type '{subject_token_type}' is not one this server exchanges; "
            f"use {' or '.join(SUBJECT_TOKEN_TYPES)}"
        )
    actor_token, actor_token_type = form.get("actor_token"), form.get("actor_token_type")
    if (actor_token is None) != (actor_token_type is None):
        # §2.1: actor_token_type is REQUIRED with actor_token and MUST NOT be sent without it.
        raise InvalidRequest("actor_token and actor_token_type go together: send both or neither")
    if actor_token_type is not None and actor_token_type not in ACTOR_TOKEN_TYPES:
        raise InvalidRequest(
            f"actor_token_type '{actor_token_type}' is not one this server accepts; "
            f"use {' or '.join(ACTOR_TOKEN_TYPES)}"
        )
    requested = form.get("requested_token_type", ACCESS_TOKEN_TYPE)
    if requested not in ISSUED_TOKEN_TYPES:
        raise InvalidRequest(
            f"requested_token_type '{requested}' is not issued by token exchange here; "
            f"ask for {' or '.join(ISSUED_TOKEN_TYPES)}"
        )
    return TokenExchangeRequest(
        subject_token=subject_token,
        subject_token_type=subject_token_type,
        actor_token=actor_token,
        actor_token_type=actor_token_type,
        target=_target(form.get("resource"), form.get("audience")),
        scopes=parse_scope(form["scope"]) if "scope" in form else None,
        requested_token_type=requested,
    )


def _target(resource: str | None, audience: str | None) -> str | None:
    if resource is not None:
        parts = urlsplit(resource)
        # §2.1: resource is an absolute URI without a fragment (as in RFC 8707).
        if not parts.scheme or not parts.netloc or "#" in resource:
            raise InvalidTarget("resource must be an absolute URI without a fragment")
        resource = resource.rstrip("/")
    if resource is not None and audience is not None and audience.rstrip("/") != resource:
        # One token is issued, for one audience; two different targets cannot both be its audience.
        raise InvalidTarget("resource and audience name different targets; a token is issued for one: send one")
    return resource if resource is not None else audience


def is_jwt_shaped(token: str) -> bool:
    """Three base64url parts separated by dots (RFC 7519 §7.2 step 1): what a token of type ``jwt`` must be."""
    parts = token.split(".")
    return len(parts) == 3 and all(parts) and all(c.isalnum() or c in "-_" for part in parts for c in part)


def check_client_may_exchange(client: ClientInfo, policies: Sequence[ExchangePolicy]) -> None:
    """Only a confidential client with at least one policy exchanges tokens (the default is to refuse)."""
    if client.is_public:
        raise UnauthorizedClient("A public client cannot exchange tokens; token exchange needs client authentication")
    if not policies:
        raise UnauthorizedClient(
            f"No token exchange policy allows this client; an admin adds one with gatepass exchange-policy add "
            f"(grant {GRANT_TOKEN_EXCHANGE})"
        )


def choose_policy(policies: Sequence[ExchangePolicy], target: str | None) -> ExchangePolicy:
    """The policy for the audience asked for; with none asked for, the client's only audience (§2.1 lets the
    server choose a default target)."""
    audiences = sorted(policy.audience for policy in policies)
    if target is None:
        if len(policies) == 1:
            return policies[0]
        raise InvalidTarget(f"Name the audience (audience or resource): one of {', '.join(audiences)}")
    for policy in policies:
        if policy.audience.rstrip("/") == target.rstrip("/"):
            return policy
    raise InvalidTarget(f"This client may not exchange tokens for '{target}'; it may for {', '.join(audiences)}")


def check_subject(policy: ExchangePolicy, subject: PresentedToken) -> None:
    """The policy allows this kind of subject token, issued to this client."""
    if subject.token_type not in policy.subject_token_types:
        raise InvalidRequest(
            f"The policy for '{policy.audience}' does not allow exchanging a subject token of type {subject.token_type}"
        )
    if subject.client_id not in policy.subject_client_ids:
        raise InvalidRequest(
            f"The policy for '{policy.audience}' does not allow exchanging tokens "
            f"issued to client '{subject.client_id}'"
        )


def check_actor(policy: ExchangePolicy, actor: PresentedToken | None) -> None:
    """Delegation only for the actors the policy names; impersonation (no actor) only when it allows it."""
    if actor is None:
        if not policy.allow_impersonation:
            raise InvalidRequest(
                f"The policy for '{policy.audience}' allows delegation only: send the actor's token as actor_token"
            )
        return
    if actor.client_id not in policy.actor_client_ids:
        raise InvalidRequest(
            f"The policy for '{policy.audience}' does not allow client '{actor.client_id}' to act for the user"
        )


def granted_scopes(
    requested: tuple[str, ...] | None, subject: tuple[str, ...], policy: ExchangePolicy
) -> tuple[str, ...]:
    """The scopes of the new token: those asked for, each held by the subject token and allowed by the policy;
    with none asked for, every scope they share. Never more than the subject token had (§1.1)."""
    allowed = [scope for scope in subject if scope in policy.scopes]
    if requested is None:
        if not allowed:
            raise InvalidScope(
                f"The subject token has no scope the policy for '{policy.audience}' allows "
                f"({' '.join(policy.scopes) or 'none'})"
            )
        return tuple(allowed)
    beyond_subject = [scope for scope in requested if scope not in subject]
    if beyond_subject:
        raise InvalidScope(f"scope '{beyond_subject[0]}' is beyond what the subject token was granted")
    beyond_policy = [scope for scope in requested if scope not in policy.scopes]
    if beyond_policy:
        raise InvalidScope(f"scope '{beyond_policy[0]}' is not allowed by the policy for '{policy.audience}'")
    return requested


def act_claim(actor: PresentedToken | None, subject: PresentedToken) -> dict[str, Any] | None:
    """The ``act`` claim of the new token (§4.1): the actor, with the actors before it nested inside.

    The subject token's own ``act`` is the chain so far; impersonation keeps it as it is.
    """
    if actor is None:
        return dict(subject.act) if subject.act else None
    claim: dict[str, Any] = {"sub": actor.subject, "client_id": actor.client_id}
    if subject.act:
        claim["act"] = dict(subject.act)
    return claim


def exchanged_lifetime(ttl_seconds: int, now: datetime, *ends: datetime) -> int:
    """Seconds the new token lives: its client's access-token lifetime, cut to end no later than the subject
    (and actor) token, so an exchange never extends anyone's access."""
    remaining = min(int((end - now).total_seconds()) for end in ends)
    if remaining <= 0:
        raise InvalidRequest("The subject token has expired")
    return min(ttl_seconds, remaining)
