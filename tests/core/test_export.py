"""Export of a view to CSV and XLSX against the sandbox: every record a saved filter selects
(decided in plain Python by ``filters_reference``, not by the export or the sandbox's SQL),
custom fields under their names with option labels, no file left by a cancel or a failure,
every request in the background lane."""

from __future__ import annotations

import asyncio
import csv
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from explorer.api import Field, lanes
from explorer.api.config import Backoff, RetryPolicy, RetryServerErrors
from explorer.api.errors import ServerError
from explorer.core.accounts import Account
from explorer.core.columns import default_columns
from explorer.core.export import ExportError, ExportJob, export_view, part_path
from explorer.core.export_writers import csv_text
from explorer.core.session import Session
from explorer.core.views import View
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.config import FaultRule
from tests.conftest import BASE_URL
from tests.sandbox.filters_reference import filter_matches

ID = Field("deals", "id", "ID", "int", False, False)
DEAL_SOURCE = "Deal source"  # demo custom fields (explorer/sandbox/demo_fields.py)
PRODUCTS_OF_INTEREST = "Products of interest"
OPEN_IN_SALES = 1  # demo saved filter "Open deals in Sales pipeline"
BIG_DEALS = 3  # demo saved filter "Big deals over 50k"


class LaneLog(httpx.AsyncBaseTransport):
    """The sandbox's transport, noting each request's path and the lane it was sent in."""

    def __init__(self, app: SandboxApp) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self.seen: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.url.path, lanes.current()))
        return await self._inner.handle_async_request(request)


@pytest.fixture
def lane_log(app: SandboxApp) -> LaneLog:
    return LaneLog(app)


@pytest.fixture
async def session(lane_log: LaneLog) -> AsyncIterator[Session]:
    account = Account(name="Sandbox test", base_url=BASE_URL, kind="sandbox", colour="#8250df")
    # Three tries with no wait between them: a fault of three 500s exhausts them quickly.
    retry = RetryPolicy((RetryServerErrors(attempts=3, backoff=Backoff(base=0.0)),))
    s = Session.connect(account, DEFAULT_TOKEN, transport=lane_log, retry=retry)
    yield s
    await s.close()


@pytest.fixture
async def raw(app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client on the sandbox, for expected values the export cannot influence."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL,
                                 headers={"x-api-token": DEFAULT_TOKEN}) as c:
        yield c


async def all_deals(raw: httpx.AsyncClient) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        body = (await raw.get("/api/v2/deals", params=params)).json()
        records += body["data"]
        cursor = body["additional_data"].get("next_cursor")
        if not cursor:
            return records


async def deal_fields(raw: httpx.AsyncClient) -> list[dict[str, Any]]:
    body = (await raw.get("/api/v2/dealFields", params={"limit": 500})).json()
    return list(body["data"])


async def expected_ids(raw: httpx.AsyncClient, filter_id: int) -> set[int]:
    saved = (await raw.get(f"/api/v1/filters/{filter_id}",
                           params={"include_field_code": "true"})).json()["data"]
    types = {f["field_code"]: f["field_type"] for f in await deal_fields(raw)}
    return {r["id"] for r in await all_deals(raw) if filter_matches(r, saved["conditions"], types)}


def names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def read_xlsx(path: Path) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return [tuple(row) for row in book.active.iter_rows(values_only=True)]
    finally:
        book.close()


async def columns(session: Session, *names: str) -> list[Field]:
    fields = list(await session.fields("deals"))
    chosen = [ID, *default_columns("deals", fields)]
    return chosen + [f for n in names for f in fields if f.name == n]


async def test_a_saved_filter_exports_every_matching_record_to_csv(
        session: Session, raw: httpx.AsyncClient, tmp_path: Path) -> None:
    expected = await expected_ids(raw, OPEN_IN_SALES)
    assert len(expected) > 100, "the demo filter spans several pages of 50"
    cols = await columns(session)
    seen: list[tuple[int, int | None]] = []
    view = View("deals", "Open deals in Sales pipeline", (("filter_id", OPEN_IN_SALES),))
    target = tmp_path / "open deals.csv"
    result = await export_view(session, view, cols, target, "csv",
                               lambda rows, total: seen.append((rows, total)), page_size=50)
    assert result.path == target and result.rows == len(expected) and result.fmt == "csv"
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads UTF-8
    header, *rows = read_csv(target)
    assert header == [c.name for c in cols]
    ids = [int(r[0]) for r in rows]
    assert len(ids) == len(set(ids)) and set(ids) == expected
    assert seen[-1] == (len(expected), len(expected))  # deals: the total is known up front
    assert [r for r, _ in seen] == sorted(r for r, _ in seen) and len(seen) > 3
    assert not part_path(target).exists()


