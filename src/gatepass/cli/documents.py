"""The document API: document types, role permissions and document scopes (API keys are user commands)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from gatepass.cli.app import fail, main, read_with_gatepass, run_with_gatepass

if TYPE_CHECKING:
    from gatepass.context import Gatepass


def _doctype_json(doctype: Any) -> dict[str, Any]:
    return {
        "name": doctype.name,
        "description": doctype.description,
        "is_builtin": doctype.is_builtin,
        "fields": [
            {
                "fieldname": f.fieldname,
                "fieldtype": f.fieldtype,
                "label": f.label,
                "required": f.is_required,
                "default": f.default,
                "options": list(f.options),
            }
            for f in doctype.fields
        ],
    }


def _actions(read: bool, write: bool, create: bool, delete: bool) -> tuple[str, ...]:
    flags = {"read": read, "write": write, "create": create, "delete": delete}
    return tuple(action for action, is_on in flags.items() if is_on)


def _action_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for action in ("delete", "create", "write", "read"):
        func = click.option(f"--{action}", is_flag=True, help=f"Allow {action}.")(func)
    return func


@main.group()
def doctype() -> None:
    """Manage document types (ToDo and Note exist from the start)."""


@doctype.command("add")
@click.argument("name")
@click.option(
    "--field",
    "field_specs",
    multiple=True,
    metavar="NAME:TYPE[:required][:default=V][:label=L][:OPTION...]",
    help="A field; repeatable. TYPE is Data, Text, Int, Float, Check, Date, Datetime, Select or Link. "
    "OPTIONs are a Select's values or a Link's document type. "
    "Example: --field status:Select:default=Open:Open:Closed --field title:Data:required",
)
@click.option(
    "--fields-file",
    type=click.File("r"),
    help='A JSON list of fields instead: [{"fieldname", "fieldtype", "label", "required", "default", "options"}].',
)
@click.option("--description", default="", help="What documents of this type are for.")
@click.option("--json", "as_json", is_flag=True, help="Print the type as JSON.")
@run_with_gatepass
async def doctype_add(
    gatepass: Gatepass, name: str, field_specs: tuple[str, ...], fields_file: Any, description: str, as_json: bool
) -> None:
    """Define a document type with its fields; give permissions with `gatepass permission set`."""
    from gatepass.services.doctypes import fields_from_json, parse_field_spec

    fields = tuple(parse_field_spec(spec) for spec in field_specs)
    if fields_file is not None:
        try:
            fields += fields_from_json(json.load(fields_file))
        except ValueError as exc:
            fail(f"{fields_file.name}: {exc}")
    created = await gatepass.doctypes.add_doctype(name, fields, description)
    if as_json:
        click.echo(json.dumps(_doctype_json(created), indent=2))
    else:
        click.echo(f"Created document type {created.name} with {len(created.fields)} fields.")


@doctype.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@read_with_gatepass
async def doctype_list(gatepass: Gatepass, as_json: bool) -> None:
    """List document types."""
    doctypes = await gatepass.doctypes.list_doctypes()
    if as_json:
        click.echo(json.dumps([_doctype_json(d) for d in doctypes], indent=2))
        return
    for d in doctypes:
        click.echo(f"{d.name}\t{', '.join(f.fieldname for f in d.fields)}")


@doctype.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@read_with_gatepass
async def doctype_show(gatepass: Gatepass, name: str, as_json: bool) -> None:
    """Show a document type: its fields, role permissions and scopes."""
    found = await gatepass.doctypes.get_doctype(name)
    permissions = await gatepass.doctypes.list_permissions(name)
    scopes = [s for s in await gatepass.doctypes.list_scopes() if s.doctype == name]
    if as_json:
        body = _doctype_json(found)
        body["permissions"] = [
            {"role": p.role, "if_owner": p.if_owner, "actions": sorted(p.actions)} for p in permissions
        ]
        body["scopes"] = [{"name": s.name, "actions": list(s.actions), "title": s.title} for s in scopes]
        click.echo(json.dumps(body, indent=2))
        return
    click.echo(f"{found.name}: {found.description}")
    for f in found.fields:
        extra = " required" if f.is_required else ""
        extra += f" default={f.default}" if f.default is not None else ""
        extra += f" options={'|'.join(f.options)}" if f.options else ""
        click.echo(f"  field {f.fieldname}: {f.fieldtype}{extra}")
    for p in permissions:
        click.echo(f"  role {p.role}: {' '.join(sorted(p.actions))}{' (if owner)' if p.if_owner else ''}")
    for s in scopes:
        click.echo(f"  scope {s.name}: {' '.join(s.actions)}")


@doctype.command("remove")
@click.argument("name")
@click.option("--with-documents", is_flag=True, help="Also delete its documents (refused otherwise).")
@run_with_gatepass
async def doctype_remove(gatepass: Gatepass, name: str, with_documents: bool) -> None:
    """Delete a document type with its permissions and scopes."""
    count = await gatepass.doctypes.remove_doctype(name, with_documents=with_documents)
    click.echo(f"Removed {name}" + (f" and its {count} documents." if count else "."))


@main.group()
def permission() -> None:
    """Manage role permissions on document types."""


@permission.command("set")
@click.argument("doctype_name", metavar="DOCTYPE")
@click.argument("role_name", metavar="ROLE")
@_action_options
@click.option(
    "--if-owner",
    is_flag=True,
    help="This row applies only to documents the user owns. A role can have one row with and one without.",
)
@run_with_gatepass
async def permission_set(
    gatepass: Gatepass,
    doctype_name: str,
    role_name: str,
    read: bool,
    write: bool,
    create: bool,
    delete: bool,
    if_owner: bool,
) -> None:
    """Set what ROLE may do with DOCTYPE to exactly the actions given; none removes the row.

    Every user holds the role "All"; System Manager may do everything.
    """
    actions = _actions(read, write, create, delete)
    await gatepass.doctypes.set_permission(doctype_name, role_name, actions, if_owner=if_owner)
    scope = " on own documents" if if_owner else ""
    click.echo(f"{role_name} on {doctype_name}{scope}: {' '.join(actions) or 'nothing (row removed)'}")


@permission.command("list")
@click.argument("doctype_name", metavar="[DOCTYPE]", required=False)
@read_with_gatepass
async def permission_list(gatepass: Gatepass, doctype_name: str | None) -> None:
    """List role permissions, of one document type or all."""
    for p in await gatepass.doctypes.list_permissions(doctype_name):
        click.echo(f"{p.doctype}\t{p.role}\t{' '.join(sorted(p.actions))}{chr(9) + 'if owner' if p.if_owner else ''}")


@main.group()
def scope() -> None:
    """Manage document scopes: OAuth scopes that name a document type and actions."""


@scope.command("add")
@click.argument("name")
@click.option("--doctype", "doctype_name", required=True, help="The document type the scope covers.")
@_action_options
@click.option("--title", required=True, help="Shown on the consent screen, e.g. 'Read your to-dos'.")
@click.option("--description", default="", help="One sentence under the title on the consent screen.")
@run_with_gatepass
async def scope_add(
    gatepass: Gatepass,
    name: str,
    doctype_name: str,
    read: bool,
    write: bool,
    create: bool,
    delete: bool,
    title: str,
    description: str,
) -> None:
    """Define a document scope; then let clients request it with `client add/update --scope NAME`."""
    created = await gatepass.doctypes.add_scope(
        name, doctype_name, _actions(read, write, create, delete), title, description
    )
    click.echo(f"Created scope {created.name}: {' '.join(created.actions)} on {created.doctype}.")


@scope.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@read_with_gatepass
async def scope_list(gatepass: Gatepass, as_json: bool) -> None:
    """List document scopes (the built-in scopes are openid, profile, email, roles and all)."""
    scopes = await gatepass.doctypes.list_scopes()
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(s) for s in scopes], indent=2))
        return
    for s in scopes:
        click.echo(f"{s.name}\t{s.doctype}\t{' '.join(s.actions)}\t{s.title}")


@scope.command("remove")
@click.argument("name")
@run_with_gatepass
async def scope_remove(gatepass: Gatepass, name: str) -> None:
    """Delete a document scope; tokens that carry it no longer reach anything with it."""
    await gatepass.doctypes.remove_scope(name)
    click.echo(f"Removed scope {name}.")
