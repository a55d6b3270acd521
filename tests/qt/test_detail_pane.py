"""The detail pane against the sandbox: grouped fields with custom fields by name and option
labels, hide-empty, related tabs, links and back / forward, the History tab, a failed tab.

Expected values come from the sandbox store (its records, its field definitions, its
changelog), never from the code under test.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from PySide6.QtCore import QAbstractItemModel, QItemSelectionModel, QModelIndex, Qt
from PySide6.QtWidgets import QToolButton
from pytestqt.qtbot import QtBot

from explorer.core.session import Session
from explorer.qt.asyncqt import TaskRunner
from explorer.qt.models.history import HistoryModel
from explorer.qt.models.related import RelatedModel
from explorer.qt.widgets.detail_pane import DetailPane
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.config import FaultRule
from explorer.sandbox.store import Store
from tests.conftest import BASE_URL
from tests.qt.conftest import until


def store_fields(store: Store, entity: str) -> list[dict[str, Any]]:
    return [f for f in store.select("fields") if f["entity"] == entity]


def custom(store: Store, entity: str, name: str) -> dict[str, Any]:
    return next(f for f in store_fields(store, entity) if f["is_custom"] and f["name"] == name)


def label(field: dict[str, Any], option_id: Any) -> str:
    return next(o["label"] for o in field["options"] if o["id"] == option_id)


def a_deal(store: Store) -> dict[str, Any]:
    """A deal with a person, a "Deal source" option and several "Products of interest"."""
    source = custom(store, "deal", "Deal source")["key"]
    products = custom(store, "deal", "Products of interest")["key"]
    return next(d for d in store.select("deals")
                if d.get("person_id") and not d.get("is_archived")
                and d["custom_fields"].get(source) is not None
                and len(d["custom_fields"].get(products) or []) > 1)


@pytest.fixture
async def pane(session: Session, runner: TaskRunner, qtbot: QtBot) -> DetailPane:
    await session.fields("deals")  # as the table has done by the time a row is selected
    widget = DetailPane(session, runner)
    qtbot.addWidget(widget)
    widget.resize(900, 900)
    widget.show()
    return widget


async def shown(pane: DetailPane, resource: str, record_id: Any) -> None:
    await until(lambda: pane.current() == (resource, record_id)
                and pane.record is not None and pane.record.get("id") == record_id
                and pane._loader.record_ready(pane.history.current))  # type: ignore[arg-type]


async def tab_rows(pane: DetailPane, key: str) -> Any:
    pane.select_tab(key)
    tab = pane.tab(key)
    assert tab is not None
    place = pane.history.current
    assert place is not None
    await until(lambda: tab.state == "error"
                or (tab.state in ("rows", "empty") and tab.loaded_for == place.key))
    return tab


async def test_custom_fields_by_name_with_option_labels(pane: DetailPane, store: Store,
                                                        qtmodeltester: Any) -> None:
    deal = a_deal(store)
    pane.show_record("deals", deal["id"], None)
    await shown(pane, "deals", deal["id"])
    model = pane.fields_model
    qtmodeltester.check(model)
    source = custom(store, "deal", "Deal source")
    products = custom(store, "deal", "Products of interest")
    assert model.text_of("Deal source") == label(source, deal["custom_fields"][source["key"]])
    assert model.text_of("Products of interest") == ", ".join(
        label(products, i) for i in deal["custom_fields"][products["key"]])
    assert [r.field.name for r in model.rows("Custom fields")] == [
        f["name"] for f in store_fields(store, "deal") if f["is_custom"]]
    person = store.get("persons", deal["person_id"])
    assert person is not None
    assert model.text_of("Contact person") == person["name"]
    assert model.groups()[:2] == ["Summary", "Custom fields"]
    assert pane.title.text() == deal["title"]
    assert model.text_of("Title") is None  # the heading, not a row repeating it


async def test_hide_empty_hides_exactly_the_empty_fields(pane: DetailPane, store: Store,
                                                         qtmodeltester: Any) -> None:
    deal = a_deal(store)
    pane.show_record("deals", deal["id"], deal)
    await shown(pane, "deals", deal["id"])
    model = pane.fields_model
    before = {r.field.name for r in model.rows()}
    pane.hide_empty.setChecked(True)
    qtmodeltester.check(model)
    after = {r.field.name for r in model.rows()}
    names = {f["key"]: f["name"] for f in store_fields(store, "deal")}
    empty_custom = {names[k] for k, v in deal["custom_fields"].items() if v in (None, "", [])}
    set_custom = {names[k] for k, v in deal["custom_fields"].items() if v not in (None, "", [])}
    assert empty_custom and empty_custom.isdisjoint(after)
    assert set_custom <= after
    empty_builtin = {names[k] for k, v in deal.items() if k in names and v in (None, "", [])}
    assert empty_builtin and empty_builtin.isdisjoint(after)
    assert {"Value", "Stage", "Owner"} <= after
    assert after == {r.field.name for r in model.rows() if r.text}
    assert before - after == {n for n in before if model.text_of(n) is None}
    pane.hide_empty.setChecked(False)
    assert {r.field.name for r in model.rows()} == before


async def test_follow_the_person_link_then_back_and_forward(pane: DetailPane, store: Store,
                                                            qtbot: QtBot) -> None:
    deal = a_deal(store)
    person = store.get("persons", deal["person_id"])
    assert person is not None
    went: list[tuple[str, Any]] = []
    pane.navigated.connect(lambda r, i: went.append((r, i)))
    pane.show_record("deals", deal["id"], deal)
    await shown(pane, "deals", deal["id"])
    await tab_rows(pane, "activities")  # the place to come back to
    view, model = pane.fields_view, pane.fields_model
    summary = model.index(0, 0)
    row = next(n for n in range(model.rowCount(summary))
               if model.index(n, 0, summary).data() == "Contact person")
    cell = model.index(row, 1, summary)
    view.scrollTo(cell)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.visualRect(cell).center())
    await shown(pane, "persons", person["id"])
    assert pane.record is not None and pane.record["name"] == person["name"]
    assert went == [("persons", person["id"])]
    assert pane.breadcrumbs.labels() == ["Deals", deal["title"], person["name"]]

    assert pane.back_action.isEnabled() and not pane.forward_action.isEnabled()
    pane.back_action.trigger()
    await shown(pane, "deals", deal["id"])
    assert pane.current_tab() is pane.tab("activities")
    assert pane.breadcrumbs.labels() == ["Deals", deal["title"]]
    assert pane.title.text() == deal["title"]
    pane.forward_action.trigger()
    await shown(pane, "persons", person["id"])
    assert went[-2:] == [("deals", deal["id"]), ("persons", person["id"])]
    # The window selecting the record the pane went to adds no step.
    pane.show_record("persons", person["id"], person)
    assert pane.history.index == 1 and len(pane.history.places) == 2
    # Crumbs: the deal's goes back to it, the resource's asks for the list.
    asked: list[str] = []
    pane.resource_requested.connect(asked.append)
    qtbot.mouseClick(pane.breadcrumbs.findChild(QToolButton, "crumb0"),
                     Qt.MouseButton.LeftButton)
    assert asked == ["deals"]
    qtbot.mouseClick(pane.breadcrumbs.findChild(QToolButton, "crumb1"),
                     Qt.MouseButton.LeftButton)
    await shown(pane, "deals", deal["id"])
    assert pane.forward_action.isEnabled()


async def test_a_persons_deals_tab_lists_exactly_their_deals(pane: DetailPane, store: Store,
                                                             qtmodeltester: Any) -> None:
    deals = store.select("deals")
    person_id = next(d["person_id"] for d in deals if d.get("is_archived") and any(
        o["person_id"] == d["person_id"] and not o["is_archived"] for o in deals))
    expected = {d["id"]: d["title"] for d in deals  # the archived ones too
                if d.get("person_id") == person_id}
    deal = next(d for d in deals if d["id"] in expected)
    pane.show_record("persons", person_id, None)
    await shown(pane, "persons", person_id)
    tab = await tab_rows(pane, "deals")
    model = tab.view.model()
    assert isinstance(model, RelatedModel)
    qtmodeltester.check(model)
    assert {r["id"]: r["title"] for r in model.records} == expected
    assert pane.tabs.tabText(pane.tabs.indexOf(tab)) == f"Deals ({len(expected)})"
    # Activating a row goes to that deal.
    row = next(n for n in range(model.rowCount()) if model.records[n]["id"] == deal["id"])
    tab.view.activated.emit(model.index(row, 0))
    await shown(pane, "deals", deal["id"])


async def test_a_deals_person_tab_navigates_to_the_person(pane: DetailPane, store: Store) -> None:
    deal = a_deal(store)
    person = store.get("persons", deal["person_id"])
    assert person is not None
    pane.show_record("deals", deal["id"], deal)
    await shown(pane, "deals", deal["id"])
    tab = await tab_rows(pane, "person")
    model = tab.view.model()
    assert isinstance(model, RelatedModel) and model.text(0, 0) == person["name"]
    tab.view.activated.emit(model.index(0, 0))
    await shown(pane, "persons", person["id"])
    pane.back()
    await shown(pane, "deals", deal["id"])
    assert pane.current_tab() is pane.tab("person")


async def test_history_shows_an_edit_made_through_the_api(pane: DetailPane, session: Session,
                                                          store: Store,
                                                          qtmodeltester: Any) -> None:
    deal = a_deal(store)
    source = custom(store, "deal", "Deal source")
    old = deal["custom_fields"][source["key"]]
    new = next(o["id"] for o in source["options"] if o["id"] != old)
    await session.client.update("deals", deal["id"], {"custom_fields": {source["key"]: new}})
    pane.show_record("deals", deal["id"], deal)
    await shown(pane, "deals", deal["id"])
    assert pane.fields_model.text_of("Deal source") == label(source, new)  # the fresh GET
    tab = await tab_rows(pane, "history")
    model = tab.view.model()
    assert isinstance(model, HistoryModel), (tab.state, tab.message.text())
    qtmodeltester.check(model)
    newest = model.rows[0]
    logged = store.changelog("deals", deal["id"], limit=1000)[-1]
    actor = store.get("users", logged["actor_user_id"])
    assert actor is not None
    assert (newest.field, newest.old, newest.new, newest.who) == (
        "Deal source", label(source, old), label(source, new), actor["name"])
    assert [r.time for r in model.rows] == sorted((r.time for r in model.rows), reverse=True)


async def test_a_failed_related_load_shows_a_message_and_retries(
        pane: DetailPane, app: SandboxApp, store: Store, qtbot: QtBot) -> None:
    deal = a_deal(store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL,
                                 headers={"x-api-token": DEFAULT_TOKEN}) as admin:
        added = await admin.post("/_sandbox/faults", json={
            "kind": "error_500", "count": 3, "path": "/api/v2/activities"})
        added.raise_for_status()
    pane.show_record("deals", deal["id"], deal)
    await shown(pane, "deals", deal["id"])
    tab = await tab_rows(pane, "activities")
    assert tab.state == "error"
    assert "activities" in tab.message.text() and "500" in tab.message.text()
    assert tab.retry_button.isVisible()
    qtbot.mouseClick(tab.retry_button, Qt.MouseButton.LeftButton)
    await until(lambda: tab.state in ("rows", "empty"))
    expected = {a["id"] for a in store.select("activities") if a.get("deal_id") == deal["id"]}
    model = tab.view.model()
    rows = {r["id"] for r in model.records} if isinstance(model, RelatedModel) else set()
    assert rows == expected


async def test_a_lead_shows_its_custom_values_and_notes(pane: DetailPane, store: Store) -> None:
    lead = next(x for x in store.select("leads") if x.get("person_id")
                and any(n.get("lead_id") == x["id"] for n in store.select("notes")))
    pane.show_record("leads", lead["id"], None)
    await shown(pane, "leads", lead["id"])
    assert pane.title.text() == lead["title"]
    tab = await tab_rows(pane, "notes")
    model = tab.view.model()
    assert isinstance(model, RelatedModel)
    assert {r["id"] for r in model.records} == {
        n["id"] for n in store.select("notes") if n.get("lead_id") == lead["id"]}
    assert pane.tab("history") is None  # leads have no changelog
    assert isinstance(QModelIndex(), QModelIndex)


async def test_a_deals_products_and_followers_tabs_list_the_stores(pane: DetailPane,
                                                                    store: Store,
                                                                    qtmodeltester: Any) -> None:
    deal = next(d for d in store.select("deals") if not d.get("is_archived")
                and sum(p["deal_id"] == d["id"] for p in store.select("deal_products")) > 1)
    pane.show_record("deals", deal["id"], deal)
    await shown(pane, "deals", deal["id"])
    tab = await tab_rows(pane, "products")
    model = tab.view.model()
    assert isinstance(model, RelatedModel)
    qtmodeltester.check(model)
    expected = [p for p in store.select("deal_products") if p["deal_id"] == deal["id"]]
    assert sorted(r["id"] for r in model.records) == sorted(p["id"] for p in expected)
    assert pane.tabs.tabText(pane.tabs.indexOf(tab)) == f"Products ({len(expected)})"
    tab = await tab_rows(pane, "followers")
    model = tab.view.model()
    assert isinstance(model, RelatedModel)
    followers = [f["user_id"] for f in store.select("followers")
                 if f["entity"] == "deal" and f["item_id"] == deal["id"]]
    users = {u["id"]: u["name"] for u in store.select("users")}
    assert sorted(model.text(n, 0) for n in range(model.rowCount())) == sorted(
        users[u] for u in followers)


async def test_enter_on_a_link_row_follows_it(pane: DetailPane, store: Store,
                                              qtbot: QtBot) -> None:
    deal = a_deal(store)
    pane.show_record("deals", deal["id"], deal)
    await shown(pane, "deals", deal["id"])
    model, view = pane.fields_model, pane.fields_view
    summary = model.index(0, 0)
    row = next(n for n in range(model.rowCount(summary))
               if model.index(n, 0, summary).data() == "Organization")
    view.setFocus()
    view.setCurrentIndex(model.index(row, 0, summary))
    qtbot.keyClick(view, Qt.Key.Key_Return)
    await shown(pane, "organizations", deal["org_id"])
    org = store.get("organizations", deal["org_id"])
    assert org is not None and pane.title.text() == org["name"]
    tab = await tab_rows(pane, "persons")
    assert tab.state in ("rows", "empty")


async def test_load_more_goes_on_until_every_related_record_is_listed(
        pane: DetailPane, store: Store, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    from explorer.qt.widgets import detail_loader
    monkeypatch.setattr(detail_loader, "PAGE_SIZE", 2)
    deals = store.select("deals")
    counts: dict[int, int] = {}
    for d in deals:
        if d.get("person_id"):
            counts[d["person_id"]] = counts.get(d["person_id"], 0) + 1
    person_id = max(counts, key=lambda p: counts[p])
    expected = {d["id"] for d in deals if d.get("person_id") == person_id}
    assert len(expected) > 4
    pane.show_record("persons", person_id, None)
    await shown(pane, "persons", person_id)
    tab = await tab_rows(pane, "deals")
    model = tab.view.model()
    assert isinstance(model, RelatedModel) and model.more
    assert pane.tabs.tabText(pane.tabs.indexOf(tab)).endswith("+)")
    for _ in range(len(expected)):
        if not model.more:
            break
        rows = model.rowCount()
        qtbot.mouseClick(tab.more_button, Qt.MouseButton.LeftButton)
        await until(lambda n=rows: model.rowCount() > n or not model.more)  # type: ignore[misc]
    assert not model.more and not tab.more_button.isVisible()
    assert sorted(r["id"] for r in model.records) == sorted(expected)
    assert pane.tabs.tabText(pane.tabs.indexOf(tab)) == f"Deals ({len(expected)})"


async def test_a_failed_record_load_keeps_the_tables_copy_and_retries(
        pane: DetailPane, app: SandboxApp, store: Store, qtbot: QtBot) -> None:
    deal = a_deal(store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL,
                                 headers={"x-api-token": DEFAULT_TOKEN}) as admin:
        added = await admin.post("/_sandbox/faults", json={
            "kind": "error_500", "count": 3, "path": f"/api/v2/deals/{deal['id']}"})
        added.raise_for_status()
    pane.show_record("deals", deal["id"], deal)
    assert pane.title.text() == deal["title"]  # at once, from the copy
    await until(lambda: not pane.retry_button.isHidden())
    assert "Could not refresh this deal" in pane.message_text.text()
    assert pane.title.text() == deal["title"]
    qtbot.mouseClick(pane.retry_button, Qt.MouseButton.LeftButton)
    await shown(pane, "deals", deal["id"])
    assert pane.message.isHidden()


@pytest.mark.parametrize("key", ["activities", "history"])
async def test_a_tab_keeps_one_model_while_records_go_by(pane: DetailPane, store: Store,
                                                         key: str) -> None:
    deals = [d for d in store.select("deals") if not d.get("is_archived")][:20]
    assert len(deals) == 20
    counts: list[tuple[int, int]] = []
    pane.select_tab(key)
    for deal in deals:
        pane.show_record("deals", deal["id"], deal)
        await shown(pane, "deals", deal["id"])
        tab = await tab_rows(pane, key)
        assert tab.state in ("rows", "empty")
        counts.append((len(tab.findChildren(QAbstractItemModel)),
                       len(tab.findChildren(QItemSelectionModel))))
    assert counts[-1] == counts[0] and counts[0][0] == 1, counts


async def test_a_failed_next_page_keeps_the_rows_and_load_more_retries(
        pane: DetailPane, store: Store, app: SandboxApp, qtbot: QtBot,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from explorer.qt.widgets import detail_loader
    monkeypatch.setattr(detail_loader, "PAGE_SIZE", 2)
    deals = store.select("deals")
    counts: dict[int, int] = {}
    for d in deals:
        if d.get("person_id"):
            counts[d["person_id"]] = counts.get(d["person_id"], 0) + 1
    person_id = max(counts, key=lambda p: counts[p])
    pane.show_record("persons", person_id, None)
    await shown(pane, "persons", person_id)
    tab = await tab_rows(pane, "deals")
    model = tab.view.model()
    assert isinstance(model, RelatedModel) and model.more
    first = [r["id"] for r in model.records]
    rule = app.state.faults.add(FaultRule("error_500", count=100, path="/api/v2/deals*"))
    qtbot.mouseClick(tab.more_button, Qt.MouseButton.LeftButton)
    await until(lambda: tab.more_error.isVisible())
    assert "Could not load more of the deals of this person" in tab.more_error.text()
    assert "500" in tab.more_error.text()
    assert tab.view.model() is model and [r["id"] for r in model.records] == first
    assert tab.state == "rows" and tab.view.isVisible()
    assert tab.more_button.isVisible() and tab.more_button.isEnabled()
    app.state.faults.remove(rule)
    qtbot.mouseClick(tab.more_button, Qt.MouseButton.LeftButton)  # the retry
    await until(lambda: model.rowCount() > len(first))
    assert [r["id"] for r in model.records][:len(first)] == first
    assert tab.more_error.isHidden() and tab.more_button.text() == "Load more"


async def test_load_more_is_enabled_again_after_an_unexpected_failure(
        pane: DetailPane, store: Store, runner: TaskRunner, qtbot: QtBot,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from explorer.qt.widgets import detail_loader
    monkeypatch.setattr(detail_loader, "PAGE_SIZE", 2)
    person_id = max({d["person_id"] for d in store.select("deals") if d.get("person_id")},
                    key=lambda p: sum(d.get("person_id") == p for d in store.select("deals")))
    pane.show_record("persons", person_id, None)
    await shown(pane, "persons", person_id)
    tab = await tab_rows(pane, "deals")
    model = tab.view.model()
    assert isinstance(model, RelatedModel) and model.more
    rows = model.rowCount()
    failures: list[str] = []
    runner.failed.connect(lambda name, exc, retry: failures.append(str(exc)))

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug in the name cache")

    names = pane.session.names
    working = names.load_records
    monkeypatch.setattr(names, "load_records", broken)
    qtbot.mouseClick(tab.more_button, Qt.MouseButton.LeftButton)
    await until(lambda: failures)
    assert failures == ["a bug in the name cache"]
    await until(lambda: tab.more_button.isEnabled())
    assert model.rowCount() == rows and tab.state == "rows"
    monkeypatch.setattr(names, "load_records", working)
    qtbot.mouseClick(tab.more_button, Qt.MouseButton.LeftButton)
    await until(lambda: model.rowCount() > rows)