async def test_the_xlsx_has_the_same_rows_numbers_as_numbers_and_a_frozen_bold_header(
        session: Session, raw: httpx.AsyncClient, tmp_path: Path) -> None:
    expected = await expected_ids(raw, BIG_DEALS)
    cols = await columns(session)
    view = View("deals", "Big deals over 50k", (("filter_id", BIG_DEALS),), sort="id desc")
    target = tmp_path / "big.xlsx"
    result = await export_view(session, view, cols, target, "xlsx", page_size=30)
    assert result.rows == len(expected)
    header, *rows = read_xlsx(target)
    assert list(header) == [c.name for c in cols]
    assert {r[0] for r in rows} == expected and len(rows) == len(expected)
    value = [c.name for c in cols].index("Value")
    amounts = [r[value] for r in rows]
    assert all(isinstance(a, int | float) and a > 50_000 for a in amounts)  # the filter's rule
    ids = [r[0] for r in rows]
    assert ids == sorted(ids, reverse=True)  # the view's sort, across pages
    book = openpyxl.load_workbook(target)
    sheet = book.active
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.b
    by_id = {r["id"]: r for r in await all_deals(raw)}
    first = by_id[sheet.cell(2, 1).value]
    assert first["currency"] in sheet.cell(2, value + 1).number_format  # money with currency
    book.close()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_custom_fields_appear_under_their_names_with_option_labels(
        session: Session, raw: httpx.AsyncClient, tmp_path: Path, fmt: str) -> None:
    spec = {f["field_name"]: f for f in await deal_fields(raw)}
    labels = {name: {o["id"]: o["label"] for o in spec[name]["options"]}
              for name in (DEAL_SOURCE, PRODUCTS_OF_INTEREST)}
    cols = await columns(session, DEAL_SOURCE, PRODUCTS_OF_INTEREST)
    target = tmp_path / f"deals.{fmt}"
    await export_view(session, View("deals", "Deals"), cols, target, fmt)  # type: ignore[arg-type]
    header, *rows = read_csv(target) if fmt == "csv" else read_xlsx(target)
    source, interest = header.index(DEAL_SOURCE), header.index(PRODUCTS_OF_INTEREST)
    records = {r["id"]: r["custom_fields"] for r in await all_deals(raw)}
    assert len(rows) == len(records)
    checked = 0
    for row in rows:
        custom = records[int(row[0])]
        chosen = custom[spec[DEAL_SOURCE]["field_code"]]
        several = custom[spec[PRODUCTS_OF_INTEREST]["field_code"]] or []
        assert (row[source] or "") == (labels[DEAL_SOURCE][chosen] if chosen else "")
        assert sorted(filter(None, (row[interest] or "").split(", "))) == sorted(
            labels[PRODUCTS_OF_INTEREST][o] for o in several)
        checked += bool(chosen) and bool(several)
    assert checked > 10, "the demo data fills both fields on many deals"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_a_cancel_mid_way_leaves_no_file_and_no_part(
        session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where XlsxWriter keeps its rows
    target = tmp_path / f"deals.{fmt}"
    cols = await columns(session)
    holder: list[asyncio.Task[Any]] = []

    def progress(rows: int, total: int | None) -> None:
        if rows >= 100:
            assert part_path(target).exists()
            holder[0].cancel()

    job = ExportJob(session, View("deals", "Deals"), cols, target, fmt,  # type: ignore[arg-type]
                    progress, page_size=50)
    holder.append(asyncio.ensure_future(job.run()))
    with pytest.raises(asyncio.CancelledError):
        await holder[0]
    assert job.rows == 100  # what the dialog reports: written, then discarded
    assert not target.exists() and not part_path(target).exists()
    assert names_in(tmp_path) == ["scratch"] and names_in(scratch) == []


async def test_a_failing_page_leaves_no_file_and_says_how_far_it_got(
        session: Session, app: SandboxApp, tmp_path: Path) -> None:
    target = tmp_path / "deals.csv"
    cols = await columns(session)
    reported: list[int] = []

    def progress(rows: int, total: int | None) -> None:
        reported.append(rows)
        if rows == 50:  # a later page fails on every try the client makes
            app.state.faults.add(FaultRule(kind="error_500", count=3, method="GET",
                                           path="/api/v2/deals"))

    with pytest.raises(ExportError) as failed:
        await export_view(session, View("deals", "Deals"), cols, target, "csv", progress,
                          page_size=50)
    # The page after the first may have been asked for before the fault was set.
    written = reported[-1]
    assert written in (50, 100) and failed.value.rows == written
    assert isinstance(failed.value.__cause__, ServerError)
    assert f"{written} records written" in str(failed.value)
    assert target.name in str(failed.value)
    assert app.state.faults.rules() == []  # all three tries were made
    assert names_in(tmp_path) == []


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_an_unwritable_place_is_a_clear_error_before_any_record_is_read(
        session: Session, lane_log: LaneLog, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / "no such folder" / f"deals.{fmt}"
    cols = await columns(session)
    before = len(lane_log.seen)
    with pytest.raises(ExportError) as failed:
        await export_view(session, View("deals", "Deals"), cols, target, fmt)  # type: ignore[arg-type]
    assert "/api/v2/deals" not in [path for path, _ in lane_log.seen[before:]]
    assert str(target) in str(failed.value) and "does not exist" in str(failed.value)
    assert failed.value.rows == 0


async def test_every_export_request_goes_in_the_background_lane(
        session: Session, lane_log: LaneLog, tmp_path: Path) -> None:
    cols = await columns(session)  # loads the fields first, in the default lane
    before = len(lane_log.seen)
    await export_view(session, View("deals", "Deals"), cols, tmp_path / "d.xlsx", "xlsx",
                      page_size=200)
    during = lane_log.seen[before:]
    assert sum(path == "/api/v2/deals" for path, _ in during) == 5  # 816 deals, 200 a page
    assert {lane for _, lane in during} == {"background"}
    assert lanes.current() == "interactive"  # the caller's lane is untouched
    assert sum(path == "/api/v1/deals/summary" for path, _ in during) == 1  # the total


async def test_a_one_page_export_asks_for_no_count(
        session: Session, lane_log: LaneLog, raw: httpx.AsyncClient, tmp_path: Path) -> None:
    cols = await columns(session)
    before = len(lane_log.seen)
    seen: list[tuple[int, int | None]] = []
    result = await export_view(session, View("deals", "Big", (("filter_id", BIG_DEALS),)), cols,
                               tmp_path / "big.csv", "csv", lambda *a: seen.append(a))
    assert result.rows == len(await expected_ids(raw, BIG_DEALS)) < 500
    paths = [path for path, _ in lane_log.seen[before:]]
    assert paths.count("/api/v2/deals") == 1 and "/api/v1/deals/summary" not in paths
    assert seen[-1] == (result.rows, None)


async def test_archived_leads_over_v1_offset_pages(
        session: Session, raw: httpx.AsyncClient, tmp_path: Path) -> None:
    expected: set[str] = set()
    start = 0
    while True:
        body = (await raw.get("/api/v1/leads/archived",
                              params={"start": start, "limit": 500})).json()
        expected |= {r["id"] for r in body["data"]}
        page = body["additional_data"]["pagination"]
        if not page["more_items_in_collection"]:
            break
        start = page["next_start"]
    assert len(expected) > 20
    fields = [Field("leads", "id", "ID", "varchar", False, False),
              *default_columns("leads", await session.fields("leads"))]
    target = tmp_path / "archived leads.csv"
    seen: list[int | None] = []
    result = await export_view(session, View("leads", "Archived leads", archived=True), fields,
                               target, "csv", lambda rows, total: seen.append(total),
                               page_size=20)
    _header, *rows = read_csv(target)
    assert {r[0] for r in rows} == expected and result.rows == len(rows) == len(expected)
    assert set(seen) == {None}  # no cheap count for leads: progress without a total


def test_text_excel_would_run_as_a_formula_is_quoted() -> None:
    assert csv_text("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert csv_text("@SUM(A1)") == "'@SUM(A1)"
    assert csv_text("-cmd") == "'-cmd"
    assert csv_text("+49 30 123456") == "+49 30 123456"  # a phone number stays as it is
    assert csv_text("-5") == "-5" and csv_text("Acme") == "Acme" and csv_text("") == ""
