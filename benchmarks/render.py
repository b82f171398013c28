"""Rendering throughput: messages rendered and serialised to bytes per second, on one core.

    .venv/bin/python benchmarks/render.py [--messages N] [--repeat R] [--json]

The sample release of shared/fixtures (en, ru, tg, kk, ky, pl) is compiled once per language,
then rendered round-robin for recipients with varied names (ASCII, Cyrillic, Polish, quotes and
commas, long), each with its own Message-ID, unsubscribe address, open pixel and click
tracking, exactly as dispatch sends them. Two ways are timed in the same run:

- engine:   ``render_message(compiled, recipient, context).as_bytes()`` (mailer.rendering);
- baseline: a plain Jinja2 render of the same layout files (the same catalogs, the body's
  Markdown converted once per language, links rewritten with a regex) + an ``EmailMessage``
  build (policy SMTP) + ``as_bytes()``. CSS is *not* inlined per message in the baseline,
  which flatters it; ``baseline+css`` adds that step, as a naive per-message pipeline needs it.

Each figure is the best of ``--repeat`` runs of ``--messages`` messages, after a warm-up, in one
process pinned to one CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from html import escape, unescape
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import css_inline  # noqa: E402
from markupsafe import Markup  # noqa: E402

from mailer.rendering import (  # noqa: E402
    CompiledRelease,
    MessageContext,
    Recipient,
    ReleaseContent,
    compile_release,
    parse_release_markdown,
    render_message,
)
from mailer.rendering import markdown as md  # noqa: E402
from mailer.rendering.chrome import chrome_for, format_moment, layout_environment  # noqa: E402
from mailer.rendering.sanitise import sanitise_html  # noqa: E402

FIXTURES = ROOT.parent / "shared" / "fixtures" / "releases"
LANGUAGES = ("en", "ru", "tg", "kk", "ky", "pl")
NAMES = [
    ("Anna", "Smith", "Daily Planet", "Europe/London"),
    ("Иван", "Петров", "Новая газета", "Asia/Dushanbe"),
    ('Seán "Jack"', "O'Hara, Jr.", "The Times & Co", "America/New_York"),
    ("Дилноза", "Раҳимова", "Asia-Plus", "Asia/Dushanbe"),
    ("Айгерім", "Сейітқызы", "Vlast.kz", "Asia/Almaty"),
    ("Katarzyna", "Wiśniewska", "Gazeta Wyborcza", "Europe/Warsaw"),
    ("Бакыт", "Жолдошбеков-Абдыкадыров", "24.kg", "Asia/Bishkek"),
    ("Jean-Pierre", "de la Fontaine", "Le Monde", "Europe/Paris"),
]
_HREF = re.compile(r'(<a\b[^>]*?\shref=")(https?://[^"]*)(")')


def click_tracker(token: str) -> Callable[[str, int], str]:
    """The click-tracking rewriter of one delivery."""
    return lambda url, index: f"https://press.example.org/c/{token}/{index}"


def recipients(count: int) -> list[tuple[str, Recipient, MessageContext]]:
    """``count`` deliveries, round-robin over the languages and the names."""
    deliveries = []
    for number in range(count):
        language = LANGUAGES[number % len(LANGUAGES)]
        first, last, outlet, zone = NAMES[number % len(NAMES)]
        person = Recipient(email=f"journalist{number}@example.net", first_name=first,
                           last_name=last, outlet=outlet, language=language, timezone=zone)
        token = f"d{number}x{number * 7919 % 100003}"
        context = MessageContext(
            from_address="press@example.org", from_name="Nota Bene Press Office",
            public_url="https://press.example.org", list_id="journalists.press.example.org",
            list_name="Nota Bene journalists", organisation="Nota Bene",
            unsubscribe_url=f"https://press.example.org/u/{token}",
            unsubscribe_mailto=f"mailto:unsubscribe+{token}@press.example.org",
            message_id=f"<{token}.m7@press.example.org>",
            envelope_sender=f"bounce+{token}@bounces.example.org",
            feedback_id="7:3:press:notabene", date=datetime(2016, 5, 30, 8, 0, tzinfo=UTC),
            open_pixel_url=f"https://press.example.org/o/{token}.gif",
            rewrite_link=click_tracker(token),
            web_version_url=f"https://press.example.org/w/3/{language}")
        deliveries.append((language, person, context))
    return deliveries


# --- the baseline: Jinja2 + EmailMessage per message --------------------------------------------


class Baseline:
    """A straightforward renderer: the layout through Jinja2 and the message through the
    email package, for every message."""

    def __init__(self, contents: dict[str, ReleaseContent], inline_css: bool) -> None:
        self.inline_css = inline_css
        self.inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
        self.prepared: dict[str, dict[str, Any]] = {}
        for language, content in contents.items():
            tokens = md.parse(content.body)
            chrome = chrome_for(language)
            self.prepared[language] = {
                "content": content, "chrome": chrome,
                "env": layout_environment(chrome.locale),
                "body_html": sanitise_html(md.to_html(tokens)),
                "body_text": md.to_text(tokens),
            }

    def __call__(self, language: str, person: Recipient, ctx: MessageContext) -> bytes:
        prepared = self.prepared[language]
        content: ReleaseContent = prepared["content"]
        chrome = prepared["chrome"]
        env = prepared["env"]
        rewrite = ctx.rewrite_link
        counter = iter(range(10_000))

        def track(match: re.Match[str]) -> str:
            url = unescape(match.group(2))
            new = rewrite(url, next(counter)) if rewrite else url
            return match.group(1) + escape(new) + match.group(3)

        embargo = (format_moment(content.embargo, person.timezone, chrome.locale)
                   if content.embargo else "")
        values = {
            "lang": chrome.language, "dir": chrome.direction, "align": chrome.align,
            "chrome_dir": chrome.chrome_direction, "end": chrome.end, "title": content.title,
            "subject": content.subject,
            "preheader": content.preheader,
            "body_html": Markup(_HREF.sub(track, prepared["body_html"])),  # noqa: S704
            "body_text": prepared["body_text"], "contact_lines": [],
            "embargo_date": embargo, "organisation": ctx.organisation,
            "recipient_email": person.email, "unsubscribe_url": ctx.unsubscribe_url,
            "web_version_url": ctx.web_version_url or "",
            "open_pixel_url": ctx.open_pixel_url or "",
        }
        html = env.get_template("release/body.html").render(values)
        if self.inline_css:
            html = self.inliner.inline(html)
        text = env.get_template("release/body.txt").render(values)
        subject = env.get_template("release/subject.txt").render(values).strip()

        message = EmailMessage(policy=SMTP)
        message["From"] = Address(display_name=ctx.from_name, addr_spec=ctx.from_address)
        message["To"] = Address(display_name=f"{person.first_name} {person.last_name}".strip(),
                                 addr_spec=person.email)
        message["Subject"] = subject
        message["Date"] = format_datetime(ctx.date)
        message["Message-ID"] = ctx.message_id
        message["MIME-Version"] = "1.0"
        message["Content-Language"] = chrome.language
        message["List-Id"] = f"{ctx.list_name} <{ctx.list_id}>"
        message["List-Unsubscribe"] = f"<{ctx.unsubscribe_url}>, <{ctx.unsubscribe_mailto}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message["Feedback-ID"] = ctx.feedback_id
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        return message.as_bytes()


# --- timing --------------------------------------------------------------------------------------


def measure(render: Callable[[str, Recipient, MessageContext], bytes],
            deliveries: list[tuple[str, Recipient, MessageContext]], repeat: int
            ) -> tuple[float, int]:
    """The best messages-per-second over ``repeat`` runs, and the bytes of the last run."""
    for language, person, ctx in deliveries[: min(len(deliveries), 60)]:  # warm-up
        render(language, person, ctx)
    best = 0.0
    size = 0
    for _ in range(repeat):
        size = 0
        start = time.perf_counter()
        for language, person, ctx in deliveries:
            size += len(render(language, person, ctx))
        elapsed = time.perf_counter() - start
        best = max(best, len(deliveries) / elapsed)
    return best, size


def pin_to_one_cpu() -> str:
    """Run on one core (the first one this process may use), where the OS allows it."""
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def main(argv: list[str]) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per timed run")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per way (best kept)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    pinned = pin_to_one_cpu()

    contents = {language: parse_release_markdown((FIXTURES / f"{language}.md").read_text(
        encoding="utf-8")) for language in LANGUAGES}
    start = time.perf_counter()
    compiled: dict[str, CompiledRelease] = {}
    for language, content in contents.items():
        compiled[language] = compile_release(content)
        compiled[language].variant(web_version=True, open_pixel=True)
    compile_ms = (time.perf_counter() - start) * 1000 / len(LANGUAGES)

    deliveries = recipients(args.messages)

    def engine(language: str, person: Recipient, ctx: MessageContext) -> bytes:
        return render_message(compiled[language], person, ctx).as_bytes()

    engine_rate, engine_bytes = measure(engine, deliveries, args.repeat)
    baseline_rate, baseline_bytes = measure(Baseline(contents, inline_css=False), deliveries,
                                            args.repeat)
    naive_rate, _ = measure(Baseline(contents, inline_css=True), deliveries,
                            max(1, args.repeat - 1))
    figures = {
        "python": platform.python_version(), "cpu": pinned, "messages": args.messages,
        "repeat": args.repeat, "compile_ms_per_language": round(compile_ms, 2),
        "engine_msgs_per_s": round(engine_rate), "baseline_msgs_per_s": round(baseline_rate),
        "baseline_css_msgs_per_s": round(naive_rate),
        "speedup_vs_baseline": round(engine_rate / baseline_rate, 2),
        "speedup_vs_baseline_css": round(engine_rate / naive_rate, 2),
        "engine_avg_bytes": engine_bytes // args.messages,
        "baseline_avg_bytes": baseline_bytes // args.messages,
    }
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"Rendering benchmark: {args.messages} messages x {args.repeat} runs, "
          f"6 languages round-robin, Python {figures['python']}, {pinned}")
    print(f"  compile (once per language)   {compile_ms:8.2f} ms per language")
    print(f"  engine                        {engine_rate:8.0f} msgs/s  "
          f"{1e6 / engine_rate:7.1f} µs/msg  {figures['engine_avg_bytes']} B/msg")
    print(f"  baseline (Jinja2+EmailMessage){baseline_rate:8.0f} msgs/s  "
          f"{1e6 / baseline_rate:7.1f} µs/msg  {figures['baseline_avg_bytes']} B/msg")
    print(f"  baseline + css-inline         {naive_rate:8.0f} msgs/s  "
          f"{1e6 / naive_rate:7.1f} µs/msg")
    print(f"  speed-up: {figures['speedup_vs_baseline']}x the baseline, "
          f"{figures['speedup_vs_baseline_css']}x the baseline with CSS inlining")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
