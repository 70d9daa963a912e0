"""Telling a database that is gone (the client may retry) from a statement that is wrong (our fault)."""

from __future__ import annotations

import socket

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, NotSupportedError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

#: What a request may raise when the database cannot be reached: the driver's errors as SQLAlchemy wraps them,
#: a pool with no connection to give, and the socket errors and timeouts a driver lets through while connecting.
DATABASE_FAULTS: tuple[type[Exception], ...] = (
    DBAPIError,
    PoolTimeoutError,
    ConnectionError,
    socket.gaierror,
    TimeoutError,
)

#: SQLSTATE classes that say the statement or its values were wrong, not that the database is gone:
#: 22 data exception (e.g. a NUL in text), 23 integrity constraint violation, 42 syntax or access rule.
_STATEMENT_FAULT_CLASSES = ("22", "23", "42")


def is_statement_fault(exc: BaseException) -> bool:
    if isinstance(exc, (IntegrityError, ProgrammingError, DataError, NotSupportedError)):
        return True
    # The asyncpg adapter raises a bare DBAPIError for most server errors; its SQLSTATE tells them apart.
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_STATEMENT_FAULT_CLASSES)
