"""Loading the demo data through the product's own services, idempotently.

Everything goes through the services the API uses (contacts, lists, segments, suppressions,
releases), so the demo data obeys every rule real data does. Each part is recognised by what
names it: a list or segment by its name, a journalist by address, the release by its title, the
suppression by address. What is already there is left exactly as it is and reported so: a
second run creates nothing. Memberships are only added for a list or a contact created in this
run, so a demo list someone has since edited by hand is not filled up again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources

from sqlalchemy import select

from mailer.auth.models import User
from mailer.contacts import lists as lists_service
from mailer.contacts import segments as segments_service
from mailer.contacts import service as contacts_service
from mailer.contacts import suppressions
from mailer.contacts.models import ContactList, ContactSource, Segment, SuppressionReason
from mailer.db import db
from mailer.demo.journalists import LISTS, demo_journalists
from mailer.releases import service as releases_service
from mailer.releases.models import Release
from mailer.releases.validation import release_from_json
from mailer.rendering import ReleaseContent, parse_release_markdown

RELEASE_LANGUAGES = ("en", "ru", "tg", "kk", "ky", "pl", "uz")
DEFAULT_LANGUAGE = "en"
SEGMENT_NAME = "Russian-language readers"
SEGMENT_DESCRIPTION = "Demo data: journalists whose first language is Russian."
SEGMENT_FILTERS = {"language": ["ru"]}
SOURCE_DETAIL = "mailer demo"


@dataclass
class Part:
    """One named piece of demo data: what it is, and whether this run created it."""

    name: str
    created: bool
    detail: str = ""


@dataclass
class DemoReport:
    """What a run of the demo loader found and created."""

    contacts_created: int = 0
    contacts_existing: int = 0
    lists: list[Part] = field(default_factory=list)
    segment: Part | None = None
    release: Part | None = None
    release_id: int | None = None
    release_languages: list[str] = field(default_factory=list)
    # Demo journalists none of whose languages the release is in: (address, languages).
    uncovered: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    suppressed_created: int = 0
    suppressed_existing: int = 0

    @property
    def created_anything(self) -> bool:
        """True when this run added something to the database."""
        parts = [*self.lists, self.segment, self.release]
        return bool(self.contacts_created or self.suppressed_created
                    or any(part is not None and part.created for part in parts))

    def lines(self) -> list[str]:
        """The report for a terminal, one line per kind of data."""
        def state(part: Part) -> str:
            return "created" if part.created else "already there"

        head = "Demo data loaded:" if self.created_anything else \
            "Demo data already loaded; nothing created:"
        contacts = f"{self.contacts_created} created" if self.contacts_created else "none created"
        if self.contacts_existing:
            contacts += f", {self.contacts_existing} already there"
        lines = [head, f"  journalists: {contacts} (source \"demo\", tag \"demo\")"]
        for part in self.lists:
            lines.append(f"  list:        {part.name} ({part.detail}; {state(part)})")
        if self.segment is not None:
            lines.append(f"  segment:     {self.segment.name} ({self.segment.detail}; "
                         f"{state(self.segment)})")
        if self.release is not None:
            lines.append(f"  release:     {self.release.name} ({self.release.detail}; "
                         f"{state(self.release)})")
        total = self.suppressed_created + self.suppressed_existing
        lines.append(f"  suppressed:  {total} address{'es' if total != 1 else ''} "
                     f"({self.suppressed_created} added)")
        if self.uncovered:
            languages = ", ".join(sorted({tag for _, tags in self.uncovered for tag in tags}))
            lines.append(f"  note:        {len(self.uncovered)} journalists read only languages "
                         f"the release is not in ({languages}): without a fallback language, a "
                         "mailing to them shows the language coverage warning")
        return lines

    def summary(self) -> str:
        """One line: what the demo data holds."""
        return (f"{self.contacts_created + self.contacts_existing} journalists, "
                f"{len(self.lists)} lists, a segment and a release in "
                f"{len(self.release_languages)} languages")


def release_file(language: str) -> str:
    """The text of the demo release in ``language``, shipped inside this package."""
    return resources.files("mailer.demo").joinpath("release", f"{language}.md") \
        .read_text(encoding="utf-8")


def release_contents() -> dict[str, ReleaseContent]:
    """The demo release in every language it is written in, parsed from the package's files."""
    return {language: parse_release_markdown(release_file(language))
            for language in RELEASE_LANGUAGES}


