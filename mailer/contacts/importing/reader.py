"""Turning uploaded bytes into CSV records: size limit, encoding, delimiter, header, row numbers.

Encoding rule, decided once for the whole file before anything is written:

1. a byte-order mark wins: ``EF BB BF`` UTF-8, ``FF FE`` UTF-16 LE, ``FE FF`` UTF-16 BE;
2. without one, a file whose first characters are ASCII interleaved with NUL bytes is UTF-16
   (LE or BE by the position of the NULs);
3. otherwise the file is UTF-8 if *every* byte of it decodes as strict UTF-8, and Windows-1251
   (what Russian-language Excel writes) if not. Real Cyrillic text in Windows-1251 is never
   valid UTF-8, and valid UTF-8 is almost never meant as anything else, so scanning the whole
   file (not a sample) makes the choice certain; the scan runs at C speed, in 1 MB blocks.

A file that decodes in none of these, holds NUL characters (binary), starts with the signature
of a spreadsheet, archive or PDF, is empty, or is bigger than the limit is refused.

Rows are numbered as a spreadsheet shows them: row 1 is the first line of the file (normally
the header), the first contact is row 2, blank rows keep their number, and a line break inside
a quoted cell does not start a new row.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from mailer.contacts.importing.columns import EMAIL, field_for_header
from mailer.errors import BadRequest, PayloadTooLarge

BLOCK = 1 << 20
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}

_BOMS = (
    (codecs.BOM_UTF8, "utf-8", "UTF-8 with byte-order mark"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
)
_SIGNATURES = (
    (b"PK\x03\x04", _l("a ZIP archive or an Excel workbook (.xlsx)")),
    (b"\xd0\xcf\x11\xe0", _l("an old Excel workbook (.xls)")),
    (b"%PDF", _l("a PDF document")),
    (b"\x89PNG", _l("a PNG image")),
    (b"\xff\xd8\xff", _l("a JPEG image")),
    (b"GIF8", _l("a GIF image")),
    (b"\x1f\x8b", _l("a gzip archive")),
)
LABELS = {"utf-8": "UTF-8", "cp1251": "Windows-1251",
          "utf-16-le": "UTF-16 LE", "utf-16-be": "UTF-16 BE"}
SAVE_AS_CSV = _l("Save it from your spreadsheet as “CSV UTF-8” and upload that.")


@dataclass(frozen=True)
class FileFormat:
    """How the file's bytes are text: codec, its name for people, and BOM bytes to skip."""

    encoding: str
    label: str
    bom: int
    size: int


def detect_format(stream: IO[bytes], max_bytes: int) -> FileFormat:
    """Check size and content and pick the encoding (module docstring); raise if refused."""
    size = stream.seek(0, io.SEEK_END)
    if size > max_bytes:
        raise PayloadTooLarge(
            gettext("The file is %(size)s; the limit is %(limit)s.", size=_megabytes(size),
                    limit=_megabytes(max_bytes)),
            fields={"file": gettext("too large")})
    stream.seek(0)
    head = stream.read(4)
    if not head:
        raise BadRequest(gettext("The file is empty."), fields={"file": gettext("empty")})
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            raise BadRequest(gettext("This is %(what)s, not a CSV file.", what=str(what))
                             + f" {SAVE_AS_CSV}",
                             fields={"file": gettext("not a CSV file")})

    for bom, encoding, label in _BOMS:
        if head.startswith(bom):
            if _decodes(stream, encoding, len(bom)):
                return FileFormat(encoding, label, len(bom), size)
            raise BadRequest(gettext("The file starts with a %(label)s byte-order mark but is "
                                     "not %(encoding)s text.", label=label,
                                     encoding=LABELS[encoding]) + f" {SAVE_AS_CSV}",
                             fields={"file": gettext("not a CSV file")})
    guessed = _bomless_utf16(head)
    for encoding in (guessed,) if guessed else ("utf-8", "cp1251"):
        if _decodes(stream, encoding, 0):
            return FileFormat(encoding, LABELS[encoding], 0, size)
    raise BadRequest(gettext("This is not a text file in UTF-8, UTF-16 or Windows-1251 (it may "
                             "be binary).") + f" {SAVE_AS_CSV}",
                     fields={"file": gettext("not a CSV file")})


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _bomless_utf16(head: bytes) -> str | None:
    if len(head) < 4:
        return None
    if head[1] == 0 and head[3] == 0 and head[0] and head[2] and head[0] < 128:
        return "utf-16-le"
    if head[0] == 0 and head[2] == 0 and head[1] and head[3] and head[1] < 128:
        return "utf-16-be"
    return None


