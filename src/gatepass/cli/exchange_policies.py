"""Token exchange policies (RFC 8693): add, list, remove."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from gatepass.cli.app import fail, main, read_with_gatepass, run_with_gatepass
from gatepass.protocol.rfc8693_token_exchange import SUBJECT_TOKEN_TYPES, TOKEN_TYPE_NAMES, ExchangePolicy

if TYPE_CHECKING:
    from gatepass.context import Gatepass

_TYPE_CHOICES = [name for name, uri in TOKEN_TYPE_NAMES.items() if uri in SUBJECT_TOKEN_TYPES]


@main.group("exchange-policy")
def exchange_policy() -> None:
    """Which client may exchange which tokens, for whom, for which audience (RFC 8693). No policy, no exchange."""


@exchange_policy.command("add")
@click.argument("client_id")
@click.option("--audience", required=True, help="The audience (a resource URI or a name) the new tokens are for.")
@click.option(
    "--subject-token-type",
    "subject_token_types",
    multiple=True,
    type=click.Choice(_TYPE_CHOICES),
    help="A kind of token it may exchange; repeatable. Default: access_token.",
)
@click.option(
    "--subject-client",
    "subject_client_ids",
    multiple=True,
    help="A client whose users' tokens it may exchange; repeatable. Default: only tokens issued to itself.",
)
@click.option(
    "--actor",
    "actor_client_ids",
    multiple=True,
    help="A client whose access token may be the actor_token (delegation, the act claim); repeatable.",
)
@click.option(
    "--impersonation/--no-impersonation",
    "allow_impersonation",
    default=False,
    help="Whether it may exchange without an actor_token, acting as the user. Default: no.",
)
@click.option("--scope", "scopes", multiple=True, required=True, help="A scope the new tokens may have; repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@run_with_gatepass
async def policy_add(gatepass: Gatepass, client_id: str, as_json: bool, **options: Any) -> None:
    """Let CLIENT_ID exchange tokens for one audience, and allow it the token-exchange grant."""
    policy = await gatepass.exchange_policies.add(
        ExchangePolicy(
            client_id=client_id,
            audience=options["audience"],
            subject_token_types=tuple(
                TOKEN_TYPE_NAMES[name] for name in options["subject_token_types"] or ("access_token",)
            ),
            subject_client_ids=tuple(options["subject_client_ids"]),
            actor_client_ids=tuple(options["actor_client_ids"]),
            allow_impersonation=options["allow_impersonation"],
            scopes=tuple(options["scopes"]),
        )
    )
    _print([policy], as_json)


@exchange_policy.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@read_with_gatepass
async def policy_list(gatepass: Gatepass, as_json: bool) -> None:
    """List every token exchange policy."""
    _print(await gatepass.exchange_policies.list(), as_json)


@exchange_policy.command("remove")
@click.argument("client_id")
@click.option("--audience", required=True, help="The audience of the policy to remove.")
@run_with_gatepass
async def policy_remove(gatepass: Gatepass, client_id: str, audience: str) -> None:
    """Remove CLIENT_ID's policy for one audience. Tokens it exchanged before keep their (short) lives."""
    if not await gatepass.exchange_policies.remove(client_id, audience):
        fail(f"Client {client_id} has no token exchange policy for {audience}")
    click.echo(f"Removed the policy of {client_id} for {audience}.")


def _short(token_type: str) -> str:
    return next((name for name, uri in TOKEN_TYPE_NAMES.items() if uri == token_type), token_type)


def _print(policies: list[ExchangePolicy], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([_policy_json(policy) for policy in policies], indent=2))
        return
    for policy in policies:
        click.echo(
            "\t".join(
                (
                    policy.client_id,
                    policy.audience,
                    ",".join(_short(token_type) for token_type in policy.subject_token_types),
                    f"subjects:{','.join(policy.subject_client_ids)}",
                    f"actors:{','.join(policy.actor_client_ids) or '-'}",
                    f"impersonation:{'yes' if policy.allow_impersonation else 'no'}",
                    f"scope:{' '.join(policy.scopes)}",
                )
            )
        )


def _policy_json(policy: ExchangePolicy) -> dict[str, Any]:
    return {
        "client_id": policy.client_id,
        "audience": policy.audience,
        "subject_token_types": [_short(token_type) for token_type in policy.subject_token_types],
        "subject_clients": list(policy.subject_client_ids),
        "actors": list(policy.actor_client_ids),
        "impersonation": policy.allow_impersonation,
        "scope": " ".join(policy.scopes),
    }
