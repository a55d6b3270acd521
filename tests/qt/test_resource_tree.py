"""The resource tree against the sandbox: nodes and their views, selection, counts, failures.

Expected names, deals and counts come from the sandbox's store and, for saved filters, from
the filter's conditions evaluated in plain Python (``tests/sandbox/filters_reference.py``);
what a node lists is read the way the table reads it (``session.source.fetch_page``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QStyleOptionViewItem

from explorer.api import RetryPolicy
from explorer.core.accounts import Account
from explorer.core.session import Session
from explorer.core.views import View
from explorer.qt.asyncqt import TaskRunner
from explorer.qt.models.resource_tree import ResourceTreeModel, TreeRole
from explorer.qt.widgets.resource_tree import ResourceTreePane
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.config import FaultRule
from explorer.sandbox.store import Store
from tests.qt.conftest import until
from tests.sandbox.filters_reference import FIELDS_ENDPOINT, filter_matches

TITLES = ["Deals", "Leads", "Persons", "Organizations", "Activities", "Products", "Notes",
       "Users"]
TOP = QModelIndex()
FILTER_TYPE = {"deals": "deals", "leads": "leads", "persons": "people",
               "organizations": "org", "activities": "activity", "products": "products"}


def children(model: ResourceTreeModel, parent: QModelIndex = TOP) -> list[QModelIndex]:
    return [model.index(r, 0, parent) for r in range(model.rowCount(parent))]


def walk(model: ResourceTreeModel, parent: QModelIndex = TOP) -> Iterator[QModelIndex]:
    for index in children(model, parent):
        yield index
        yield from walk(model, index)


def kinds(model: ResourceTreeModel, parent: QModelIndex) -> list[str]:
    return [i.data(TreeRole.KIND) for i in children(model, parent)]


def loaded(model: ResourceTreeModel) -> bool:
    return not any(i.data(TreeRole.KIND) == "loading" for i in walk(model))


def root(model: ResourceTreeModel, title: str) -> QModelIndex:
    return next(i for i in children(model) if i.data() == title)


def of_kind(model: ResourceTreeModel, kind: str,
            parent: QModelIndex = TOP) -> list[QModelIndex]:
    return [i for i in children(model, parent) if i.data(TreeRole.KIND) == kind]


async def listed(session: Session, view: View) -> set[Any]:
    """The ids ``view`` lists, page after page, as the table reads them."""
    ids: set[Any] = set()
    page = await session.source.fetch_page(view, size=500)
    ids.update(r["id"] for r in page.records)
    while page.more:
        page = await session.source.fetch_page(view, after=page.handle, size=500)
        ids.update(r["id"] for r in page.records)
    return ids


def live_deals(store: Store) -> list[dict[str, Any]]:
    return [d for d in store.select("deals") if not d.get("is_archived")]


@pytest.fixture
async def pane(session: Session, runner: TaskRunner, qtbot: Any) -> AsyncIterator[ResourceTreePane]:
    widget = ResourceTreePane(session, runner)
    qtbot.addWidget(widget)
    widget.resize(400, 700)
    widget.show()
    yield widget


async def loaded_pane(pane: ResourceTreePane) -> ResourceTreePane:
    pane.load()
    await until(lambda: loaded(pane.model))
    return pane


# ---------------------------------------------------------------------- nodes


async def test_model_passes_the_model_tester_before_and_after_loading(
        pane: ResourceTreePane, qtmodeltester: Any) -> None:
    model = pane.model
    qtmodeltester.check(model)
    assert [i.data() for i in children(model)] == TITLES
    assert kinds(model, root(model, "Deals")) == ["loading", "archived", "loading"]
    await loaded_pane(pane)
    await until(lambda: root(model, "Deals").data(TreeRole.COUNT) is not None)
    qtmodeltester.check(model)
    assert [i.data() for i in children(model)] == TITLES
    assert not children(model, root(model, "Notes"))
    assert not children(model, root(model, "Users"))


async def test_pipelines_and_stages_are_the_accounts(pane: ResourceTreePane,
                                                     store: Store) -> None:
    model = (await loaded_pane(pane)).model
    pipelines = sorted(store.select("pipelines"), key=lambda p: p["order_nr"])
    nodes = of_kind(model, "pipeline", root(model, "Deals"))
    assert [n.data() for n in nodes] == [p["name"] for p in pipelines]
    for node, pipeline in zip(nodes, pipelines, strict=True):
        assert model.view(node) == View("deals", pipeline["name"],
                                        filters=(("pipeline_id", pipeline["id"]),))
        stages = sorted((s for s in store.select("stages") if s["pipeline_id"] == pipeline["id"]),
                        key=lambda s: s["order_nr"])
        assert [s.data() for s in children(model, node)] == [s["name"] for s in stages]
        assert [model.view(s) for s in children(model, node)] == [
            View("deals", s["name"], filters=(("stage_id", s["id"]),)) for s in stages]
    # The web app's order: pipelines, then the archived list, then saved filters.
    deal_kinds = kinds(model, root(model, "Deals"))
    assert deal_kinds == (["pipeline"] * len(pipelines) + ["archived"]
                          + ["filter"] * (len(deal_kinds) - len(pipelines) - 1))


async def test_stage_and_pipeline_nodes_list_exactly_their_deals(
        pane: ResourceTreePane, session: Session, store: Store) -> None:
    model = (await loaded_pane(pane)).model
    deals = live_deals(store)
    for pipeline in of_kind(model, "pipeline", root(model, "Deals")):
        view = model.view(pipeline)
        assert view is not None
        pipeline_id = dict(view.filters)["pipeline_id"]
        expected = {d["id"] for d in deals if d["pipeline_id"] == pipeline_id}
        assert await listed(session, view) == expected
        for stage in children(model, pipeline):
            stage_view = model.view(stage)
            assert stage_view is not None
            stage_id = dict(stage_view.filters)["stage_id"]
            expected = {d["id"] for d in deals if d["stage_id"] == stage_id}
            assert expected, "the demo data has deals in every stage"
            assert await listed(session, stage_view) == expected


async def test_archived_nodes_list_the_archived_records(
        pane: ResourceTreePane, session: Session, store: Store) -> None:
    model = (await loaded_pane(pane)).model
    for title, resource in (("Deals", "deals"), ("Leads", "leads")):
        node = of_kind(model, "archived", root(model, title))[0]
        view = model.view(node)
        assert view == View(resource, f"Archived {resource}", archived=True)
        expected = {r["id"] for r in store.select(resource) if r.get("is_archived")}
        assert expected, f"the demo data has archived {resource}"
        assert await listed(session, view) == expected


async def test_saved_filter_nodes_list_what_the_filter_selects(
        pane: ResourceTreePane, session: Session, store: Store) -> None:
    model = (await loaded_pane(pane)).model
    client = session.client
    for title, resource in (("Deals", "deals"), ("Leads", "leads"), ("Persons", "persons"),
                            ("Organizations", "organizations"), ("Activities", "activities"),
                            ("Products", "products")):
        ftype = FILTER_TYPE[resource]
        saved = {f["id"]: f["name"] for f in store.select("filters") if f["type"] == ftype}
        nodes = of_kind(model, "filter", root(model, title))
        assert saved, f"the demo data has {ftype} filters"
        assert [n.data() for n in nodes] == sorted(saved.values(), key=str.casefold)
        everything = [r async for r in client.iterate(resource)]
        endpoint = FIELDS_ENDPOINT.get(ftype, "dealFields")
        fields = (await client.request("GET", "v2", f"/{endpoint}",
                                       params={"limit": 500})).data
        types = {f["field_code"]: f["field_type"] for f in fields}
        for node in nodes:
            view = model.view(node)
            assert view is not None and view.resource == resource
            filter_id = dict(view.filters)["filter_id"]
            assert saved[filter_id] == node.data()
            one = (await client.request("GET", "v1", f"/filters/{filter_id}",
                                        params={"include_field_code": "true"})).data
            expected = {r["id"] for r in everything
                        if filter_matches(r, one["conditions"], types)}
            assert await listed(session, view) == expected, node.data()


# ---------------------------------------------------------------------- selection


async def test_clicks_and_keys_emit_the_selected_view(pane: ResourceTreePane,
                                                      store: Store) -> None:
    model = (await loaded_pane(pane)).model
    tree = pane.tree
    seen: list[View] = []
    pane.view_selected.connect(seen.append)
    deals = root(model, "Deals")
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton,
                     pos=tree.visualRect(deals).center())
    await asyncio.sleep(0)
    assert seen == [View("deals", "Deals")]
    tree.setFocus()
    first = min(store.select("pipelines"), key=lambda p: p["order_nr"])
    QTest.keyClick(tree, Qt.Key.Key_Down)
    await asyncio.sleep(0)
    assert seen[-1] == View("deals", first["name"], filters=(("pipeline_id", first["id"]),))
    QTest.keyClick(tree, Qt.Key.Key_Right)  # open the pipeline
    QTest.keyClick(tree, Qt.Key.Key_Down)
    await asyncio.sleep(0)
    stage = min((s for s in store.select("stages") if s["pipeline_id"] == first["id"]),
                key=lambda s: s["order_nr"])
    assert seen[-1] == View("deals", stage["name"], filters=(("stage_id", stage["id"]),))
    assert pane.selected_view() == seen[-1]
    leads = root(model, "Leads")
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton,
                     pos=tree.visualRect(leads).center())
    await asyncio.sleep(0)
    assert seen[-1] == View("leads", "Leads")
    tree.setFocus()
    QTest.keyClick(tree, Qt.Key.Key_Return)  # Enter on the selected node: no second load
    await asyncio.sleep(0)
    assert len(seen) == 4


async def test_select_resource_and_a_view_that_has_not_arrived_yet(
        pane: ResourceTreePane, store: Store) -> None:
    seen: list[View] = []
    pane.view_selected.connect(seen.append)
    assert pane.select_resource("deals")
    assert seen == [View("deals", "Deals")]
    stage = store.select("stages")[2]
    wanted = View("deals", stage["name"], filters=(("stage_id", stage["id"]),))
    assert not pane.select_view(wanted)  # not loaded yet: selected when it arrives
    assert pane.selected_view() == View("deals", "Deals")
    await loaded_pane(pane)
    assert seen == [View("deals", "Deals"), wanted]
    assert pane.selected_view() == wanted
    assert not pane.select_resource("invoices")


async def test_selection_stays_while_children_arrive_and_on_reload(
        pane: ResourceTreePane, runner: TaskRunner, store: Store) -> None:
    seen: list[View] = []
    pane.view_selected.connect(seen.append)
    archived = View("deals", "Archived deals", archived=True)
    assert pane.select_view(archived)  # row 1 now; pipelines arrive above it
    assert pane.model.index_for_view(archived).row() == 1
    await loaded_pane(pane)
    assert pane.model.index_for_view(archived).row() == len(store.select("pipelines"))
    assert pane.selected_view() == archived
    stage = store.select("stages")[0]
    view = View("deals", stage["name"], filters=(("stage_id", stage["id"]),))
    assert pane.select_view(view)
    pane.load()  # a reload keeps the nodes (same keys) and so the selection
    await until(lambda: not runner.tasks)
    assert pane.selected_view() == view
    assert seen == [archived, view]


async def test_archived_toggle_shows_and_hides_the_archived_nodes(
        pane: ResourceTreePane) -> None:
    model = (await loaded_pane(pane)).model
    toggles: list[bool] = []
    pane.show_archived_changed.connect(toggles.append)
    seen: list[View] = []
    pane.view_selected.connect(seen.append)
    assert pane.show_archived
    archived = View("deals", "Archived deals", archived=True)
    assert pane.select_view(archived)
    pane.set_show_archived(False)
    assert not pane.show_archived and toggles == [False]
    for title in TITLES:
        assert "archived" not in kinds(model, root(model, title))
    # The selected archived list went away: its parent is selected instead.
    assert seen == [archived, View("deals", "Deals")]
    assert pane.selected_view() == View("deals", "Deals")
    pane.set_show_archived(True)
    pane.set_show_archived(True)
    assert toggles == [False, True]
    assert [of_kind(model, "archived", root(model, t))[0].data()
            for t in ("Deals", "Leads")] == ["Archived deals", "Archived leads"]
    assert pane.selected_view() == View("deals", "Deals")


# ---------------------------------------------------------------------- counts


async def test_counts_equal_the_stores(pane: ResourceTreePane, store: Store) -> None:
    model = (await loaded_pane(pane)).model
    deals = live_deals(store)
    deals_node = root(model, "Deals")
    await until(lambda: deals_node.data(TreeRole.COUNT) is not None)
    assert deals_node.data(TreeRole.COUNT) == len(deals)
    pipelines = of_kind(model, "pipeline", deals_node)
    assert all(p.data(TreeRole.COUNT) is None for p in pipelines)  # asked for on opening
    for pipeline in pipelines:
        pane.tree.expand(pipeline)
    await until(lambda: all(s.data(TreeRole.COUNT) is not None
                            for p in pipelines for s in children(model, p)))
    for pipeline in pipelines:
        pipeline_id = dict(model.view(pipeline).filters)["pipeline_id"]  # type: ignore[union-attr]
        assert pipeline.data(TreeRole.COUNT) == sum(
            1 for d in deals if d["pipeline_id"] == pipeline_id)
        for stage in children(model, pipeline):
            stage_id = dict(model.view(stage).filters)["stage_id"]  # type: ignore[union-attr]
            assert stage.data(TreeRole.COUNT) == sum(1 for d in deals
                                                     if d["stage_id"] == stage_id)
            assert stage.data(Qt.ItemDataRole.DisplayRole) == model.view(stage).title  # type: ignore[union-attr]
    # The count is painted after the name: the row is wider than the name alone.
    stage = children(model, pipelines[0])[0]
    delegate = pane.tree.itemDelegate()
    option = QStyleOptionViewItem()
    option.initFrom(pane.tree)
    plain = model.index_for_resource("notes")
    width = option.fontMetrics.horizontalAdvance
    assert (delegate.sizeHint(option, stage).width() - delegate.sizeHint(option, plain).width()
            >= width(stage.data()) - width("Notes") + width(str(stage.data(TreeRole.COUNT))))
    pane.tree.viewport().repaint()


async def test_the_tree_costs_a_few_requests(pane: ResourceTreePane, runner: TaskRunner,
                                             app: SandboxApp) -> None:
    """Pipelines, stages and every saved filter come from one request each, the deal total
    from one summary; opening a pipeline asks once per stage, and only the first time."""
    requests = app.state.stats.requests
    model = (await loaded_pane(pane)).model
    await until(lambda: root(model, "Deals").data(TreeRole.COUNT) is not None)
    assert {k: requests[k] for k in ("getPipelines", "getStages", "getFilters",
                                     "getDealsSummary")} == {
        "getPipelines": 1, "getStages": 1, "getFilters": 1, "getDealsSummary": 1}
    pipeline = of_kind(model, "pipeline", root(model, "Deals"))[0]
    pane.tree.expand(pipeline)
    pane.tree.collapse(pipeline)
    pane.tree.expand(pipeline)
    await until(lambda: all(s.data(TreeRole.COUNT) is not None
                            for s in children(model, pipeline)))
    await until(lambda: not runner.tasks)
    assert requests["getDealsSummary"] == 1 + model.rowCount(pipeline)


# ---------------------------------------------------------------------- failures


@pytest.fixture
async def fragile(app: SandboxApp, account: Account) -> AsyncIterator[Session]:
    """A session that does not retry, so one injected 500 is a failed load."""
    s = Session.connect(account, DEFAULT_TOKEN, transport=httpx.ASGITransport(app=app),
                        retry=RetryPolicy.never())
    yield s
    await s.close()


async def test_a_failed_filter_load_shows_an_error_child_and_retry_recovers(
        fragile: Session, runner: TaskRunner, app: SandboxApp, store: Store,
        qtbot: Any, qtmodeltester: Any) -> None:
    rule = app.state.faults.add(FaultRule(kind="error_500", probability=1.0, method="GET",
                                          path="/api/v1/filters"))
    pane = ResourceTreePane(fragile, runner)
    qtbot.addWidget(pane)
    pane.show()
    model = pane.model
    pane.load()
    deals = root(model, "Deals")
    await until(lambda: "error" in kinds(model, deals) and loaded(model))
    qtmodeltester.check(model)
    for title in ("Deals", "Leads", "Persons", "Organizations", "Activities", "Products"):
        errors = of_kind(model, "error", root(model, title))
        assert len(errors) == 1 and not of_kind(model, "filter", root(model, title))
        assert "500" in errors[0].data(Qt.ItemDataRole.ToolTipRole)
        assert not errors[0].flags() & Qt.ItemFlag.ItemIsSelectable
    assert of_kind(model, "pipeline", deals), "the pipelines loaded all the same"
    # Still failing: Enter on the error node tries again and shows the error again.
    error = of_kind(model, "error", deals)[0]
    pane.tree.setFocus()
    pane.tree.setCurrentIndex(error)
    QTest.keyClick(pane.tree, Qt.Key.Key_Return)
    assert "loading" in kinds(model, deals)
    await until(lambda: "error" in kinds(model, deals))
    app.state.faults.remove(rule)
    pane.tree.expand(root(model, "Products"))
    error = of_kind(model, "error", root(model, "Products"))[0]
    pane.tree.scrollTo(error)
    where = pane.tree.visualRect(error).center()
    # A double-click as the platform delivers it: a click, then the double-click event.
    QTest.mouseClick(pane.tree.viewport(), Qt.MouseButton.LeftButton, pos=where)
    QTest.mouseDClick(pane.tree.viewport(), Qt.MouseButton.LeftButton, pos=where)
    await until(lambda: of_kind(model, "filter", deals))
    for title, ftype in (("Deals", "deals"), ("Products", "products")):
        names = sorted((f["name"] for f in store.select("filters") if f["type"] == ftype),
                       key=str.casefold)
        assert [n.data() for n in of_kind(model, "filter", root(model, title))] == names
        assert not of_kind(model, "error", root(model, title))
    qtmodeltester.check(model)