def _decodes(stream: IO[bytes], encoding: str, start: int) -> bool:
    """True if the bytes from ``start`` are text in ``encoding`` with something in it.

    Raises for text that holds NUL characters (a binary file that happens to decode) and for a
    file with nothing but white space.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    stream.seek(start)
    blank = True
    try:
        while block := stream.read(BLOCK):
            text = decoder.decode(block)
            if "\x00" in text:
                raise BadRequest(gettext("The file holds binary data, not text.")
                                 + f" {SAVE_AS_CSV}",
                                 fields={"file": gettext("not a CSV file")})
            blank = blank and not text.strip()
        # Always finish the decoder: a multi-byte sequence cut off at the end is not text.
        rest = decoder.decode(b"", final=True)
        blank = blank and not rest.strip()
    except UnicodeDecodeError:
        return False
    if blank:
        raise BadRequest(gettext("The file is empty."), fields={"file": gettext("empty")})
    return True


class _CountingReader(io.RawIOBase):
    """Reads from a binary stream without owning it, counting the bytes (for progress bars)."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self.stream = stream
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        self.bytes_read += len(data)
        return len(data)


@dataclass
class CsvRecords:
    """An open CSV file: its format, delimiter, header and an iterator over its data rows.

    ``rows`` yields ``(row number, cells, problem)``; ``problem`` is a message when the CSV
    syntax of that row is broken (the cells are then empty).
    """

    format: FileFormat
    delimiter: str
    header: list[str]
    header_row: int
    rows: Iterator[tuple[int, list[str], str | None]] = field(repr=False)
    _counter: _CountingReader = field(repr=False)

    @property
    def bytes_read(self) -> int:
        """How far into the file reading has got, in bytes (read ahead by up to 1 MB)."""
        return self._counter.bytes_read + self.format.bom


def open_records(stream: IO[bytes], fmt: FileFormat) -> CsvRecords:
    """Open the (already checked) file: find the header row, sniff the delimiter."""
    stream.seek(fmt.bom)
    counter = _CountingReader(stream)
    # Large reads: each one releases the GIL, and the writing thread may then hold it a while.
    text = io.TextIOWrapper(io.BufferedReader(counter, BLOCK), encoding=fmt.encoding,
                            newline="")
    row = 0
    line = ""
    while not line.strip():
        line = text.readline()
        row += 1
        if not line:
            raise BadRequest(gettext("The file is empty."), fields={"file": gettext("empty")})
    delimiter = sniff_delimiter(line)
    header = [cell.strip() for cell in next(csv.reader([line], delimiter=delimiter))]
    return CsvRecords(fmt, delimiter, header, row, _data_rows(text, delimiter, row), counter)


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a header line: the one that splits off an email column (the one giving
    most columns if several do), else the most frequent of tab, semicolon and comma outside
    quotes, else a comma."""
    best, best_columns = None, 0
    for delimiter in DELIMITERS:
        cells = next(csv.reader([header_line], delimiter=delimiter), [])
        if any(field_for_header(cell) == EMAIL for cell in cells) and len(cells) > best_columns:
            best, best_columns = delimiter, len(cells)
    if best is not None:
        return best
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {delimiter: unquoted.count(delimiter) for delimiter in DELIMITERS}
    frequent = max(counts, key=lambda d: counts[d])
    return frequent if counts[frequent] else ","


def _data_rows(text: io.TextIOWrapper, delimiter: str,
               header_row: int) -> Iterator[tuple[int, list[str], str | None]]:
    reader = csv.reader(text, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
    row = header_row
    while True:
        row += 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield row, [], gettext("broken CSV: %(error)s", error=str(exc))
            continue
        yield row, cells, None
