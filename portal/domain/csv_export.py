"""CSV that opens safely in a spreadsheet: UTF-8 with a BOM, and no cell that runs as a formula.

Excel reads a UTF-8 file as the machine's legacy code page unless it starts with a
byte-order mark, which garbles names like "Siân" or "Zoë". A cell that begins with
`=`, `+`, `-` or `@` (or a tab or carriage return, which some spreadsheets strip
before looking) is evaluated as a formula when the file is opened: an applicant's
organisation called `=HYPERLINK(...)` would become a live link in an admin's sheet.
Such cells get a leading single quote, which spreadsheets show as text (OWASP's advice).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> str:
    """The text of one cell, with a quote in front if a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The whole file as text: BOM, header, rows; every cell neutralised, CRLF line ends (RFC 4180)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([neutralise_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([neutralise_cell(cell) for cell in row])
    return BOM + out.getvalue()


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    return csv_text(header, rows).encode("utf-8")
