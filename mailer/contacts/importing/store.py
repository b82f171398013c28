"""Bulk reads and writes of one import, on one database connection held for the whole file.

The named queries, each run once per chunk of rows (never once per row):

``lookup``, in three queries and an insert (one statement on PostgreSQL):
    ``seen_before``: which addresses of the chunk were already in an earlier chunk of the same
    file. A TEMP table ``import_seen`` (address key, first row) answers it, so memory does not
    grow with the file; it lives and dies with the connection and rolls back with a failed
    chunk. ``remember`` adds the chunk's new addresses to it.
    ``existing``: which addresses already belong to contacts: one ``IN`` on the unique
    ``email_key`` index.
    ``suppressed``: which are on the suppression list: one ``IN`` on its unique ``email_hash``.
``insert_contacts``
    a multi-row ``INSERT … ON CONFLICT (email_key) DO NOTHING RETURNING email_key, id``; a
    contact created meanwhile by someone else is counted as existing, never an error.
``update_contacts``
    an executemany ``UPDATE … WHERE id = ?`` with only the columns the rows give.
``add_tags`` / ``add_members``
    multi-row ``INSERT``, with ``ON CONFLICT DO NOTHING`` for contacts that already existed.

:class:`ContactStore` is plain SQL through SQLAlchemy (SQLite, and any other database);
``pgcopy.PostgresContactStore`` replaces the bulk inserts with ``COPY`` on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    Integer,
    String,
    Table,
    bindparam,
    column,
    insert,
    select,
    table,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from mailer.contacts import models as contact_models
from mailer.contacts.importing.rows import ContactRow
from mailer.contacts.models import ContactSource
from mailer.db import Base, utcnow

CONTACTS: Table = Base.metadata.tables["contacts"]
TAGS: Table = Base.metadata.tables["contact_tags"]
MEMBERS: Table = Base.metadata.tables["list_members"]
LISTS: Table = Base.metadata.tables["contact_lists"]
SUPPRESSIONS: Table = Base.metadata.tables["suppressions"]

# Columns derived from others, which bulk writes must fill themselves (see contacts.models).
HAS_EMAIL_HASH = "email_hash" in CONTACTS.c
HAS_SEARCH_TEXT = "search_text" in CONTACTS.c
SEARCH_FIELDS = ("first_name", "last_name", "email", "outlet")

# Every column a new contact gets, in the order of ContactStore.record().
CONTACT_COLUMNS: tuple[str, ...] = (
    "email", "email_key", "first_name", "last_name", "outlet", "beat", "role", "country",
    "language", "languages", "timezone", "phone", "social", "notes", "tracking", "source",
    "source_detail", "created_at", "updated_at",
) + (("email_hash",) if HAS_EMAIL_HASH else ()) + (("search_text",) if HAS_SEARCH_TEXT else ())

SEEN = table("import_seen", column("email_key", String), column("first_row", Integer))
SEEN_DDL = ("CREATE TEMPORARY TABLE IF NOT EXISTS import_seen "
            "(email_key VARCHAR(320) PRIMARY KEY, first_row INTEGER NOT NULL)")
SOURCE = ContactSource.IMPORT.value


@dataclass
class Lookup:
    """What the database knows of a chunk's addresses (each row's address is distinct)."""

    earlier: dict[str, int]  # key → row it first appeared on, in an earlier chunk of the file
    existing: dict[str, int]  # key → id of the contact that has it (keys not in ``earlier``)
    suppressed: set[str]  # keys on the suppression list (not in ``earlier``)


@dataclass
class Chunk:
    """Valid rows to write in one transaction, stamped with one time.

    ``records`` holds, by row number, whatever the store prepared for its bulk insert while
    the chunk was still on the reading thread (the COPY rows on PostgreSQL).
    """

    rows: list[ContactRow]
    now: datetime
    records: dict[int, Any] = field(default_factory=dict)

    def stamp(self, row: ContactRow) -> datetime:
        """The creation time of one row's contact: the chunk's time plus its row number in µs.

        Distinct times keep the ``created_at`` index cheap: thousands of equal keys make
        PostgreSQL rewrite B-tree posting lists on every insert (measured: 2.3 s → 1.8 s per
        100,000 rows), and they order an import's contacts as the file did.
        """
        return self.now + timedelta(microseconds=row.row - self.rows[0].row)


def insert_ignoring_conflicts(conn: Connection, target: Table,
                              index_elements: Sequence[str] | None = None) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` in the connection's dialect."""
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(target).on_conflict_do_nothing(index_elements=index_elements)
    if name == "sqlite":
        return sqlite.insert(target).on_conflict_do_nothing(index_elements=index_elements)
    raise NotImplementedError(f"CSV import does not support {name} databases")


