"""Slots: how a compiled release leaves room for per-recipient values.

At compile time every per-recipient value (a placeholder, a link address, the unsubscribe URL…)
is written as an opaque token: ASCII letters and digits that survive Markdown, nh3, Jinja
autoescaping and css-inline unchanged. The finished text is then cut at the tokens into a
`Skeleton`: literal pieces and slot names. Rendering for one recipient is a single ``join``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass


class SlotTokens:
    """Makes the tokens of one compilation; a fresh random nonce keeps them out of real text."""

    def __init__(self) -> None:
        self.nonce = "S" + secrets.token_hex(8) + "x"
        self._names: list[str] = []
        self._index: dict[str, int] = {}
        self.pattern = re.compile(re.escape(self.nonce) + r"(\d+)x")

    def token(self, name: str) -> str:
        """The token standing for the slot ``name`` (the same token each time)."""
        index = self._index.get(name)
        if index is None:
            index = self._index[name] = len(self._names)
            self._names.append(name)
        return f"{self.nonce}{index}x"

    def name(self, index: int) -> str:
        """The slot name of token number ``index``."""
        return self._names[index]

    def contains(self, text: str) -> bool:
        """Whether ``text`` holds any token of this compilation."""
        return self.nonce in text

    def skeleton(self, text: str) -> Skeleton:
        """``text`` cut at its tokens."""
        pieces = self.pattern.split(text)
        literals = tuple(pieces[0::2])
        names = tuple(self._names[int(index)] for index in pieces[1::2])
        return Skeleton(literals, names)


@dataclass(frozen=True, slots=True)
class Skeleton:
    """Literal pieces with named slots between them: ``literals[0] slot[0] literals[1] …``."""

    literals: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def slot_names(self) -> frozenset[str]:
        """The names of the slots this skeleton uses."""
        return frozenset(self.names)

    def fill(self, values: Mapping[str, str]) -> str:
        """The text with every slot replaced by ``values[name]``."""
        if not self.names:
            return self.literals[0]
        out: list[str] = [""] * (2 * len(self.names) + 1)
        out[0::2] = self.literals
        out[1::2] = [values[name] for name in self.names]
        return "".join(out)

    def literal_text(self) -> str:
        """The literal pieces joined: the text without any slot value (for size estimates)."""
        return "".join(self.literals)
