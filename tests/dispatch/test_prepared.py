"""The ledger's libpq-level prepared statements: parameters in order, NULLs and literals, one
PREPARE per connection however many writers use it, and errors that leave the pool sound."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import bindparam, literal, select, text


def postgres_only(app: Flask) -> None:
    from mailer.db import db

    with app.app_context():
        if db.engine.dialect.driver != "psycopg":
            pytest.skip("libpq statements are PostgreSQL's (psycopg)")


def test_parameters_repeat_mix_with_literals_and_may_be_null(app: Flask) -> None:
    from mailer.db import db
    from mailer.dispatch.prepared import PreparedStatements

    postgres_only(app)
    statement = select(
        bindparam("b", type_=db.String) + literal("%") + bindparam("a", type_=db.String)
        + bindparam("b", type_=db.String),
        bindparam("when", type_=db.DateTime(timezone=True)).is_(None),
    )
    with app.app_context(), db.engine.connect() as connection:
        prepared = PreparedStatements(connection, {"join": statement})
        assert prepared.first_value("join", {"a": "A", "b": "б", "when": None}) == "б%Aб"
        when = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
        assert prepared.first_value("join", {"a": "1", "b": "2", "when": when}) == "2%12"


def test_prepared_once_per_connection_and_errors_leave_it_usable(app: Flask) -> None:
    from mailer.db import db
    from mailer.dispatch.prepared import PreparedStatements

    postgres_only(app)
    statement = select(bindparam("n", type_=db.Integer) * 2)
    failing = select(literal(1) / bindparam("n", type_=db.Integer))
    with app.app_context(), db.engine.connect() as pooled:
        connection = pooled.execution_options(isolation_level="AUTOCOMMIT")  # as the ledger's
        first = PreparedStatements(connection, {"double": statement, "divide": failing})
        assert first.first_value("double", {"n": 21}) == "42"
        # A second writer on the same pooled connection reuses the prepared statement.
        second = PreparedStatements(connection, {"double": statement})
        assert second.first_value("double", {"n": 4}) == "8"
        names = connection.exec_driver_sql(
            "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'mailer_%%'").scalar()
        assert names == 1
        import psycopg

        with pytest.raises(psycopg.DatabaseError, match="division by zero"):
            first.first_value("divide", {"n": 0})
        assert first.first_value("double", {"n": 5}) == "10"
        assert connection.execute(text("SELECT 1")).scalar() == 1
