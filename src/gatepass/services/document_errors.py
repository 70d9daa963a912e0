"""Failures of the document API that are not about the token: Frappe's exception types and status codes.

Frappe names each failure by its exception class (``exc_type``) and maps it to an HTTP status
(``frappe/exceptions.py``): ValidationError and its kin 417, PermissionError 403,
DoesNotExistError 404, DuplicateEntryError 409. Token and scope failures are
OAuth errors instead (RFC 6750 §3.1), so a client can tell "get a new token" from "not allowed".
"""

from __future__ import annotations

from typing import ClassVar


class DocumentError(Exception):
    """Base of the document API's own failures; ``message`` is public and says what to fix."""

    exc_type: ClassVar[str] = "ValidationError"
    #: A short machine-readable code, beside Frappe's ``exc_type``.
    error: ClassVar[str] = "validation_error"
    status_code: ClassVar[int] = 417

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class DocumentValidationError(DocumentError):
    """A value, a body or a query parameter that cannot be used; ``field`` names it."""


class MandatoryError(DocumentValidationError):
    exc_type = "MandatoryError"


class LinkValidationError(DocumentValidationError):
    exc_type = "LinkValidationError"


class LinkExistsError(DocumentValidationError):
    exc_type = "LinkExistsError"


class TimestampMismatchError(DocumentValidationError):
    exc_type = "TimestampMismatchError"


class DocumentNotFound(DocumentError):
    exc_type = "DoesNotExistError"
    error = "not_found"
    status_code = 404


class DocumentPermissionError(DocumentError):
    """The user's roles do not allow the action; a new token would not help."""

    exc_type = "PermissionError"
    error = "permission_denied"
    status_code = 403


class DuplicateEntryError(DocumentError):
    exc_type = "DuplicateEntryError"
    error = "duplicate_entry"
    status_code = 409
