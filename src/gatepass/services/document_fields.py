"""Field types of document types: checking a definition, converting a value, showing a document.

The types are Frappe's (``frappe/model/__init__.py`` data_fieldtypes), limited to the ones
Gatepass stores: Data, Text, Int, Float, Check, Date, Datetime, Select and Link. Values are kept
in a JSON object per document, so every value is checked here before it reaches the database:
text without NUL or lone surrogates, 32-bit integers, finite floats, ISO dates.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any

from gatepass.services.accounts import AccountError
from gatepass.services.document_errors import DocumentValidationError
from gatepass.services.stores import DocFieldRecord, DocTypeRecord, DocumentRecord

FIELD_TYPES = ("Data", "Text", "Int", "Float", "Check", "Date", "Datetime", "Select", "Link")
#: Columns every document has (Frappe's standard fields); docstatus and idx are always 0 here.
STANDARD_FIELDS = ("name", "owner", "creation", "modified", "modified_by", "docstatus", "idx")
#: Frappe's Data is varchar(140); Text is long text, bounded here so one document stays small.
DATA_MAX_LENGTH = 140
TEXT_MAX_LENGTH = 100_000
#: Frappe's Int is int(11); the same bound keeps SQL casts safe on every backend.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

_FIELDNAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DATETIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?$"
)
_INTEGER = re.compile(r"^[+-]?[0-9]{1,12}$")


def kind_of(field: DocFieldRecord) -> str:
    """How SQL compares the field: as text, integer or float."""
    if field.fieldtype in ("Int", "Check"):
        return "integer"
    if field.fieldtype == "Float":
        return "float"
    return "text"


def format_timestamp(moment: datetime) -> str:
    """Frappe's timestamp text: UTC, space-separated, microseconds."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # isoformat is C all the way; strftime parses its format on every call (two per document shown).
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


