"""One page of a query's rows and the total: one COUNT and one LIMIT/OFFSET query."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select

from mailer.db import db

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """Items of one page, and where it sits among all matching rows."""

    items: Sequence[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one, even when empty)."""
        return max(1, -(-self.total // self.per_page))

    def as_json(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        """The API.md paging shape around already serialised ``items``."""
        return {"items": items, "total": self.total, "page": self.page,
                "per_page": self.per_page}


def fetch_page(query: Select[Any], page: int, per_page: int, *,
               count: Select[Any] | None = None) -> Page[Any]:
    """Rows ``(page-1)*per_page …`` of ``query`` (ORM entities when it selects one) and the
    total, from ``count`` when given (a cheaper COUNT), else by counting ``query``."""
    if count is None:
        count = select(func.count()).select_from(query.order_by(None).subquery())
    total = db.session.scalar(count) or 0
    offset = (page - 1) * per_page
    # Nothing to show (a search that matches nobody, a page past the end): skip the second scan.
    rows = db.session.scalars(query.limit(per_page).offset(offset)).all() if total > offset \
        else []
    return Page(items=rows, total=total, page=page, per_page=per_page)
