"""The record table model against the sandbox: pages to the end, columns by name with labels
and names, server-side sort, a failed page's retry row, old generations dropped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt

from explorer.api.config import RetryPolicy
from explorer.core.accounts import Account
from explorer.core.columns import raw_value
from explorer.core.session import Session
from explorer.core.views import View
from explorer.qt.asyncqt import TaskRunner
from explorer.qt.models.record_table import (
    FIRST_PAGE,
    RecordTableModel,
    RowState,
    TableRole,
)
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.config import FaultRule
from explorer.sandbox.store import Store
from tests.qt.conftest import until

DEALS = View("deals", "Deals")
_H = Qt.Orientation.Horizontal


async def loaded(model: RecordTableModel, rows: int | None = None) -> None:
    """Wait until no page is loading (and ``rows`` records are there, if given)."""
    await until(lambda: model.row_state(model.rowCount() - 1) != RowState.LOADING
                and model.loaded_rows() > 0 and (rows is None or model.loaded_rows() == rows))


async def to_the_end(model: RecordTableModel) -> None:
    await loaded(model)  # a page may be under way (the model tester fetches more)
    while model.canFetchMore():
        before = model.loaded_rows()
        model.fetchMore()
        await until(lambda before=before: model.loaded_rows() > before  # type: ignore[misc]
                    or model.row_state(model.rowCount() - 1) == RowState.ERROR)
        await loaded(model)


def column(model: RecordTableModel, key: str) -> int:
    return [f.key for f in model.columns].index(key)


@pytest.fixture
async def model(session: Session, runner: TaskRunner) -> AsyncIterator[RecordTableModel]:
    yield RecordTableModel(session, runner)


async def test_first_page_then_every_page_to_the_end(model: RecordTableModel, session: Session,
                                                     qtmodeltester: Any) -> None:
    first: list[int] = []
    model.first_page.connect(first.append)
    model.set_view(DEALS)
    assert model.row_state(0) == RowState.LOADING  # at once, before any answer
    await loaded(model)
    assert first == [FIRST_PAGE] and model.loaded_rows() == FIRST_PAGE
    qtmodeltester.check(model)
    await to_the_end(model)
    expected = [d["id"] async for d in session.client.iterate("deals")]
    ids = [model.index(r, 0).data(TableRole.RecordIdRole) for r in range(model.rowCount())]
    assert ids == expected and len(expected) > 500  # more than one later page
    assert not model.canFetchMore()
    qtmodeltester.check(model)


async def test_custom_fields_by_name_with_option_labels(model: RecordTableModel,
                                                        session: Session) -> None:
    fields = await session.fields("deals")
    source = next(f for f in fields if f.is_custom and f.type == "enum" and f.options)
    model.set_view(DEALS)
    await loaded(model)
    model.set_columns([f for f in model.fields if f.key in ("title", source.key)])
    assert model.headerData(1, _H) == source.name
    row = next(r for r in range(model.loaded_rows())
               if raw_value(model.record(r) or {}, source) is not None)
    option = raw_value(model.record(row) or {}, source)
    label = next(o.label for o in source.options if o.id == option)
    assert model.text(row, 1) == label


async def test_names_instead_of_ids_once_they_arrive(model: RecordTableModel,
                                                     session: Session) -> None:
    model.set_view(DEALS)
    await loaded(model)
    records = [model.record(r) or {} for r in range(model.loaded_rows())]
    row = next(r for r, d in enumerate(records) if d.get("person_id") and d.get("org_id"))
    deal = await session.client.get("deals", model.record_id(row))
    assert isinstance(deal, dict)
    person = await session.client.get("persons", deal["person_id"])
    org = await session.client.get("organizations", deal["org_id"])
    users = (await session.client.request("GET", "v1", "/users")).data
    owner = next(u["name"] for u in users if u["id"] == deal["owner_id"])
    stage = (await session.client.request("GET", "v2", f"/stages/{deal['stage_id']}")).data
    expected = {"person_id": person["name"], "org_id": org["name"], "owner_id": owner,
                "stage_id": stage["name"]}
    stage_text = stage["name"]  # the stage field's label is "<pipeline>: <stage>"
    del expected["stage_id"]
    await until(lambda: all(model.text(row, column(model, k)) == v for k, v in expected.items())
                and model.text(row, column(model, "stage_id")).endswith(stage_text))


async def test_a_header_sorts_on_the_server(model: RecordTableModel, session: Session) -> None:
    model.set_view(DEALS)
    await loaded(model)
    update = column(model, "update_time")
    title = column(model, "title")
    assert model.headerData(update, _H, TableRole.SortableRole)
    assert not model.headerData(title, _H, TableRole.SortableRole)
    assert "cannot sort" in model.headerData(title, _H, Qt.ItemDataRole.ToolTipRole)
    for order, direction in ((Qt.SortOrder.AscendingOrder, "asc"),
                             (Qt.SortOrder.DescendingOrder, "desc")):
        model.sort(update, order)
        page = await session.client.fetch_page("deals", sort=f"update_time {direction}",
                                               page_size=FIRST_PAGE)
        expected = [d["id"] for d in page.records]
        await until(lambda expected=expected: model.loaded_rows() == FIRST_PAGE and [
            model.record_id(r) for r in range(FIRST_PAGE)] == expected)  # type: ignore[misc]
        assert model.view is not None and model.view.sort == f"update_time {direction}"
    before = [model.record_id(r) for r in range(FIRST_PAGE)]
    model.sort(title, Qt.SortOrder.AscendingOrder)  # not sortable: nothing happens
    assert [model.record_id(r) for r in range(FIRST_PAGE)] == before


@pytest.fixture
async def no_retry_session(app: SandboxApp, account: Account) -> AsyncIterator[Session]:
    s = Session.connect(account, DEFAULT_TOKEN, transport=httpx.ASGITransport(app=app),
                        retry=RetryPolicy.never())
    yield s
    await s.close()


async def test_a_failed_page_is_an_error_row_that_retries(no_retry_session: Session,
                                                          runner: TaskRunner,
                                                          app: SandboxApp) -> None:
    model = RecordTableModel(no_retry_session, runner)
    failures: list[str] = []
    model.load_failed.connect(failures.append)
    model.set_view(DEALS)
    await loaded(model, FIRST_PAGE)
    app.state.faults.add(FaultRule("error_500", count=1, method="GET", path="/api/v2/deals"))
    model.fetchMore()
    tail = FIRST_PAGE
    await until(lambda: model.row_state(tail) == RowState.ERROR)
    text = model.text(tail, 0)
    assert text.startswith("Could not load more Deals — ") and text.endswith("Click to retry")
    assert failures == [text] and not model.canFetchMore()
    model.retry()
    await until(lambda: model.loaded_rows() > FIRST_PAGE)
    await loaded(model)
    expected = [d["id"] async for d in no_retry_session.client.iterate("deals")]
    assert [model.record_id(r) for r in range(model.loaded_rows())] == \
        expected[:model.loaded_rows()]


async def test_a_failed_first_page_retries_from_the_start(no_retry_session: Session,
                                                          runner: TaskRunner,
                                                          app: SandboxApp) -> None:
    model = RecordTableModel(no_retry_session, runner)
    app.state.faults.add(FaultRule("error_500", count=1, method="GET", path="/api/v2/deals"))
    model.set_view(DEALS)
    await until(lambda: model.row_state(0) == RowState.ERROR)
    assert model.text(0, 0).startswith("Could not load Deals — ")
    model.retry()
    await loaded(model, FIRST_PAGE)


async def test_a_view_change_drops_the_old_views_results(model: RecordTableModel,
                                                         session: Session,
                                                         app: SandboxApp) -> None:
    app.state.faults.add(FaultRule("latency", count=1, method="GET", path="/api/v2/deals",
                                   latency_ms=300))
    model.set_view(DEALS)
    await asyncio.sleep(0.05)  # the deals page is under way
    model.set_view(View("persons", "Persons"))
    await loaded(model, FIRST_PAGE)
    await asyncio.sleep(0.4)  # past the deals page's answer
    page = await session.client.fetch_page("persons", page_size=FIRST_PAGE)
    assert model.view is not None and model.view.resource == "persons"
    assert [model.record_id(r) for r in range(model.rowCount())] == [
        p["id"] for p in page.records]


@pytest.mark.parametrize(("resource", "keys"), [
    ("notes", {"content", "deal_id", "person_id", "org_id", "user_id"}),
    ("users", {"name", "email"}),
])
async def test_columns_from_record_keys_without_field_metadata(
        model: RecordTableModel, session: Session, resource: str, keys: set[str]) -> None:
    model.set_view(View(resource))
    await loaded(model)
    assert keys <= {f.key for f in model.columns}
    first = (await session.client.fetch_page(resource, page_size=1)).records[0]
    assert model.record(0) == first


async def test_fields_that_failed_load_again_on_refresh(model: RecordTableModel,
                                                        session: Session, app: SandboxApp,
                                                        store: Store,
                                                        qtmodeltester: Any) -> None:
    custom = [f["name"] for f in store.select("fields")
              if f["entity"] == "deal" and f["is_custom"]]
    assert custom
    rule = app.state.faults.add(FaultRule("error_500", count=3, method="GET",
                                          path="*dealFields*"))
    failures: list[str] = []
    model.load_failed.connect(failures.append)
    model.set_view(DEALS)
    await until(lambda: model.loaded_rows() == FIRST_PAGE)
    # The rows show, with raw columns, and the tail row says why and offers the retry.
    tail = model.rowCount() - 1
    assert tail == FIRST_PAGE and model.row_state(tail) == RowState.ERROR
    text = model.text(tail, 0)
    assert text.startswith("Could not load the field names of Deals — ")
    assert "raw keys" in text and text.endswith("Click to retry") and failures == [text]
    assert not {f.name for f in model.fields} & set(custom)
    assert not model.canFetchMore()
    app.state.faults.remove(rule)
    model.refresh()
    await until(lambda: {f.name for f in model.fields} >= set(custom))
    await loaded(model, FIRST_PAGE)
    assert model.rowCount() == FIRST_PAGE  # no error row any more
    shown = [f.name for f in model.fields if f.is_custom]
    assert sorted(shown) == sorted(custom)
    model.set_columns([f for f in model.fields if f.name == custom[0]])
    assert model.headerData(0, _H) == custom[0]
    assert model.canFetchMore()
    qtmodeltester.check(model)


async def test_clicking_the_fields_error_row_loads_them_again(model: RecordTableModel,
                                                             app: SandboxApp,
                                                             store: Store) -> None:
    rule = app.state.faults.add(FaultRule("error_500", count=3, method="GET",
                                          path="*dealFields*"))
    model.set_view(DEALS)
    await until(lambda: model.loaded_rows() == FIRST_PAGE
                and model.row_state(FIRST_PAGE) == RowState.ERROR)
    app.state.faults.remove(rule)
    model.retry()
    custom = {f["key"] for f in store.select("fields")
              if f["entity"] == "deal" and f["is_custom"]}
    await until(lambda: custom <= {f.key for f in model.fields if f.is_custom})
    await loaded(model, FIRST_PAGE)
    assert model.rowCount() == FIRST_PAGE
