"""The one writer of CSV and Excel files: no cell a spreadsheet would run as a formula (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Sequence
from typing import Any, TextIO

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would read as a formula gets a leading single quote; numbers and dates pass."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


class CsvWriter:
    """csv.writer that neutralises every cell; `text_columns` get a tab so Excel keeps long IDs as text."""

    def __init__(self, out: TextIO, header: Sequence[str], *, text_columns: Collection[int] = ()) -> None:
        self._writer = csv.writer(out)
        self._text_columns = set(text_columns)
        self._writer.writerow([safe_cell(h) for h in header])
        self.rows = 0

    def writerow(self, row: Sequence[Any]) -> None:
        """Write one data row."""
        cells = [safe_cell(v) for v in row]
        for i in self._text_columns:
            if i < len(cells) and isinstance(cells[i], str) and cells[i]:
                cells[i] = "\t" + cells[i]  # added after neutralising: ours, not the data's
        self._writer.writerow(cells)
        self.rows += 1

    def writerows(self, rows: Iterable[Sequence[Any]]) -> int:
        """Write every row; returns how many rows this writer has written."""
        for row in rows:
            self.writerow(row)
        return self.rows


def csv_bytes(
    header: Sequence[str], rows: Iterable[Sequence[Any]], *, text_columns: Collection[int] = ()
) -> tuple[bytes, int]:
    """UTF-8 CSV with a BOM (so Excel shows Chinese) and its data-row count."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = CsvWriter(buf, header, text_columns=text_columns)
    n = writer.writerows(rows)
    return buf.getvalue().encode("utf-8"), n


def xlsx_bytes(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    sheet: str,
    widths: dict[str, float] | None = None,
) -> tuple[bytes, int]:
    """A one-sheet workbook with bold headers, every text cell a neutralised string (never a formula); and the row count."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    for column, width in (widths or {}).items():
        ws.column_dimensions[column].width = width

    def cell(value: Any, bold: bool = False) -> WriteOnlyCell:
        c = WriteOnlyCell(ws, value=safe_cell(value))
        if isinstance(value, str):
            c.data_type = "s"  # openpyxl would store text starting with "=" as a formula
        if bold:
            c.font = Font(bold=True)
        return c

    ws.append([cell(h, bold=True) for h in header])
    n = 0
    for row in rows:
        ws.append([cell(v) for v in row])
        n += 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), n