class ContactStore:
    """The database side of one import (module docstring), in portable SQL."""

    as_text = False  # whether record() gives every value as a string (for COPY)

    def __init__(self, conn: Connection, source_detail: str) -> None:
        self.conn = conn
        self.source_detail = source_detail

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self) -> None:
        """Create (or empty) the temporary tables of this import, in a transaction of its own."""
        with self.conn.begin():
            self.conn.execute(text(SEEN_DDL))
            self.conn.execute(text("DELETE FROM import_seen"))

    def close(self) -> None:
        """Drop the temporary tables (the connection goes back to the pool)."""
        with self.conn.begin():
            self.conn.execute(text("DROP TABLE IF EXISTS import_seen"))

    def prepare(self, rows: list[ContactRow]) -> Chunk:
        """Stamp a chunk (runs on the reading thread, before the chunk is queued)."""
        return Chunk(rows, utcnow())

    # -- reads -------------------------------------------------------------------------------

    def matching(self, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
        """``column IN (…values)``, the portable way."""
        return column.in_(values)

    def lookup(self, rows: Sequence[ContactRow]) -> Lookup:
        """Classify a chunk's distinct addresses, and remember them for the chunks after it."""
        earlier = self.seen_before([row.key for row in rows])
        rows = [row for row in rows if row.key not in earlier]
        self.remember(rows)
        keys_by_hash = {row.hash: row.key for row in rows}
        suppressed = {keys_by_hash[digest] for digest in self.suppressed(list(keys_by_hash))}
        return Lookup(earlier, self.existing([row.key for row in rows]), suppressed)

    def seen_before(self, keys: Sequence[str]) -> dict[str, int]:
        """Keys that earlier chunks of this file had, with the row each first appeared on."""
        query = select(SEEN.c.email_key, SEEN.c.first_row).where(
            self.matching(SEEN.c.email_key, keys))
        return dict(self.conn.execute(query).all())

    def existing(self, keys: Sequence[str]) -> dict[str, int]:
        """Keys that already belong to contacts, with the contact's id."""
        query = select(CONTACTS.c.email_key, CONTACTS.c.id).where(
            self.matching(CONTACTS.c.email_key, keys))
        return dict(self.conn.execute(query).all())

    def suppressed(self, hashes: Sequence[str]) -> set[str]:
        """Hashes that are on the suppression list."""
        query = select(SUPPRESSIONS.c.email_hash).where(
            self.matching(SUPPRESSIONS.c.email_hash, hashes))
        return set(self.conn.scalars(query))

    def list_named(self, name: str) -> int | None:
        """The id of the list called ``name``, if there is one."""
        return self.conn.scalar(select(LISTS.c.id).where(LISTS.c.name == name))

    # -- writes ------------------------------------------------------------------------------

    def remember(self, rows: Iterable[ContactRow]) -> None:
        """Note the chunk's addresses, so later chunks can tell their duplicates."""
        params = [{"email_key": row.key, "first_row": row.row} for row in rows]
        if params:
            self.conn.execute(insert(SEEN), params)

    def create_list(self, name: str, now: datetime) -> int:
        """Create the list the import puts its contacts in; returns its id."""
        result = self.conn.execute(insert(LISTS).returning(LISTS.c.id),
                                   {"name": name, "description": "", "created_at": now,
                                    "updated_at": now})
        return int(result.scalar_one())

    def record(self, row: ContactRow, created: Any) -> tuple[Any, ...]:
        """The values of a new contact from a valid row, in ``CONTACT_COLUMNS`` order.

        With ``as_text`` every value is a string, as COPY's text format wants it (``created``
        then comes formatted too).
        """
        get = row.values.get
        first_name, last_name, outlet = get("first_name", ""), get("last_name", ""), \
            get("outlet", "")
        tracking: Any = get("tracking", True)
        languages: Any = list(get("languages", ()))
        social: Any = {}
        if self.as_text:
            languages, social, tracking = contact_json(languages), "{}", "t" if tracking else "f"
        values: tuple[Any, ...] = (
            row.email, row.key, first_name, last_name, outlet, get("beat", ""), get("role", ""),
            get("country", ""), get("language", ""), languages, get("timezone", ""),
            get("phone", ""), social, get("notes", ""), tracking, SOURCE, self.source_detail,
            created, created)
        if HAS_EMAIL_HASH:
            values += (row.hash,)
        if HAS_SEARCH_TEXT:
            values += (contact_models.search_text_for({
                "first_name": first_name, "last_name": last_name, "email": row.email,
                "outlet": outlet}),)
        return values

    def insert_contacts(self, chunk: Chunk, rows: Sequence[ContactRow]) -> dict[str, int]:
        """Create contacts; returns key → id of those created (not those that exist by now)."""
        if not rows:
            return {}
        statement = insert_ignoring_conflicts(self.conn, CONTACTS, ["email_key"]).returning(
            CONTACTS.c.email_key, CONTACTS.c.id)
        params = [dict(zip(CONTACT_COLUMNS, self.record(row, chunk.stamp(row)), strict=True))
                  for row in rows]
        return dict(self.conn.execute(statement, params).all())

    def update_contacts(self, updates: Sequence[tuple[int, ContactRow]], now: datetime) -> None:
        """Overwrite existing contacts' fields with the non-empty cells of their rows."""
        current = self._search_fields(updates)
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for contact_id, row in updates:
            values = dict(row.values)
            if contact_id in current:
                values["search_text"] = contact_models.search_text_for(
                    {**current[contact_id], **values})
            params = {f"v_{name}": value for name, value in values.items()}
            groups.setdefault(tuple(sorted(values)), []).append({"v_id": contact_id, **params})
        for fields, group in groups.items():
            assignments: dict[str, Any] = {
                name: bindparam(f"v_{name}", type_=CONTACTS.c[name].type) for name in fields}
            assignments["updated_at"] = now
            statement = update(CONTACTS).where(CONTACTS.c.id == bindparam("v_id")).values(
                assignments)
            self.conn.execute(statement, group)

    def _search_fields(self, updates: Sequence[tuple[int, ContactRow]]
                       ) -> dict[int, dict[str, Any]]:
        """Current searchable fields of the contacts whose update changes one of them."""
        ids = [contact_id for contact_id, row in updates
               if HAS_SEARCH_TEXT and any(name in row.values for name in SEARCH_FIELDS)]
        if not ids:
            return {}
        query = select(CONTACTS.c.id, *(CONTACTS.c[name] for name in SEARCH_FIELDS)).where(
            self.matching(CONTACTS.c.id, ids))
        return {row.id: dict(row._mapping) for row in self.conn.execute(query)}

    def add_tags(self, pairs: Sequence[tuple[int, str]], *, new_contacts: bool) -> None:
        """Tag contacts; ``new_contacts`` says none of them can have the tag yet."""
        if not pairs:
            return
        params = [{"contact_id": contact_id, "tag": tag} for contact_id, tag in pairs]
        statement = insert(TAGS) if new_contacts else insert_ignoring_conflicts(self.conn, TAGS)
        self.conn.execute(statement, params)

    def add_members(self, list_id: int, contact_ids: Iterable[int], now: datetime, *,
                    new_contacts: bool) -> None:
        """Put contacts in a list; ``new_contacts`` says none of them can be in it yet."""
        params = [{"list_id": list_id, "contact_id": contact_id, "added_at": now}
                  for contact_id in contact_ids]
        if not params:
            return
        statement = insert(MEMBERS) if new_contacts else \
            insert_ignoring_conflicts(self.conn, MEMBERS)
        self.conn.execute(statement, params)


def contact_json(languages: list[str]) -> str:
    """The JSON text of a ranked language list (``[]`` needs no serialiser)."""
    if not languages:
        return "[]"
    return json.dumps(languages, ensure_ascii=False)


def store_for(conn: Connection, source_detail: str) -> ContactStore:
    """The fastest store for the connection's database."""
    if conn.dialect.name == "postgresql":
        from mailer.contacts.importing.pgcopy import PostgresContactStore

        return PostgresContactStore(conn, source_detail)
    return ContactStore(conn, source_detail)