def release_title() -> str:
    """The demo release's title (its default-language file's ``title``)."""
    return release_contents()[DEFAULT_LANGUAGE].title


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _find_list(name: str) -> ContactList | None:
    return db.session.scalar(select(ContactList).where(ContactList.name == name))


def _load_lists() -> tuple[dict[str, int], set[str]]:
    """The demo lists by name (created when missing), and the names created now."""
    ids: dict[str, int] = {}
    created: set[str] = set()
    for name, description in LISTS.items():
        row = _find_list(name)
        if row is None:
            row = lists_service.create_list({"name": name, "description": description})
            created.add(name)
        ids[name] = row.id
    return ids, created


def _load_contacts(report: DemoReport, list_ids: dict[str, int],
                   new_lists: set[str]) -> None:
    """Create the journalists not there yet, in their lists; suppress the unsubscribed."""
    late_members: dict[str, list[int]] = {name: [] for name in new_lists}
    for journalist in demo_journalists():
        existing = contacts_service.find_by_email(journalist.email)
        if existing is None:
            values = {**journalist.values(),
                      "list_ids": [list_ids[name] for name in journalist.lists]}
            contacts_service.create_contact(values, source=ContactSource.DEMO,
                                            source_detail=SOURCE_DETAIL)
            report.contacts_created += 1
        else:
            report.contacts_existing += 1
            for name in journalist.lists:
                if name in late_members:  # a list re-created after it was deleted
                    late_members[name].append(existing.id)
        if not set(journalist.languages) & set(RELEASE_LANGUAGES):
            report.uncovered.append((journalist.email, journalist.languages))
        if journalist.suppressed:
            added = suppressions.suppress(journalist.email, SuppressionReason.UNSUBSCRIBED,
                                          "demo data")
            if added.created:
                report.suppressed_created += 1
            else:
                report.suppressed_existing += 1
    for name, contact_ids in late_members.items():
        if contact_ids:
            lists_service.add_members(list_ids[name], contact_ids)
    counts = lists_service.member_counts(list(list_ids.values()))
    for name, list_id in list_ids.items():
        report.lists.append(Part(name, name in new_lists, f"{counts[list_id]} members"))


def _load_segment(report: DemoReport) -> None:
    segment = db.session.scalar(select(Segment).where(Segment.name == SEGMENT_NAME))
    created = segment is None
    if segment is None:
        segment = segments_service.create_segment({
            "name": SEGMENT_NAME, "description": SEGMENT_DESCRIPTION,
            "filters": SEGMENT_FILTERS})
    count = segments_service.preview(segment.filters or {}).count
    report.segment = Part(SEGMENT_NAME, created, f"language ru, {count} journalists")


def _load_release(report: DemoReport, actor: User | None) -> None:
    """Create the demo release with every translation, approved; or find it by title."""
    contents = release_contents()
    source = contents[DEFAULT_LANGUAGE]
    release = db.session.scalar(select(Release).where(Release.title == source.title)
                                .order_by(Release.id))
    created = release is None
    if release is None:
        data = release_from_json({
            "title": source.title,
            "default_language": DEFAULT_LANGUAGE,
            "embargo_at": _iso(source.embargo),
            "contact_block": source.contact,
            "translations": {
                language: {"subject": content.subject, "preheader": content.preheader,
                           "body": content.body}
                for language, content in contents.items()},
        }, partial=False)
        release = releases_service.create_release(data, actor)
        for language in release.languages:
            releases_service.approve_translation(release.id, language, actor)
    report.release_id = release.id
    report.release_languages = list(release.languages)
    report.release = Part(f"\u201c{release.title}\u201d", created,
                          f"id {release.id}; {', '.join(release.languages)}")


def load_demo(actor: User | None = None) -> DemoReport:
    """Load every piece of demo data that is not there yet; ``actor`` authors the release."""
    report = DemoReport()
    list_ids, new_lists = _load_lists()
    _load_contacts(report, list_ids, new_lists)
    _load_segment(report)
    _load_release(report, actor)
    return report
