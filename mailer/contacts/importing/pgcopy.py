"""The PostgreSQL fast path of the import store: one lookup statement and ``COPY``.

Same interface and same transactions as :class:`~mailer.contacts.importing.store.ContactStore`;
what differs, and why (measured: most of an import's time on PostgreSQL is the server
maintaining the contacts table's indexes, so the rest must cost as little as possible):

* the COPY text of each new contact is built on the reading thread (:meth:`prepare`), so the
  writing thread only joins it and waits on the server;
* ``lookup`` is one statement with three strings bound (split into arrays by the server): a
  data-modifying CTE inserts the chunk's addresses into ``import_seen`` while the query reports,
  per address, the row of an earlier occurrence, the id of an existing contact, and whether it
  is suppressed — instead of four round trips with thousands of placeholders each;
* new contacts get their ids from the sequence in one query and are copied straight into
  ``contacts``. Their addresses were found absent a moment before, in the same transaction;
  should another session insert one of them in between, the COPY fails on the unique index,
  is rolled back to a savepoint, and the chunk goes the staged way instead: COPY into a TEMP
  table, then ``INSERT … SELECT … ON CONFLICT (email_key) DO NOTHING RETURNING``;
* tags and list memberships of brand-new contacts cannot conflict: copied straight in too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import ARRAY, ColumnElement, any_, bindparam, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from mailer.contacts.importing.rows import ContactRow
from mailer.contacts.importing.store import (
    CONTACT_COLUMNS,
    SEEN_DDL,
    Chunk,
    ContactStore,
    Lookup,
)
from mailer.db import utcnow

COLUMN_LIST = ", ".join(CONTACT_COLUMNS)
_EMPTY_COPY = f"SELECT {COLUMN_LIST} FROM contacts WITH NO DATA"  # noqa: S608  (names)
STAGE_DDL = ("CREATE TEMPORARY TABLE IF NOT EXISTS import_stage ON COMMIT DELETE ROWS AS "
             + _EMPTY_COPY)
NEXT_IDS = ("SELECT nextval(pg_get_serial_sequence('contacts', 'id')) "
            "FROM generate_series(1, %s)")
# One row per address of the chunk that is not simply new. The CTE's insert is invisible to
# the outer query (same snapshot), so ``first_row`` comes from previous chunks only. The
# correlated subqueries make every lookup an index probe: joined, the planner hashes whole
# tables once they are big, and a chunk would cost as much as the table (quadratic imports).
# Their cost estimate would switch JIT compilation on (15 ms a chunk for nothing): the import's
# connection runs with jit off.
LOOKUP = """
WITH chunk AS (
    SELECT * FROM unnest(string_to_array(%s, E'\\n'), string_to_array(%s, ',')::int[],
                         string_to_array(%s, ',')) AS t(email_key, first_row, hash)
), noted AS (
    INSERT INTO import_seen (email_key, first_row)
    SELECT email_key, first_row FROM chunk
    ON CONFLICT (email_key) DO NOTHING
)
SELECT * FROM (
    SELECT chunk.email_key,
           (SELECT seen.first_row FROM import_seen AS seen
            WHERE seen.email_key = chunk.email_key) AS first_row,
           (SELECT contacts.id FROM contacts
            WHERE contacts.email_key = chunk.email_key) AS contact_id,
           EXISTS (SELECT FROM suppressions
                   WHERE suppressions.email_hash = chunk.hash) AS suppressed
    FROM chunk
    OFFSET 0  -- a fence: the filter below must not evaluate the subqueries again
) AS found
WHERE first_row IS NOT NULL OR contact_id IS NOT NULL OR suppressed
"""

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_line(values: tuple[str, ...]) -> str:
    """String values as one line of COPY's text format (without the line end).

    The values hold no NUL (the reader refuses files with one), so they are joined on NUL and
    escaped all at once; the escaping pass runs only when a backslash, tab or line break is
    there at all, since ``str.translate`` walks Cyrillic text character by character.
    """
    line = "\x00".join(values)
    if "\\" in line or "\t" in line or "\n" in line or "\r" in line:
        line = line.translate(_ESCAPES)
    return line.replace("\x00", "\t")


class PostgresContactStore(ContactStore):
    """The import store on PostgreSQL (module docstring)."""

    as_text = True

    def open(self) -> None:
        """Create the seen-keys table and the staging table for new contacts."""
        with self.conn.begin():
            self.conn.execute(text("SET jit = off"))
            self.conn.execute(text(SEEN_DDL))
            self.conn.execute(text("TRUNCATE import_seen"))
            self.conn.execute(text(STAGE_DDL))

    def close(self) -> None:
        """Drop the temporary tables and reset the session (the connection is pooled)."""
        with self.conn.begin():
            self.conn.execute(text("DROP TABLE IF EXISTS import_stage"))
            self.conn.execute(text("RESET jit"))
        super().close()

    def prepare(self, rows: list[ContactRow]) -> Chunk:
        """Stamp the chunk and build each new contact's COPY text, on the reading thread."""
        chunk = Chunk(rows, utcnow())
        chunk.records = {row.row: copy_line(self.record(row, chunk.stamp(row).isoformat()))
                         for row in rows}
        return chunk

    def matching(self, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
        """``column = ANY(:values)``: one array parameter, one plan, whatever the chunk size."""
        return column == any_(bindparam("values", list(values), type_=ARRAY(column.type)))

    def _cursor(self) -> psycopg.Cursor[Any]:
        raw = self.conn.connection.driver_connection
        assert isinstance(raw, psycopg.Connection)  # noqa: S101  (the dialect says so)
        return raw.cursor()

    def _copy(self, table: str, columns: Sequence[str], lines: Iterable[str]) -> None:
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        payload = "".join(f"{line}\n" for line in lines)
        if not payload:
            return
        try:
            with self._cursor() as cursor, cursor.copy(statement) as copy:
                copy.write(payload)
        except psycopg.errors.UniqueViolation as exc:  # as SQLAlchemy would have wrapped them
            raise IntegrityError(statement, None, exc) from exc
        except psycopg.Error as exc:
            raise DBAPIError(statement, None, exc) from exc

    def lookup(self, rows: Sequence[ContactRow]) -> Lookup:
        """Classify and remember a chunk's addresses in one statement (module docstring)."""
        found = Lookup({}, {}, set())
        try:
            with self._cursor() as cursor:
                # Three strings, split by the server: binding arrays of thousands of items
                # costs more than the lookup. No address holds a line break.
                cursor.execute(LOOKUP, ("\n".join(row.key for row in rows),
                                        ",".join(str(row.row) for row in rows),
                                        ",".join(row.hash for row in rows)))
                results = cursor.fetchall()
        except psycopg.Error as exc:
            raise DBAPIError(LOOKUP, None, exc) from exc
        for key, first_row, contact_id, suppressed in results:
            if first_row is not None:
                found.earlier[key] = first_row
                continue
            if contact_id is not None:
                found.existing[key] = contact_id
            if suppressed:
                found.suppressed.add(key)
        return found

    def insert_contacts(self, chunk: Chunk, rows: Sequence[ContactRow]) -> dict[str, int]:
        """COPY new contacts with ids taken from the sequence; staged path on a conflict."""
        if not rows:
            return {}
        with self._cursor() as cursor:
            cursor.execute(NEXT_IDS, (len(rows),))
            ids = [contact_id for (contact_id,) in cursor.fetchall()]
        savepoint = self.conn.begin_nested()
        try:
            self._copy("contacts", ("id", *CONTACT_COLUMNS),
                       (f"{contact_id}\t{chunk.records[row.row]}"
                        for contact_id, row in zip(ids, rows, strict=True)))
        except IntegrityError:
            savepoint.rollback()
            return self._insert_staged(chunk, rows)
        savepoint.commit()
        return {row.key: contact_id for contact_id, row in zip(ids, rows, strict=True)}

    def _insert_staged(self, chunk: Chunk, rows: Sequence[ContactRow]) -> dict[str, int]:
        self._copy("import_stage", CONTACT_COLUMNS, (chunk.records[row.row] for row in rows))
        result = self.conn.execute(text(
            f"INSERT INTO contacts ({COLUMN_LIST}) SELECT {COLUMN_LIST} "  # noqa: S608
            "FROM import_stage ON CONFLICT (email_key) DO NOTHING RETURNING email_key, id"))
        created: dict[str, int] = dict(result.all())
        self.conn.execute(text("DELETE FROM import_stage"))
        return created

    def add_tags(self, pairs: Sequence[tuple[int, str]], *, new_contacts: bool) -> None:
        """Tag contacts; brand-new ones by COPY."""
        if new_contacts:
            self._copy("contact_tags", ("contact_id", "tag"),
                       (f"{contact_id}\t{tag.translate(_ESCAPES)}" for contact_id, tag in pairs))
        else:
            super().add_tags(pairs, new_contacts=False)

    def add_members(self, list_id: int, contact_ids: Iterable[int], now: datetime, *,
                    new_contacts: bool) -> None:
        """Put contacts in a list; brand-new ones by COPY."""
        if new_contacts:
            added = now.isoformat()
            self._copy("list_members", ("list_id", "contact_id", "added_at"),
                       (f"{list_id}\t{contact_id}\t{added}" for contact_id in contact_ids))
        else:
            super().add_members(list_id, contact_ids, now, new_contacts=False)
