"""Maintenance of the chrome catalogs: extract the layouts' strings, compile the translations.

    python -m mailer.rendering.l10n extract   # templates -> messages.pot, merged into each .po
    python -m mailer.rendering.l10n compile   # .po -> .mo (checked; the .mo files are committed)

To add a language: copy ``locales/messages.pot`` to ``locales/<locale>/LC_MESSAGES/messages.po``,
translate every entry, run ``compile``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from mailer.rendering.catalogs import DOMAIN
from mailer.rendering.paths import LOCALES_DIR, email_templates_dir, templates_dir

CHROME_LAYOUTS = ("release",)
"""The layout folders under ``templates/email/`` whose strings live in these catalogs."""
PUBLIC_PAGES = "public"
"""``templates/public/``: the pages recipients see (unsubscribe, preferences), same catalogs."""


def extract_template_messages() -> Catalog:
    """Every chrome string used by the layouts, as a catalog template (``messages.pot``)."""
    catalog = Catalog(project="mailer", domain=DOMAIN, fuzzy=False)
    method_map = [("**.html", "jinja2.ext:babel_extract"), ("**.txt", "jinja2.ext:babel_extract")]
    options = {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}
    folders = [(email_templates_dir() / layout, f"templates/email/{layout}")
               for layout in CHROME_LAYOUTS]
    folders.append((templates_dir() / PUBLIC_PAGES, f"templates/{PUBLIC_PAGES}"))
    for folder, shown in folders:
        for filename, lineno, message, comments, context in extract_from_dir(
            str(folder), method_map, {"**.html": options, "**.txt": options}
        ):
            catalog.add(message, None, [(f"{shown}/{filename}", lineno)],
                        auto_comments=comments, context=context)
    return catalog


def po_path(locale: str) -> Path:
    """Where the ``.po`` source of ``locale`` lives."""
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(locale: str) -> Catalog:
    """The parsed ``.po`` catalog of ``locale``."""
    with po_path(locale).open("rb") as handle:
        return read_po(handle, locale=locale, domain=DOMAIN)


def _extract() -> None:
    template = extract_template_messages()
    with (LOCALES_DIR / f"{DOMAIN}.pot").open("wb") as handle:
        write_po(handle, template, width=100, omit_header=False)
    for po in sorted(LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        locale = po.parent.parent.name
        catalog = read_catalog(locale)
        catalog.update(template, no_fuzzy_matching=True)
        with po.open("wb") as handle:
            write_po(handle, catalog, width=100, ignore_obsolete=True)
        print(f"updated {po.relative_to(LOCALES_DIR)}")


def _compile() -> None:
    for po in sorted(LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        catalog = read_catalog(po.parent.parent.name)
        problems = [f"{message.id!r}: {error}"
                    for message, errors in catalog.check() for error in errors]
        if problems:
            raise SystemExit(f"{po}: " + "; ".join(problems))
        with po.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        print(f"compiled {po.with_suffix('.mo').relative_to(LOCALES_DIR)}")


def main(argv: list[str]) -> int:
    """``extract`` or ``compile`` the chrome catalogs."""
    commands = {"extract": _extract, "compile": _compile}
    if len(argv) != 1 or argv[0] not in commands:
        print("usage: python -m mailer.rendering.l10n extract|compile", file=sys.stderr)
        return 2
    commands[argv[0]]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
