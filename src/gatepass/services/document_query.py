"""Frappe's list parameters → a DocumentQuery: fields, filters, or_filters, order_by and paging.

Shapes from ``frappe/api/v1.py`` and ``frappe.client.get_list`` (Frappe's REST API documentation):
``fields`` a JSON list (``["*"]`` for all, default ``["name"]``); ``filters`` a JSON dict
``{"field": value}`` / ``{"field": [op, value]}`` or a JSON list of ``[field, op, value]`` /
``[doctype, field, op, value]``; ``order_by`` like ``"modified desc"``; ``limit_start``;
``limit_page_length`` (alias ``limit``; default 20, ``0`` for no limit). Anything else is ignored,
as Frappe does. Every failure names the parameter and says what is wrong (HTTP 417).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gatepass.protocol.rfc7493_ijson import NOT_JSON, MalformedJson, RefusedJsonValue, parse_json_text
from gatepass.services.document_errors import DocumentValidationError
from gatepass.services.document_fields import (
    INT_MAX,
    STANDARD_FIELDS,
    check_text,
    convert_value,
    kind_of,
    parse_timestamp,
)
from gatepass.services.stores import Condition, DocTypeRecord, DocumentQuery, SortKey

OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "like", "not like", "in", "not in", "is")
_ALIASES = {"==": "=", "<>": "!=", "not_like": "not like", "not_in": "not in"}
DEFAULT_PAGE_LENGTH = 20
MAX_CONDITIONS = 50
MAX_IN_VALUES = 500
_TEXT_COLUMNS = ("name", "owner", "modified_by")
_TIME_COLUMNS = ("creation", "modified")
_INTEGER = re.compile(r"^-?[0-9]{1,12}$")
_WHOLE = re.compile(r"^[0-9]{1,12}$")
_ORDER_PART = re.compile(
    r"^(?:`?tab[A-Za-z0-9 _-]+`?\.)?`?([a-z_][a-z0-9_]*)`?(?:\s+(asc|desc))?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ListRequest:
    fields: tuple[str, ...]
    query: DocumentQuery


def _bad(parameter: str, message: str) -> DocumentValidationError:
    return DocumentValidationError(f"{parameter}: {message}", field=parameter)


def _json(params: Mapping[str, str], parameter: str) -> Any:
    raw = params.get(parameter)
    if raw is None or raw.strip() == "":
        return None
    try:
        return parse_json_text(raw)
    except MalformedJson as exc:
        # Too deep to read safely is said as such; anything else unreadable is plainly not JSON.
        raise _bad(parameter, "not valid JSON" if exc.problem == NOT_JSON else exc.problem) from None
    except RefusedJsonValue as exc:
        raise _bad(parameter, str(exc)) from None


def _known(doctype: DocTypeRecord, field: Any, parameter: str) -> str:
    if not isinstance(field, str) or (field not in STANDARD_FIELDS and doctype.field(field) is None):
        shown = field if isinstance(field, str) else json.dumps(field)
        raise _bad(parameter, f"'{shown[:100]}' is not a field of {doctype.name}")
    return field


def parse_fields(doctype: DocTypeRecord, params: Mapping[str, str]) -> tuple[str, ...]:
    value = _json(params, "fields")
    if value is None:
        return ("name",)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise _bad("fields", 'give a JSON list of field names, e.g. ["name", "status"], or ["*"]')
    fields: list[str] = []
    for item in value:
        names = (*STANDARD_FIELDS, *(f.fieldname for f in doctype.fields)) if item == "*" else (item,)
        for name in names:
            if _known(doctype, name, "fields") not in fields:
                fields.append(name)
    return tuple(fields)


def _kind(doctype: DocTypeRecord, field: str) -> str:
    if field in _TIME_COLUMNS:
        return "datetime"
    if field in ("docstatus", "idx"):
        return "integer"
    if field in _TEXT_COLUMNS:
        return "text"
    definition = doctype.field(field)
    assert definition is not None
    return kind_of(definition)


def _scalar(doctype: DocTypeRecord, field: str, value: Any, parameter: str) -> Any:
    """One filter value, converted the way the field is compared."""
    kind = _kind(doctype, field)
    definition = doctype.field(field)
    if kind == "datetime":
        moment = parse_timestamp(value) if isinstance(value, str) else None
        if moment is None:
            raise _bad(parameter, f"{field} is compared with a date and time as YYYY-MM-DD HH:MM:SS")
        return moment
    if kind in ("integer", "float"):
        if definition is None:  # docstatus, idx
            if isinstance(value, bool) or not isinstance(value, int | str) or not _INTEGER.match(str(value)):
                raise _bad(parameter, f"{field} is compared with an integer")
            number = int(value)
            if abs(number) > INT_MAX:
                raise _bad(parameter, f"{field} is compared with an integer")
            return number
        try:
            return convert_value(definition, value)
        except DocumentValidationError as exc:
            raise _bad(parameter, exc.message) from None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _bad(parameter, f"{field} is compared with text")
    return check_text(str(value), parameter, max_length=1000)


def _condition(doctype: DocTypeRecord, field: Any, operator: Any, value: Any, parameter: str) -> Condition:
    field = _known(doctype, field, parameter)
    if not isinstance(operator, str):
        raise _bad(parameter, f"the operator must be one of {', '.join(OPERATORS)}")
    operator = _ALIASES.get(operator.strip().lower(), operator.strip().lower())
    if operator not in OPERATORS:
        raise _bad(parameter, f"'{operator[:20]}' is not an operator; use one of {', '.join(OPERATORS)}")
    kind = _kind(doctype, field)
    if value is None and operator in ("=", "!="):
        return Condition(field, "is", "not set" if operator == "=" else "set", kind)
    if operator == "is":
        if not isinstance(value, str) or value.strip().lower() not in ("set", "not set"):
            raise _bad(parameter, "the operator 'is' takes 'set' or 'not set'")
        return Condition(field, "is", value.strip().lower(), kind)
    if operator in ("like", "not like"):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _bad(parameter, f"'{operator}' takes a text pattern such as %word%")
        return Condition(field, operator, check_text(str(value), parameter, max_length=1000), "text")
    if operator in ("in", "not in"):
        values = [part.strip() for part in value.split(",")] if isinstance(value, str) else value
        if not isinstance(values, list) or len(values) > MAX_IN_VALUES:
            raise _bad(parameter, f"'{operator}' takes a list of at most {MAX_IN_VALUES} values")
        converted = tuple(_scalar(doctype, field, item, parameter) for item in values if item not in (None, ""))
        return Condition(field, operator, converted, kind)
    return Condition(field, operator, _scalar(doctype, field, value, parameter), kind)


def parse_filters(doctype: DocTypeRecord, params: Mapping[str, str], parameter: str) -> tuple[Condition, ...]:
    value = _json(params, parameter)
    if value is None:
        return ()
    items: list[tuple[Any, Any, Any]] = []
    if isinstance(value, dict):
        for field, condition in value.items():
            if isinstance(condition, list) and len(condition) == 2 and isinstance(condition[0], str):
                items.append((field, condition[0], condition[1]))
            else:
                items.append((field, "=", condition))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, list) and len(item) == 4:
                if item[0] != doctype.name:
                    raise _bad(parameter, f"a filter names the type '{str(item[0])[:64]}', not {doctype.name}")
                item = item[1:]
            if not isinstance(item, list) or len(item) != 3:
                raise _bad(parameter, 'each filter is [field, operator, value], e.g. ["status", "=", "Open"]')
            items.append((item[0], item[1], item[2]))
    else:
        raise _bad(parameter, 'give a JSON object {"field": value} or a JSON list of [field, operator, value]')
    if len(items) > MAX_CONDITIONS:
        raise _bad(parameter, f"at most {MAX_CONDITIONS} conditions")
    return tuple(_condition(doctype, field, operator, operand, parameter) for field, operator, operand in items)


def parse_order_by(doctype: DocTypeRecord, params: Mapping[str, str]) -> tuple[SortKey, ...]:
    raw = (params.get("order_by") or "").strip()
    if not raw:
        return (SortKey("modified", "datetime", True),)
    keys: list[SortKey] = []
    for part in raw.split(",")[:10]:
        match = _ORDER_PART.match(part.strip())
        if not match:
            raise _bad("order_by", "give fields with asc or desc, e.g. 'modified desc, name asc'")
        field = _known(doctype, match.group(1), "order_by")
        is_descending = (match.group(2) or "asc").lower() == "desc"
        keys.append(SortKey(field, _kind(doctype, field), is_descending))
    return tuple(keys)


def _non_negative(params: Mapping[str, str], names: tuple[str, ...], default: int) -> int:
    for name in names:
        raw = params.get(name)
        if raw is None or raw.strip() == "":
            continue
        if not _WHOLE.match(raw.strip()) or int(raw.strip()) > INT_MAX:
            raise _bad(name, f"give a whole number from 0 to {INT_MAX}")
        return int(raw.strip())
    return default


def parse_list_request(doctype: DocTypeRecord, params: Mapping[str, str], *, owner_id: int | None) -> ListRequest:
    """Every list parameter checked against the type; ``owner_id`` limits to one owner's documents."""
    page_length = _non_negative(params, ("limit_page_length", "limit", "page_length"), DEFAULT_PAGE_LENGTH)
    query = DocumentQuery(
        doctype=doctype.name,
        conditions=parse_filters(doctype, params, "filters"),
        any_conditions=parse_filters(doctype, params, "or_filters"),
        order_by=parse_order_by(doctype, params),
        offset=_non_negative(params, ("limit_start", "start"), 0),
        limit=page_length or None,
        owner_id=owner_id,
    )
    return ListRequest(parse_fields(doctype, params), query)
