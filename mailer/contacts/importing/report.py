"""The outcome of one import, as the API returns it and the CLI and wizard show it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mailer.contacts.importing.rows import RowError

MAX_REPORTED_ERRORS = 1000


@dataclass
class ImportReport:
    """Counts of one import and its first rejected rows.

    Every data row lands in exactly one count: ``created``, ``updated``, ``skipped`` (already
    in the database), ``duplicates`` (repeats an address seen earlier in the file) or
    ``rejected`` (invalid). ``suppressed`` counts the valid rows whose address is on the
    suppression list; they are imported but stay suppressed. ``errors`` holds the first
    ``MAX_REPORTED_ERRORS`` problems (rejected rows and duplicates), ``errors_total`` all.
    """

    filename: str
    encoding: str = ""
    delimiter: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    duplicates: int = 0
    rejected: int = 0
    suppressed: int = 0
    list_id: int | None = None
    ignored_columns: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    errors_total: int = 0

    def add_error(self, error: RowError) -> None:
        """Record one problem, keeping only the first ones in full."""
        self.errors_total += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)

    def reject(self, errors: list[RowError]) -> None:
        """Record a rejected row with all its problems."""
        self.rejected += 1
        for error in errors:
            self.add_error(error)

    def merge(self, other: ImportReport) -> None:
        """Add the counts and problems of another part of the same import (kept in row order)."""
        self.created += other.created
        self.updated += other.updated
        self.skipped += other.skipped
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.suppressed += other.suppressed
        if other.list_id is not None:
            self.list_id = other.list_id
        self.errors = sorted(self.errors + other.errors,
                             key=lambda error: error.row)[:MAX_REPORTED_ERRORS]
        self.errors_total += other.errors_total

    @property
    def errors_truncated(self) -> bool:
        """True when more problems were found than ``errors`` lists."""
        return self.errors_total > len(self.errors)

    def as_dict(self) -> dict[str, Any]:
        """The JSON answer of ``POST /api/v1/contacts/import`` (API.md's keys, then extras)."""
        return {
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "errors": [error.as_dict() for error in self.errors],
            "errors_total": self.errors_total,
            "errors_truncated": self.errors_truncated,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "suppressed": self.suppressed,
            "rows": self.rows,
            "list_id": self.list_id,
            "file": {"name": self.filename, "encoding": self.encoding,
                     "delimiter": self.delimiter, "ignored_columns": self.ignored_columns},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportReport:
        """Rebuild a report saved with :meth:`as_dict` (the wizard keeps it between pages)."""
        file = data.get("file", {})
        report = cls(
            filename=file.get("name", ""), encoding=file.get("encoding", ""),
            delimiter=file.get("delimiter", ""), rows=data["rows"], created=data["created"],
            updated=data["updated"], skipped=data["skipped"], duplicates=data["duplicates"],
            rejected=data["rejected"], suppressed=data["suppressed"], list_id=data["list_id"],
            ignored_columns=list(file.get("ignored_columns", [])),
            errors=[RowError(e["row"], e["field"], e["message"]) for e in data["errors"]],
            errors_total=data["errors_total"])
        return report
