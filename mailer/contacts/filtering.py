"""Which contacts match a filter: the one translation of filters into SQL conditions.

The contacts table, the REST listing, saved segments, the export and mailing audiences all
filter through :func:`conditions`, so a segment selects exactly what the same filter shows on
the contacts page. Conditions are set-based, never a Python loop, and shaped for 100,000
contacts: positive ones are ``id IN (SELECT … FROM <indexed table>)``, which lets SQLite drive
from the small side (a tag's or list's rows, the suppressions) instead of probing every contact,
and PostgreSQL plans as a semi-join; negative ones are ``NOT EXISTS`` (an anti-join: ``NOT IN``
falls back to a per-row subplan on PostgreSQL once the subquery outgrows ``work_mem``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask_babel import gettext
from sqlalchemy import Boolean, ColumnElement, Select, and_, exists, false, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from mailer.contacts import validation
from mailer.contacts.models import Contact, ContactTag, ListMember, Suppression
from mailer.errors import Invalid
from mailer.http import is_id


class ContactStatus(StrEnum):
    """Whether a contact's address may be mailed."""

    ACTIVE = "active"
    SUPPRESSED = "suppressed"


# Sort keys the API and the table accept, and the columns behind them (id last: stable pages).
SORT_COLUMNS = {
    "name": (Contact.last_name, Contact.first_name),
    "email": (Contact.email_key,),
    "outlet": (Contact.outlet,),
    "country": (Contact.country,),
    "language": (Contact.language,),
    "created_at": (Contact.created_at,),
    "updated_at": (Contact.updated_at,),
}
DEFAULT_SORT = "name"
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class ContactFilter:
    """A filter over contacts: every given criterion must hold; within one, any value may.

    ``languages`` match the primary language and its subtags (``kk`` matches ``kk-Latn``).
    """

    q: str = ""
    list_ids: tuple[int, ...] = ()
    languages: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()
    beats: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    status: ContactStatus | None = None


@dataclass(frozen=True)
class Sort:
    """A whitelisted sort key and its direction."""

    key: str = DEFAULT_SORT
    descending: bool = False


class text_contains(FunctionElement[bool]):
    """``haystack`` contains ``needle``: ``instr()`` on SQLite (faster than its LIKE), an
    escaped ``LIKE '%…%'`` elsewhere (PostgreSQL estimates LIKE's selectivity well, so it
    plans around it; it cannot for ``strpos()``). Arguments: column, needle, LIKE pattern."""

    type = Boolean()
    inherit_cache = True
    name = "text_contains"


