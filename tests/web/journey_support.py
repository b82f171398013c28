"""What the press-office journey in Chromium checks on every page: axe-core, phone width,
screenshots; and where its sample data comes from."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, ViewportSize

REPO = Path(__file__).resolve().parents[2]
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"
PACKAGED_RELEASE = REPO / "mailer" / "demo" / "release"
JOURNEY_SHOTS = REPO / "test-artifacts" / "journey"
PHONE: ViewportSize = {"width": 375, "height": 812}
BLOCKING_IMPACTS = ("serious", "critical")


@dataclass
class Translation:
    language: str
    subject: str
    preheader: str
    body: str


def load_translation(language: str) -> Translation:
    """The sample release in ``language``: the shared fixture, else the copy in the package."""
    for folder in (SHARED_FIXTURES / "releases", PACKAGED_RELEASE):
        path = folder / f"{language}.md"
        if path.is_file():
            _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
            meta = dict(re.findall(r'^(\w+):\s*"?(.*?)"?\s*$', front, re.MULTILINE))
            return Translation(language, meta["subject"], meta.get("preheader", ""),
                               body.strip())
    raise FileNotFoundError(f"no sample release in {language}")


def journalists_csv(tmp: Path) -> Path:
    """The shared journalist CSV, or a small one written here when it is not beside the repo."""
    shared = SHARED_FIXTURES / "journalists.csv"
    if shared.is_file():
        return shared
    path = tmp / "journalists.csv"
    rows = ["email,first_name,last_name,outlet,beat,country,language,timezone,tags"]
    for n, (first, last, lang, country, zone) in enumerate([
            ("Igor", "Novikov", "ru", "RU", "Europe/Moscow"),
            ("Aigerim", "Seitkali", "kk", "KZ", "Asia/Almaty"),
            ("Jane", "Doe", "en", "GB", "Europe/London"),
            ("Sergey", "Kuznetsov", "ru", "RU", "Europe/Moscow"),
            ("Ewa", "Nowak", "pl", "PL", "Europe/Warsaw")]):
        rows.append(f"{first.lower()}.{last.lower()}.{n}@example.com,{first},{last},"
                    f"Daily Example,politics,{country},{lang},{zone},print")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def journalists_by_language(path: Path) -> dict[str, list[str]]:
    """The addresses of the CSV grouped by their language column."""
    found: dict[str, list[str]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            found.setdefault(row["language"], []).append(row["email"].strip().lower())
    return found


@dataclass
class PageAudit:
    """Accessibility findings gathered across pages; asserted once at the end of a test."""

    problems: list[str] = field(default_factory=list)

    def check(self, page: Page, name: str) -> None:
        """Run axe-core on the page as it is now; keep serious and critical violations."""
        from axe_playwright_python.sync_playwright import Axe
        from playwright.sync_api import Error as PlaywrightError

        page.wait_for_load_state()
        try:
            results = Axe().run(page)
        except PlaywrightError:  # the page navigated under axe (a reload by its own script)
            page.wait_for_load_state()
            results = Axe().run(page)
        violations: list[dict[str, Any]] = results.response["violations"]
        for violation in violations:
            if violation.get("impact") not in BLOCKING_IMPACTS:
                continue
            targets = [", ".join(node["target"]) for node in violation["nodes"][:5]]
            self.problems.append(f"{name} ({page.url}): {violation['id']} "
                                 f"[{violation['impact']}] {violation['help']} -> {targets}")

    def assert_clean(self) -> None:
        """Fail with every serious or critical violation found."""
        assert not self.problems, "axe-core found:\n" + "\n".join(self.problems)


def shot(page: Page, name: str, view: bool = False) -> Path:
    """A full-page screenshot into test-artifacts/journey/; with ``view``, also what the
    window shows (``<name>.view.png``, the size the README uses)."""
    JOURNEY_SHOTS.mkdir(parents=True, exist_ok=True)
    path = JOURNEY_SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if view:
        page.screenshot(path=str(JOURNEY_SHOTS / f"{name}.view.png"))
    return path


def horizontal_overflow(page: Page) -> dict[str, Any] | None:
    """None when nothing is wider than the viewport; else the widths and the widest culprits."""
    return page.evaluate("""() => {
      const root = document.documentElement;
      if (root.scrollWidth <= window.innerWidth + 1) { return null; }
      const wide = [];
      for (const el of document.body.querySelectorAll('*')) {
        const box = el.getBoundingClientRect();
        const reach = Math.max(box.right, box.left + el.scrollWidth);
        if (reach > window.innerWidth + 1 && getComputedStyle(el).overflowX === 'visible') {
          wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                    (el.className && typeof el.className === 'string'
                      ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
                    ' reaches ' + Math.round(reach));
        }
      }
      return {scrollWidth: root.scrollWidth, innerWidth: window.innerWidth,
              culprits: wide.slice(0, 8)};
    }""")
