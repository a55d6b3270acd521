"""The file writers of an export: CSV (UTF-8 with BOM) and XLSX (XlsxWriter, streaming).

A writer takes rows of cells as they come (``write_rows``), then ``close()`` completes the
file or ``abort()`` removes what was written. Cells are text, numbers or ``Money`` (an amount
and its currency code); ``xlsx_cell`` decides which, ``csv_text`` makes any of them CSV text.
Writers do blocking file work: ``explorer.core.export`` calls them from a worker thread.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from explorer.api import Field, NameCache
from explorer.api.display import ID_KEYS
from explorer.core.columns import cell_text, raw_value

NUMERIC_TYPES = frozenset({"double", "int", "monetary"})


@dataclass(frozen=True)
class Money:
    """An amount with its currency code, for the XLSX writer to format."""

    amount: float
    currency: str | None


Cell = str | int | float | Money


def xlsx_cell(names: NameCache, field: Field, record: Mapping[str, Any]) -> Cell:
    """A number for numeric fields (an amount with its currency for money), else the text
    the table shows. Ids that stand for names (``stage_id``, ``owner_id``) stay names."""
    value = raw_value(record, field)
    if field.type in NUMERIC_TYPES and not field.options and field.key not in ID_KEYS:
        if field.type == "monetary":
            currency = record.get("currency") if field.key == "value" else None
            if isinstance(value, Mapping):
                value, currency = value.get("value", value.get("amount")), (
                    value.get("currency") or currency)
            if _number(value):
                return Money(float(value), currency if isinstance(currency, str) else None)
        elif _number(value):
            return int(value) if isinstance(value, float) and value.is_integer() else value
    return cell_text(names, field, record)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Writer(Protocol):
    """A file being written: rows in, then ``close()`` (complete) or ``abort()``."""

    def write_rows(self, rows: Sequence[Sequence[Cell]]) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


_FORMULA_START = frozenset("=@+-\t\r")


def csv_text(cell: Cell) -> str:
    """A cell as CSV text. Text that Excel would run as a formula (``=…``, ``@…``, ``+``/``-``
    before a non-number) gets a leading apostrophe: an export must not execute a record's
    content when opened (CSV injection); phone numbers and negative amounts are left alone."""
    text = cell if isinstance(cell, str) else str(cell)
    if not text or text[0] not in _FORMULA_START:
        return text
    if text[0] in "+-" and (text[1:2].isdigit() or text[1:2] in (" ", "")):
        return text
    return "'" + text


class CsvWriter:
    """CSV in UTF-8 with BOM, a header row of ``headers``."""

    def __init__(self, path: Path, headers: Sequence[str]) -> None:
        self._path = path
        self._fh: IO[str] = open(path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
        self._csv = csv.writer(self._fh)
        self._csv.writerow(headers)

    def write_rows(self, rows: Sequence[Sequence[Cell]]) -> None:
        self._csv.writerows([csv_text(c) for c in row] for row in rows)

    def close(self) -> None:
        self._fh.close()

    def abort(self) -> None:
        self._fh.close()
        self._path.unlink(missing_ok=True)


class XlsxSheetWriter:
    """One worksheet through XlsxWriter's ``constant_memory`` mode. XlsxWriter writes the
    file itself only in ``close()``; until then rows sit in a temporary file in a folder of
    this writer's own, removed on close or abort."""

    def __init__(self, path: Path, columns: Sequence[Field], sheet: str) -> None:
        import xlsxwriter  # imported on first use: CSV exports and tests without it stay light

        self._path = path
        # XlsxWriter opens the file only in close(): claim it now, so an unwritable place
        # fails before any record is read, not after all of them.
        open(path, "wb").close()
        self._tmp = tempfile.mkdtemp(prefix="explorer-export-")
        self._book = xlsxwriter.Workbook(str(path), {
            "constant_memory": True, "tmpdir": self._tmp,
            # Text stays text: no URL, formula or number guessing on what a record holds.
            "strings_to_urls": False, "strings_to_formulas": False,
            "strings_to_numbers": False,
        })
        self._sheet = self._book.add_worksheet(sheet_name(sheet))
        self._money: dict[str | None, Any] = {}
        bold = self._book.add_format({"bold": True})
        for i, column in enumerate(columns):
            self._sheet.set_column(i, i, min(50, max(12, len(column.name) + 2)))
        self._sheet.write_row(0, 0, [c.name for c in columns], bold)
        self._sheet.freeze_panes(1, 0)
        self._row = 1

    def write_rows(self, rows: Sequence[Sequence[Cell]]) -> None:
        sheet = self._sheet
        for row in rows:
            for col, cell in enumerate(row):
                if isinstance(cell, Money):
                    sheet.write_number(self._row, col, cell.amount, self._money_format(cell))
                elif isinstance(cell, str):
                    if cell:
                        sheet.write_string(self._row, col, cell)
                else:
                    sheet.write_number(self._row, col, cell)
            self._row += 1

    def _money_format(self, cell: Money) -> Any:
        fmt = self._money.get(cell.currency)
        if fmt is None:
            code = "".join(ch for ch in cell.currency or "" if ch.isalnum())
            pattern = f'#,##0.00 "{code}"' if code else "#,##0.00"
            fmt = self._money[cell.currency] = self._book.add_format({"num_format": pattern})
        return fmt

    def close(self) -> None:
        from xlsxwriter.exceptions import FileCreateError

        try:
            self._book.close()
        except FileCreateError as exc:
            # It wraps the OSError (disk full, file locked): raise that, as CsvWriter does.
            cause = exc.args[0] if exc.args else None
            raise (cause if isinstance(cause, OSError) else OSError(str(exc))) from exc
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def abort(self) -> None:
        # XlsxWriter has no way to drop a workbook: close the row file it holds open (so the
        # folder can go on Windows too) without packing the file.
        fh = getattr(self._sheet, "row_data_fh", None)
        if fh is not None:
            fh.close()
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._path.unlink(missing_ok=True)


def sheet_name(title: str) -> str:
    """``title`` as Excel takes a sheet name: at most 31 characters, none of ``[]:*?/\\``."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in title).strip().strip("'")
    return cleaned[:31] or "Export"