@compiles(text_contains)
def _contains_like(element: text_contains, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, _, pattern = element.clauses
    return f"{compiler.process(haystack, **kw)} LIKE {compiler.process(pattern, **kw)} " \
        "ESCAPE '/'"


@compiles(text_contains, "sqlite")
def _contains_instr(element: text_contains, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle, _ = element.clauses
    return f"(instr({compiler.process(haystack, **kw)}, {compiler.process(needle, **kw)}) > 0)"


class unindexed(FunctionElement[Any]):
    """A sort column SQLite must not walk an index for (a unary ``+``); as is elsewhere.

    With a text search, walking the name index and testing each row costs up to 100 ms when
    few rows match; scanning once and keeping the top rows costs ~20 ms whatever matches.
    PostgreSQL's planner estimates the search's selectivity and chooses by itself.
    """

    inherit_cache = True
    name = "unindexed"


@compiles(unindexed)
def _as_is(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(unindexed, "sqlite")
def _unary_plus(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + str(compiler.process(element.clauses, **kw))


def _like_pattern(text: str) -> str:
    escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


def suppressed_condition() -> ColumnElement[bool]:
    """True for contacts whose address is suppressed: a correlated probe of the hash index, for
    negations (an anti-join) and per-row columns."""
    return exists().where(Suppression.email_hash == Contact.email_hash)


def in_lists_condition(list_ids: tuple[int, ...] | list[int]) -> ColumnElement[bool]:
    """True for contacts in any of these lists."""
    if not list_ids:
        return false()
    return Contact.id.in_(select(ListMember.contact_id).where(ListMember.list_id.in_(list_ids)))


def not_in_lists_condition(list_ids: tuple[int, ...] | list[int]) -> ColumnElement[bool]:
    """True for contacts in none of these lists (an anti-join, never ``NOT IN``)."""
    if not list_ids:
        return true()
    return ~exists().where(ListMember.contact_id == Contact.id, ListMember.list_id.in_(list_ids))


def _language_condition(tag: str) -> ColumnElement[bool]:
    # The tag itself, or any tag under it ("kk" → "kk-Latn"): a range, so the index serves it
    # (tags are ASCII; "." is the character after "-").
    return or_(Contact.language == tag,
               and_(Contact.language >= f"{tag}-", Contact.language < f"{tag}."))


def conditions(spec: ContactFilter) -> ColumnElement[bool]:
    """The SQL condition on ``contacts`` that selects the contacts matching ``spec``."""
    parts: list[ColumnElement[bool]] = []
    if spec.q:
        needle = spec.q.casefold()
        parts.append(text_contains(Contact.search_text, needle, _like_pattern(needle)))
    if spec.list_ids:
        parts.append(in_lists_condition(spec.list_ids))
    if spec.languages:
        parts.append(or_(*(_language_condition(tag) for tag in spec.languages)))
    if spec.countries:
        parts.append(Contact.country.in_(spec.countries))
    if spec.outlets:
        parts.append(Contact.outlet.in_(spec.outlets))
    if spec.beats:
        parts.append(Contact.beat.in_(spec.beats))
    if spec.tags:
        parts.append(Contact.id.in_(select(ContactTag.contact_id)
                                    .where(ContactTag.tag.in_(spec.tags))))
    if spec.status is ContactStatus.SUPPRESSED:
        parts.append(Contact.email_hash.in_(select(Suppression.email_hash)))
    elif spec.status is ContactStatus.ACTIVE:
        parts.append(~suppressed_condition())
    return and_(*parts) if parts else true()


def filtered_ids(spec: ContactFilter) -> Select[int]:
    """The ids of the contacts matching ``spec``."""
    return select(Contact.id).where(conditions(spec))


def order_by(sort: Sort, spec: ContactFilter | None = None) -> list[ColumnElement[Any]]:
    """ORDER BY clauses for ``sort``, with the id as the last tie-breaker (see unindexed)."""
    columns: list[Any] = [*SORT_COLUMNS[sort.key], Contact.id]
    if spec is not None and spec.q:
        columns[0] = unindexed(columns[0])
    return [column.desc() if sort.descending else column.asc() for column in columns]


def _one(args: Mapping[str, str], name: str) -> str:
    return (args.get(name) or "").strip()


def parse_listing_args(args: Mapping[str, str]) -> tuple[ContactFilter, Sort]:
    """Filter and sort from query parameters (``q``, ``list_id``, ``language``, ``country``,
    ``outlet``, ``beat``, ``tag``, ``status``, ``sort``, ``order``); 422 naming each bad one."""
    errors: dict[str, str] = {}
    q = _one(args, "q")
    if len(q) > MAX_QUERY_LENGTH:
        errors["q"] = gettext("at most %(n)s characters", n=MAX_QUERY_LENGTH)
    list_ids: tuple[int, ...] = ()
    if raw := _one(args, "list_id"):
        if raw.isdecimal() and is_id(int(raw)):
            list_ids = (int(raw),)
        else:
            errors["list_id"] = gettext("must be a list id (a whole number)")
    values: dict[str, tuple[str, ...]] = {}
    for name, rule in (("language", validation.normalise_language),
                       ("country", validation.normalise_country),
                       ("outlet", validation.normalise_text),
                       ("beat", validation.normalise_text)):
        if raw := _one(args, name):
            try:
                values[name] = (rule(raw),)
            except validation.FieldError as exc:
                errors[name] = str(exc)
    tags: tuple[str, ...] = ()
    if raw := _one(args, "tag"):
        try:
            tags = tuple(validation.normalise_tags([raw]))
        except validation.FieldError as exc:
            errors["tag"] = str(exc)
    status = None
    if raw := _one(args, "status"):
        try:
            status = ContactStatus(raw.lower())
        except ValueError:
            errors["status"] = gettext("must be active or suppressed")
    key = _one(args, "sort") or DEFAULT_SORT
    if key not in SORT_COLUMNS:
        errors["sort"] = gettext("must be one of %(allowed)s", allowed=", ".join(SORT_COLUMNS))
    order = (_one(args, "order") or "asc").lower()
    if order not in {"asc", "desc"}:
        errors["order"] = gettext("must be asc or desc")
    if errors:
        raise Invalid(gettext("Invalid filter or sort parameters."), fields=errors)
    spec = ContactFilter(q=q, list_ids=list_ids, languages=values.get("language", ()),
                         countries=values.get("country", ()), outlets=values.get("outlet", ()),
                         beats=values.get("beat", ()), tags=tags, status=status)
    return spec, Sort(key=key, descending=order == "desc")

