"""Markdown: a release body parsed once, written out as HTML and as real plain text.

The parser is markdown-it-py with CommonMark plus tables; linkify and typographer are off, raw
HTML is parsed (and left to `mailer.rendering.sanitise`). The plain-text part is written from
the same token stream, not from tag-stripped HTML: headings underlined, lists with markers,
quotes with ``>``, links as ``text (url)``, emphasis markers dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

from mailer.rendering.sanitise import html_to_text

_md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
_md.enable("table")

_BR = re.compile(r"^<br\s*/?>$", re.IGNORECASE)


def parse(source: str) -> list[Token]:
    """The block tokens of a Markdown document."""
    return _md.parse(source)


def to_html(tokens: Sequence[Token]) -> str:
    """The HTML markdown-it writes for ``tokens`` (not yet sanitised)."""
    return _md.renderer.render(tokens, _md.options, {})


def link_addresses(tokens: Sequence[Token]) -> list[str]:
    """Every link and image address in the document, in order."""
    found: list[str] = []
    for token in tokens:
        for child in token.children or ():
            if child.type == "link_open":
                found.append(str(child.attrGet("href") or ""))
            elif child.type == "image":
                found.append(str(child.attrGet("src") or ""))
    return found


def first_heading(tokens: Sequence[Token]) -> str:
    """The plain text of the first heading, or "" when there is none."""
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and index + 1 < len(tokens):
            return _inline_text(tokens[index + 1].children or [])
    return ""


def to_text(tokens: Sequence[Token]) -> str:
    """The document as readable plain text."""
    return _TextWriter().write(tokens)


# --- plain text ---------------------------------------------------------------------------------


def _inline_text(children: Sequence[Token]) -> str:
    out: list[str] = []
    links: list[tuple[str, int]] = []  # (href, position in out where the link text starts)
    for child in children:
        kind = child.type
        if kind in ("text", "code_inline"):
            out.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif kind == "link_open":
            links.append((str(child.attrGet("href") or ""), len(out)))
        elif kind == "link_close" and links:
            href, start = links.pop()
            label = "".join(out[start:])
            del out[start:]
            out.append(_link_text(label, href, child.markup == "autolink"))
        elif kind == "image":
            alt = _inline_text(child.children or [])
            if alt:
                out.append(alt)
        elif kind == "html_inline" and _BR.match(child.content.strip()):
            out.append("\n")
    return "".join(out)


def _link_text(label: str, href: str, autolink: bool) -> str:
    if not href:
        return label
    shown = href[len("mailto:"):] if href.lower().startswith("mailto:") else href
    if autolink or not label.strip() or label.strip() in (href, shown):
        return label if label.strip() else shown
    return f"{label} ({shown})"


@dataclass
class _ListState:
    ordered: bool
    tight: bool
    number: int


@dataclass
class _TextWriter:
    lines: list[str] = field(default_factory=list)
    # The prefixes of the open containers, outermost first: "> " for a quote, spaces for a
    # list item; `marker` replaces the innermost item's spaces on its first line.
    containers: list[str] = field(default_factory=list)
    last_containers: list[str] = field(default_factory=list)
    lists: list[_ListState] = field(default_factory=list)
    marker: str | None = None
    list_fresh: bool = False

    def write(self, tokens: Sequence[Token]) -> str:
        index = 0
        while index < len(tokens):
            index = self._block(tokens, index)
        return "\n".join(line.rstrip() for line in self.lines).strip("\n") + "\n"

    # Each handler returns the index of the next token to look at.
    def _block(self, tokens: Sequence[Token], index: int) -> int:
        token = tokens[index]
        kind = token.type
        if kind == "heading_open":
            text = _inline_text(tokens[index + 1].children or [])
            level = int(token.tag[1])
            width = max(len(line) for line in text.split("\n"))
            if level == 1:
                text += "\n" + "=" * width
            elif level == 2:
                text += "\n" + "-" * width
            self._emit(text)
            return index + 3
        if kind == "paragraph_open":
            self._emit(_inline_text(tokens[index + 1].children or []))
            return index + 3
        if kind in ("bullet_list_open", "ordered_list_open"):
            start = int(token.attrGet("start") or 1)
            tight = index + 2 < len(tokens) and tokens[index + 2].hidden
            self.list_fresh = self.list_fresh or not self.lists
            self.lists.append(_ListState(kind == "ordered_list_open", tight, start))
            return index + 1
        if kind in ("bullet_list_close", "ordered_list_close"):
            self.lists.pop()
            return index + 1
        if kind == "list_item_open":
            state = self.lists[-1]
            self.marker = f"{state.number}. " if state.ordered else "- "
            state.number += 1
            self.containers.append(" " * len(self.marker))
            return index + 1
        if kind == "blockquote_open":
            self.containers.append("> ")
            return index + 1
        if kind in ("list_item_close", "blockquote_close"):
            self.containers.pop()
            return index + 1
        if kind in ("fence", "code_block"):
            code = token.content.rstrip("\n")
            self._emit("\n".join("    " + line if line else "" for line in code.split("\n")))
            return index + 1
        if kind == "hr":
            self._emit("* * *")
            return index + 1
        if kind == "html_block":
            text = html_to_text(token.content).strip()
            if text:
                self._emit(text)
            return index + 1
        if kind == "table_open":
            return self._table(tokens, index)
        return index + 1  # closers of paragraphs and items, and anything unknown

    def _table(self, tokens: Sequence[Token], index: int) -> int:
        rows: list[list[str]] = []
        header_rows = 0
        row: list[str] = []
        in_head = False
        while tokens[index].type != "table_close":
            kind = tokens[index].type
            if kind == "thead_open":
                in_head = True
            elif kind == "thead_close":
                in_head = False
            elif kind == "tr_open":
                row = []
            elif kind == "tr_close":
                rows.append(row)
                header_rows += in_head
            elif kind == "inline":
                row.append(_inline_text(tokens[index].children or []).replace("\n", " "))
            index += 1
        lines = [" | ".join(cells) for cells in rows]
        if header_rows and len(lines) > header_rows:
            width = max(len(line) for line in lines[:header_rows])
            lines.insert(header_rows, "-" * width)
        self._emit("\n".join(lines))
        return index + 1

    def _emit(self, text: str) -> None:
        # Blocks are separated by a blank line, except the items of a tight list (after the
        # list's first block, which the blank line still separates from what came before).
        tight = bool(self.lists) and self.lists[-1].tight and not self.list_fresh
        if self.lines and not tight:
            common: list[str] = []
            for mine, theirs in zip(self.containers, self.last_containers, strict=False):
                if mine != theirs:
                    break
                common.append(mine)
            self.lines.append("".join(common).rstrip())
        self.list_fresh = False
        self.last_containers = list(self.containers)
        prefix = "".join(self.containers)
        first = prefix
        if self.marker is not None:
            first = prefix[: len(prefix) - len(self.marker)] + self.marker
            self.marker = None
        for number, line in enumerate(text.split("\n")):
            lead = first if number == 0 else prefix
            self.lines.append(lead + line if line else lead.rstrip())