def parse_timestamp(text: str) -> datetime | None:
    """A Frappe or ISO 8601 timestamp → aware UTC datetime; naive text is taken as UTC."""
    if not _DATETIME.match(text.strip()):
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def check_text(value: str, field: str, *, max_length: int = TEXT_MAX_LENGTH) -> str:
    """Text every backend can store: no NUL (PostgreSQL refuses it), valid UTF-8, bounded."""
    if "\x00" in value:
        raise DocumentValidationError(f"{field}: the text contains a NUL character", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise DocumentValidationError(f"{field}: the text is not valid Unicode", field=field) from None
    if len(value) > max_length:
        raise DocumentValidationError(f"{field}: the text is longer than {max_length} characters", field=field)
    return value


def _invalid(field: DocFieldRecord, expected: str) -> DocumentValidationError:
    return DocumentValidationError(f"{field.fieldname}: the value must be {expected}", field=field.fieldname)


def _as_int(field: DocFieldRecord, value: Any) -> int:
    if isinstance(value, bool):
        raise _invalid(field, "an integer")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        value = int(value.strip())
    if not isinstance(value, int):
        raise _invalid(field, "an integer")
    if not INT_MIN <= value <= INT_MAX:
        raise _invalid(field, f"an integer from {INT_MIN} to {INT_MAX}")
    return value


def _as_float(field: DocFieldRecord, value: Any) -> float:
    if isinstance(value, bool):
        raise _invalid(field, "a number")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise _invalid(field, "a number") from None
    if not isinstance(value, int | float) or not math.isfinite(value) or abs(value) > 1e300:
        raise _invalid(field, "a finite number")
    return float(value)


def _as_check(field: DocFieldRecord, value: Any) -> int:
    if value in (True, 1, "1", "true", "True") and not isinstance(value, float):
        return 1
    if value in (False, 0, "0", "false", "False") and not isinstance(value, float):
        return 0
    raise _invalid(field, "0 or 1")


def _as_text(field: DocFieldRecord, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _invalid(field, "text")
    text = value if isinstance(value, str) else str(value)
    limit = TEXT_MAX_LENGTH if field.fieldtype == "Text" else DATA_MAX_LENGTH
    return check_text(text, field.fieldname, max_length=limit)


def _as_date(field: DocFieldRecord, value: Any) -> str:
    if not isinstance(value, str) or not _DATE.match(value.strip()):
        raise _invalid(field, "a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise _invalid(field, "a valid date as YYYY-MM-DD") from None


def _as_datetime(field: DocFieldRecord, value: Any) -> str:
    moment = parse_timestamp(value) if isinstance(value, str) else None
    if moment is None:
        raise _invalid(field, "a date and time as YYYY-MM-DD HH:MM:SS")
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{moment.microsecond:06d}" if moment.microsecond else text


def convert_value(field: DocFieldRecord, value: Any, *, today: date | None = None) -> Any:
    """The value to store for ``field``, or None when empty; a DocumentValidationError names the field.

    Link targets are checked by the caller, which can look documents up.
    """
    if value is None or value == "":
        return 0 if field.fieldtype == "Check" else None
    kind = field.fieldtype
    if kind == "Int":
        return _as_int(field, value)
    if kind == "Float":
        return _as_float(field, value)
    if kind == "Check":
        return _as_check(field, value)
    if kind == "Date":
        if value == "Today" and today is not None:
            return today.isoformat()
        return _as_date(field, value)
    if kind == "Datetime":
        return _as_datetime(field, value)
    text = _as_text(field, value)
    if kind == "Select" and text not in field.options:
        raise DocumentValidationError(
            f"{field.fieldname}: '{text}' is not one of {', '.join(field.options)}", field=field.fieldname
        )
    return text


def default_of(field: DocFieldRecord, today: date) -> Any:
    return convert_value(field, field.default if field.default is not None else None, today=today)


def check_field_definition(field: DocFieldRecord, known_doctypes: set[str]) -> None:
    """An admin's field definition is usable: name, type, options, default. Raises AccountError."""
    where = f"field '{field.fieldname}'"
    if not _FIELDNAME.fullmatch(field.fieldname):
        raise AccountError(f"{where}: a field name is lower case letters, digits and _ (from a letter)", field="fields")
    if field.fieldname in STANDARD_FIELDS or field.fieldname == "doctype":
        raise AccountError(f"{where}: '{field.fieldname}' is a standard field of every document", field="fields")
    if field.fieldtype not in FIELD_TYPES:
        raise AccountError(f"{where}: the type must be one of {', '.join(FIELD_TYPES)}", field="fields")
    if field.fieldtype == "Select" and not field.options:
        raise AccountError(f"{where}: a Select field needs its options", field="fields")
    if field.fieldtype == "Link" and (len(field.options) != 1 or field.options[0] not in known_doctypes):
        raise AccountError(f"{where}: a Link field names one existing document type", field="fields")
    if field.fieldtype not in ("Select", "Link") and field.options:
        raise AccountError(f"{where}: only Select and Link fields take options", field="fields")
    for option in field.options:
        check_text_for_admin(option, where)
    if field.default is not None:
        try:
            convert_value(field, field.default, today=date(2000, 1, 1))
        except DocumentValidationError as exc:
            raise AccountError(f"{where}: the default does not fit: {exc.message}", field="fields") from None


def check_text_for_admin(value: str, where: str) -> None:
    if not value.strip() or len(value) > 140 or any(ord(c) < 32 for c in value):
        raise AccountError(f"{where}: '{value}' must be 1 to 140 printable characters", field="fields")


def document_body(doctype: DocTypeRecord, record: DocumentRecord) -> dict[str, Any]:
    """The full document as Frappe returns it: standard fields, the type's fields, then ``doctype``."""
    body: dict[str, Any] = {
        "name": record.name,
        "owner": record.owner,
        "creation": format_timestamp(record.creation),
        "modified": format_timestamp(record.modified),
        "modified_by": record.modified_by,
        "docstatus": 0,
        "idx": 0,
    }
    for field in doctype.fields:
        body[field.fieldname] = record.data.get(field.fieldname)
    body["doctype"] = doctype.name
    return body


def document_row(doctype: DocTypeRecord, record: DocumentRecord, fields: tuple[str, ...]) -> dict[str, Any]:
    """One list row with only the asked-for fields, in the asked-for order."""
    full = document_body(doctype, record)
    return {field: full.get(field) for field in fields}
