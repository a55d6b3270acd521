"""Export a view to CSV or XLSX: every matching record, page by page, streamed to disk.

``export_view(session, view, columns, path, fmt)`` lists the view through the client (its
saved filter or stage, archived or not, its sort), 500 records a page, in the background
lane; each page has its names loaded (``NameCache.load_records``) and is written as it
arrives (the next one is read meanwhile), so memory holds two pages, never the whole list.
Cells read as the table shows them (``columns.cell_text``: option labels, money with
currency, names for ids), under the columns' names, custom fields included.

The file is written as ``<name>.part`` and renamed to the chosen name only when complete: a
cancelled or failed export leaves neither a half file nor the part (a failure raises
``ExportError`` saying what went wrong and how many records had been written). File work
(writing a page, packing the XLSX) runs in a worker thread, so a window stays responsive.

The writers are in ``export_writers``. CSV: UTF-8 with a byte-order mark (Excel then reads
it as UTF-8), the ``csv`` module's quoting, a header row of field names. XLSX: XlsxWriter in
``constant_memory`` mode (rows go to a temporary file as they are written), header row bold
and frozen, numbers and amounts as numbers (amounts formatted with their currency code),
everything else as the table's text.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from explorer.api import Field, Page, PageHandle, PipedriveClient, lanes, resource
from explorer.api.errors import PipedriveError
from explorer.core.columns import cell_text
from explorer.core.export_writers import (
    Cell,
    CsvWriter,
    Writer,
    XlsxSheetWriter,
    xlsx_cell,
)
from explorer.core.views import View, deal_count

if TYPE_CHECKING:
    from explorer.core.session import Session

Format = Literal["csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
Progress = Callable[[int, int | None], None]
T = TypeVar("T")

PAGE_SIZE = 500  # Pipedrive's largest page: fewest requests and tokens per record
XLSX_MAX_ROWS = 1_048_576 - 1  # a worksheet's rows, less the header
# Deal list filters ``GET /v1/deals/summary`` takes too, so it can count the list cheaply.
_CHUNK = 100  # rows turned into cells between yields to the event loop


@dataclass(frozen=True)
class ExportResult:
    """A finished export.

    Attributes:
        path: the file written.
        rows: records written (the header row not counted).
        fmt: ``"csv"`` or ``"xlsx"``.
    """

    path: Path
    rows: int
    fmt: Format


class ExportError(Exception):
    """An export that stopped before the end; nothing was left under the chosen name.

    Attributes:
        rows: records written before it stopped (all discarded with the part file).
        path: the file that was being written.
    """

    def __init__(self, message: str, *, rows: int, path: Path) -> None:
        super().__init__(message)
        self.rows = rows
        self.path = path


def part_path(path: Path) -> Path:
    """Where ``path`` is written until it is complete: ``deals.csv.part``."""
    return path.with_name(path.name + ".part")


def summary(view: View, columns: Sequence[Field]) -> str:
    """What an export of ``view`` holds, in words: ``Deals — filter 'Big deals', 9 columns,
    all matching records``."""
    what = resource(view.resource).name.capitalize()
    keys = dict(view.filters)
    kind = next((k for k in ("filter", "stage", "pipeline") if f"{k}_id" in keys), "")
    title = ""
    if view.title and view.title.casefold() != what.casefold():
        title = f" — {kind} '{view.title}'" if kind else f" — '{view.title}'"
    archived = " (archived)" if view.archived and "archived" not in view.title.casefold() else ""
    count = f"{len(columns)} column{'s' if len(columns) != 1 else ''}"
    return f"{what}{title}{archived}, {count}, all matching records"


async def export_view(session: Session, view: View, columns: Sequence[Field], path: str | Path,
                      fmt: Format, progress: Progress | None = None, *,
                      page_size: int = PAGE_SIZE) -> ExportResult:
    """Export every record of ``view`` with ``columns`` to ``path`` (see the module
    docstring); ``progress(rows_written, total_or_None)`` after each page."""
    return await ExportJob(session, view, columns, path, fmt, progress,
                           page_size=page_size).run()


class ExportJob:
    """One export, readable while it runs (a dialog shows ``rows`` after a cancel).

    Attributes:
        view, columns, path, fmt: what is exported where.
        rows: records written so far.
        total: how many records the view holds, when that was cheap to learn (deals of more
            than one page: one ``/deals/summary`` request); None otherwise.
    """

    def __init__(self, session: Session, view: View, columns: Sequence[Field],
                 path: str | Path, fmt: Format, progress: Progress | None = None, *,
                 page_size: int = PAGE_SIZE) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown export format {fmt!r}; use csv or xlsx")
        if not columns:
            raise ValueError("nothing to export: choose at least one column")
        listing = resource(view.resource).listing(archived=view.archived)
        self.session = session
        self.view = view
        self.columns = list(columns)
        self.path = Path(path)
        self.fmt: Format = fmt
        self.rows = 0
        self.total: int | None = None
        self._progress = progress
        self._page_size = max(1, min(page_size, listing.max_page))

    async def run(self) -> ExportResult:
        """Write the file; ``ExportError`` on failure, ``CancelledError`` passes through
        (in both cases after the part file was removed)."""
        with lanes.background():
            return await self._run()

    async def _run(self) -> ExportResult:
        part = part_path(self.path)
        writer: Writer | None = None
        renamed: list[Path] = []  # filled by the rename's thread, even if a cancel came
        try:
            await self.session.fields(self.view.resource)  # custom user/person/org fields
            self._report()
            writer = self._open(part)  # creates a file (and a folder): no wait worth a thread
            await self._copy_pages(writer)
            await _off_loop(writer.close)
            await _off_loop(_rename, part, self.path, renamed)
        except BaseException as exc:
            # A cancel that came while the file was being renamed: the user said stop, so
            # the file goes too (it is complete, but the dialog says nothing was saved).
            await _discard(writer, part, *renamed)
            if isinstance(exc, PipedriveError | OSError | ValueError):
                raise ExportError(self._failure(exc), rows=self.rows, path=self.path) from exc
            raise
        return ExportResult(self.path, self.rows, self.fmt)

    def _open(self, part: Path) -> Writer:
        if self.fmt == "csv":
            return CsvWriter(part, [c.name for c in self.columns])
        return XlsxSheetWriter(part, self.columns, sheet=self.view.title or self.view.resource)

    async def _copy_pages(self, writer: Writer) -> None:
        # The next page (and its names) is read while this one is formatted and written: the
        # network wait and the file work overlap, and at most two pages are in memory.
        ahead: asyncio.Future[Page] | None = asyncio.ensure_future(self._read(None))
        try:
            while ahead is not None:
                page = await ahead
                ahead = None
                if page.more and page.handle is not None:
                    ahead = asyncio.ensure_future(self._read(page.handle))
                    if self.rows == 0:
                        # More than a page: worth a count (while the next page comes).
                        self.total = await cheap_total(self.session.client, self.view)
                if self.fmt == "xlsx" and self.rows + len(page.records) > XLSX_MAX_ROWS:
                    raise ValueError(f"the view holds more than {XLSX_MAX_ROWS:,} records, "
                                     "more than an Excel sheet takes; export it as CSV instead")
                rows: list[list[Cell]] = []
                for at in range(0, len(page.records), _CHUNK):
                    rows += [self._cells(r) for r in page.records[at:at + _CHUNK]]
                    await asyncio.sleep(0)  # a wide page is a few ms of work: let the UI in
                await _off_loop(writer.write_rows, rows)
                self.rows += len(rows)
                self._report()
        finally:
            if ahead is not None:
                ahead.cancel()
                await asyncio.wait([ahead])
                if not ahead.cancelled():
                    ahead.exception()  # retrieved: the error that stopped us is the one told

    async def _read(self, after: PageHandle | None) -> Page:
        """One page of the view (the first, or the one after ``after``) with its names."""
        client, view = self.session.client, self.view
        if after is None:
            page = await client.fetch_page(view.resource, view.filter_params or None,
                                           sort=view.sort, page_size=self._page_size,
                                           archived=view.archived)
        else:
            page = await client.fetch_page(view.resource, page_size=self._page_size,
                                           after=after, archived=view.archived)
        await self.session.names.load_records(view.resource, page.records, self.session.catalog)
        return page

    def _cells(self, record: Mapping[str, Any]) -> list[Cell]:
        names = self.session.names
        if self.fmt == "csv":
            return [cell_text(names, f, record) for f in self.columns]
        return [xlsx_cell(names, f, record) for f in self.columns]

    def _report(self) -> None:
        if self.total is not None and self.rows > self.total:
            self.total = None  # the list grew while it was read: the count no longer holds
        if self._progress is not None:
            self._progress(self.rows, self.total)

    def _failure(self, exc: BaseException) -> str:
        written = f"{self.rows:,} record{'s' if self.rows != 1 else ''} written"
        kept = f"nothing was saved as {self.path.name}"
        if isinstance(exc, FileNotFoundError):
            return (f"Could not write {self.path}: the folder {self.path.parent} does not "
                    f"exist. Choose another folder; {kept}.")
        if isinstance(exc, PermissionError):
            return (f"Could not write {self.path}: permission denied. Choose another folder "
                    f"or file name, or close the file if another program has it open; {kept}.")
        if isinstance(exc, OSError):
            return (f"Could not write {self.path}: {exc.strerror or exc}. Choose another "
                    f"folder or free some disk space; {kept}.")
        return f"Export stopped after {written}: {exc}; {kept}."


async def cheap_total(client: PipedriveClient, view: View) -> int | None:
    """How many records ``view`` lists when one light request says so (``deal_count``);
    None otherwise or if that request fails (the export goes on without a total)."""
    try:
        return await deal_count(client, view)
    except PipedriveError:
        return None


# ---------------------------------------------------------------------- helpers


async def _off_loop(func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` in a worker thread. A cancel does not stop the thread: wait for it to
    end before the cancel goes on, so the cleanup after it never races the file work."""
    future = asyncio.ensure_future(asyncio.to_thread(func, *args))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        if not future.cancelled():
            future.exception()  # retrieved: the cancel is what the caller hears about
        raise


def _rename(part: Path, path: Path, done: list[Path]) -> None:
    os.replace(part, path)
    done.append(path)


async def _discard(writer: Writer | None, *paths: Path) -> None:
    """Remove what a stopped export wrote (shielded: it runs while a cancel unwinds)."""
    def discard() -> None:
        if writer is not None:
            with contextlib.suppress(OSError):
                writer.abort()
        for path in paths:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)

    task = asyncio.ensure_future(asyncio.to_thread(discard))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise
