"""PostgreSQL loading, the part in Python: the file read in blocks of lines and each made
ready to copy (``services.usage_ingest_pg`` checks and applies it). No database here.

Python refuses only what needs the row as a whole (wrong number of fields, too long, not
UTF-8) and leaves every other check to the server. Most files are plain: no quotes, the
columns in the documented order, every row in the usual shape (``CLEAN_ROW``). Their lines go
to the server as they are, numbered, without being split into fields here.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import chain, islice
from pathlib import Path

from services.usage_format import (
    COLUMNS,
    MAX_ROW_CHARS,
    FileRefused,
    Header,
    Rejection,
    open_rows,
    parse_header,
    raw_text,
)
from services.usage_ingest import Chunk, chunks_of

NEWLINE = "\r\n"

# The shape of a row every check of ``parse_row`` passes except those below (canonical header:
# the seven columns in order, ``,`` between them): the number in E.164, an ISO 8601 time with an
# offset (any day 01-31), the kind, direction and zone as written in the format, a quantity
# without leading zeros and a charge of at most two decimals below 1,000,000.
CLEAN_ROW = re.compile(
    r"[+][1-9][0-9]{6,14},"
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]"
    r":[0-5][0-9](?:[.][0-9]{1,6})?(?:Z|[+-](?:0[0-9]|1[0-5]):[0-5][0-9]),"
    r"(?:voice|sms|mms|data),(?:in|out),(?:domestic|eu|europe|world),"
    r"(?:0|[1-9][0-9]{0,12}),(?:0|[1-9][0-9]{0,5})(?:[.][0-9]{1,2})?\r?\n?"
)


@dataclass
class Block:
    """Lines of a file without a quote character, so one row each: the rows ``first`` …
    ``first + len(lines) - 1``. Read without the CSV module."""

    start: int
    end: int
    first: int
    lines: list[str]
    header: Header


def read_blocks(path: Path, start: int, size: int) -> Iterator[Block | Chunk]:
    """The file after the resume point ``start`` in blocks of ``size`` lines, numbered as
    ``usage_format.iter_rows`` numbers rows. From the first block with a quote character on, a
    quoted field may hold a line break: the rest is read by the CSV module, as chunks."""
    with open_rows(path) as text_io:
        first_line = text_io.readline()
        if not first_line.strip():
            raise FileRefused("empty")
        header = parse_header(first_line.rstrip("\r\n").lstrip("\ufeff"))
        number = 1  # the last line read; the header is row 1
        while lines := list(islice(text_io, size)):
            if '"' in "".join(lines):
                records = enumerate(
                    csv.reader(chain(lines, text_io), delimiter=header.delimiter), number + 1
                )
                rows = ((n, f) for n, f in records if f)
                yield from chunks_of(header, rows, max(start, number - 1), size)
                return
            first, number = number + 1, number + len(lines)
            if number - 1 <= start:
                continue
            if first < start + 2:  # resumed inside this block
                lines, first = lines[start - first + 2 :], start + 2
            yield Block(first - 2, number - 1, first, lines, header)


@dataclass
class Staged:
    """A chunk ready to copy: its rows as CSV of the row number and the seven columns, the rows
    refused as a whole, and whether every row has the clean shape (``CLEAN_ROW``)."""

    start: int
    end: int
    csv_text: str
    rejections: list[Rejection]
    clean: bool
    delimiter: str
    source: Chunk | Block

    def raw(self, number: int) -> str:
        """Row ``number`` as delivered, for the rejection report."""
        if isinstance(self.source, Block):
            return self.source.lines[number - self.source.first].rstrip(NEWLINE)
        return raw_text(self._fields[number], self.delimiter)

    @cached_property
    def _fields(self) -> dict[int, list[str]]:
        return dict(self.source.rows)


def stage(part: Block | Chunk) -> Staged:
    """No database: a block whose lines all have the clean shape is copied as it is (numbered);
    anything else is split into fields (``stage_chunk``)."""
    if not isinstance(part, Block):
        return stage_chunk(part)
    header, lines = part.header, part.lines
    if (
        header.delimiter == ","
        and header.width == len(COLUMNS)
        and header.positions == tuple(range(len(COLUMNS)))
        and all(map(CLEAN_ROW.fullmatch, lines))
    ):
        text = "".join(
            [f"{n},{line.rstrip(NEWLINE)}\n" for n, line in enumerate(lines, part.first)]
        )
        return Staged(part.start, part.end, text, [], True, header.delimiter, part)
    rows = [
        (n, f) for n, f in enumerate(csv.reader(lines, delimiter=header.delimiter), part.first) if f
    ]
    return stage_chunk(Chunk(part.start, part.end, rows, header))


def stage_chunk(chunk: Chunk) -> Staged:
    """No database: the rows of ``chunk`` with the header's width, as CSV of the row number
    and the seven columns; the others refused with their reason."""
    header = chunk.header
    pick, width, delimiter = header.pick, header.width, header.delimiter
    good, rejections = [], []
    for number, fields in chunk.rows:
        if len(fields) != width:
            reason, detail = "columns", str(len(fields))
        else:
            joined = "".join(fields)
            if len(joined) > MAX_ROW_CHARS:
                reason, detail = "too_long", None
            elif "\ufffd" in joined:
                reason, detail = "encoding", None
            else:
                good.append((number, *pick(fields)))
                continue
        rejections.append(Rejection(number, reason, detail, raw_text(fields, delimiter)))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(good)
    return Staged(chunk.start, chunk.end, buf.getvalue(), rejections, False, delimiter, chunk)
