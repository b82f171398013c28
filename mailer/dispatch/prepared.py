"""Server-side prepared statements run straight through libpq (``psycopg.pq``), for the ledger
writes a worker makes for every message.

psycopg's cursor (parameter adaptation, its prepared-statement cache, result and column
objects, a non-blocking wait) cost ≈ 35 µs of client CPU per execution here; the same
statement through ``PGconn.exec_prepared`` costs ≈ 24, most of it the socket's system calls.
The statements are SQLAlchemy constructs compiled once; their named parameters become ``$n``
in order of first use, and values are sent as text (the compiled SQL casts each one).

Each statement is prepared once per database connection, under a name derived from its SQL;
the names prepared on a connection are kept in the pool's per-connection ``info``, so a
connection handed to the next writer is not asked to prepare them again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any

import psycopg
from psycopg import pq
from sqlalchemy import Connection
from sqlalchemy.sql import ClauseElement

_PARAMETER = re.compile(r"%\((\w+)\)s|%%")


class PreparedStatements:
    """Named statements prepared on one SQLAlchemy connection's psycopg connection, which must
    be in autocommit mode: each execution is its own transaction, and a failed one leaves
    none open."""

    def __init__(self, connection: Connection,
                 statements: Mapping[str, ClauseElement]) -> None:
        self.connection = connection
        driver: Any = connection.connection.driver_connection
        self.pgconn: pq.abc.PGconn = driver.pgconn
        self.encoding = driver.info.encoding
        prepared: set[bytes] = connection.connection.info.setdefault("mailer_prepared", set())
        self._prepared = prepared
        self._statements = {name: _Statement(statement, connection.dialect)
                            for name, statement in statements.items()}

    def first_value(self, name: str, params: Mapping[str, object]) -> str | None:
        """Run statement ``name``; the first column of its first row (None without rows)."""
        statement = self._statements[name]
        if statement.name not in self._prepared:
            self._check(self.pgconn.prepare(statement.name, statement.sql),
                        pq.ExecStatus.COMMAND_OK)
            self._prepared.add(statement.name)
        # None is SQL NULL, as libpq takes it (psycopg's stub types the list without it).
        values: Any = statement.values(params, self.encoding)
        result = self.pgconn.exec_prepared(statement.name, values)
        if result.status == pq.ExecStatus.COMMAND_OK:
            return None
        self._check(result, pq.ExecStatus.TUPLES_OK)
        if not result.ntuples:
            return None
        value = result.get_value(0, 0)
        return None if value is None else value.decode(self.encoding)

    def _check(self, result: pq.abc.PGresult, wanted: pq.ExecStatus) -> None:
        if result.status == wanted:
            return
        message = (result.error_message or self.pgconn.error_message).decode(
            self.encoding, "replace").strip()
        if self.pgconn.status != pq.ConnStatus.OK:
            self.connection.invalidate()  # never hand a dead connection back to the pool
            raise psycopg.OperationalError(message)
        raise psycopg.DatabaseError(message)


class _Statement:
    """One statement: its SQL with ``$n`` parameters, and how to lay out its values."""

    def __init__(self, statement: ClauseElement, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        order: list[str] = []

        def number(match: re.Match[str]) -> str:
            key = match.group(1)
            if key is None:
                return "%"
            if key not in order:
                order.append(key)
            return f"${order.index(key) + 1}"

        sql = _PARAMETER.sub(number, str(compiled))
        self.sql = sql.encode()
        self.name = b"mailer_" + hashlib.sha256(self.sql).hexdigest()[:16].encode()
        self.order = tuple(order)
        self.fixed = {key: value for key, value in compiled.params.items() if value is not None}

    def values(self, params: Mapping[str, object], encoding: str) -> list[bytes | None]:
        """The statement's parameter values as text, in ``$n`` order."""
        fixed = self.fixed
        return [_text(params[key] if key in params else fixed.get(key), encoding)
                for key in self.order]


def _text(value: object, encoding: str) -> bytes | None:
    """A value in PostgreSQL's text input form."""
    if value is None:
        return None
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ValueError("timestamps sent to the ledger must be timezone-aware")
        return value.isoformat().encode()
    return str(value).encode(encoding)
