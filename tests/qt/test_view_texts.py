"""What the lists, a user's detail pane and the column chooser show, against the
sandbox: columns named as the web app names them (not ``Org id``), yes / no flags, a note's
words without its HTML, a product's price in each currency.

Expected values come from the sandbox store, never from the code under test.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot

from explorer.api.config import RetryPolicy
from explorer.core.accounts import Account
from explorer.core.session import Session
from explorer.core.settings import CONFIG_DIR_ENV
from explorer.core.views import View
from explorer.qt.asyncqt import TaskRunner
from explorer.qt.main_window import MainWindow
from explorer.qt.models.record_table import RecordTableModel, RowState, TableRole
from explorer.qt.widgets.detail_pane import DetailPane
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.config import FaultRule
from explorer.sandbox.store import Store
from tests.qt.conftest import until

_H = Qt.Orientation.Horizontal
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


async def listed(session: Session, runner: TaskRunner, resource: str,
                 qtmodeltester: Any) -> RecordTableModel:
    model = RecordTableModel(session, runner)
    model.set_view(View(resource, resource.capitalize()))
    await until(lambda: model.loaded_rows() > 0
                and model.row_state(model.rowCount() - 1) != RowState.LOADING)
    qtmodeltester.check(model)
    return model


def headers(model: RecordTableModel) -> dict[str, str]:
    return {f.key: model.headerData(n, _H) for n, f in enumerate(model.columns)}


def cells(model: RecordTableModel, key: str) -> dict[Any, str]:
    """``{record id: text}`` of the column of ``key`` over the loaded rows."""
    column = [f.key for f in model.columns].index(key)
    return {model.index(r, 0).data(TableRole.RecordIdRole): model.index(r, column).data()
            for r in range(model.loaded_rows())}


async def test_notes_columns_name_what_the_ids_refer_to_and_show_words(
        session: Session, runner: TaskRunner, store: Store, qtmodeltester: Any) -> None:
    model = await listed(session, runner, "notes", qtmodeltester)
    names = headers(model)
    assert (names["content"], names["deal_id"], names["person_id"], names["org_id"],
            names["user_id"]) == ("Content", "Deal", "Person", "Organization", "Author")
    shown = cells(model, "content")
    tagged = [n for n in store.select("notes") if n["id"] in shown and "<" in n["content"]]
    assert tagged  # the demo's notes are HTML
    for note in tagged:
        words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", note["content"])).split())
        assert shown[note["id"]] == words


async def test_users_admin_and_active_are_yes_or_no(
        session: Session, runner: TaskRunner, store: Store, qtmodeltester: Any) -> None:
    model = await listed(session, runner, "users", qtmodeltester)
    names = headers(model)
    assert (names["is_admin"], names["active_flag"]) == ("Admin", "Active")
    admin, active = cells(model, "is_admin"), cells(model, "active_flag")
    users = store.select("users")
    assert {u["id"]: ("Yes" if u["is_admin"] else "No") for u in users} == admin
    assert {u["id"]: ("Yes" if u["active_flag"] else "No") for u in users} == active
    assert "Yes" in admin.values() and "No" in admin.values()


async def test_a_products_price_shows_every_currency(
        session: Session, runner: TaskRunner, store: Store, qtmodeltester: Any) -> None:
    model = await listed(session, runner, "products", qtmodeltester)
    shown = cells(model, "prices")
    checked = 0
    for product in store.select("products"):
        prices = product.get("prices") or []
        if product["id"] not in shown or not prices or any(
                p["currency"] not in SYMBOLS for p in prices):
            continue
        assert shown[product["id"]] == ", ".join(
            f"{SYMBOLS[p['currency']]}{p['price']:,.2f}" for p in prices)
        checked += 1
    assert checked > 5


async def test_an_organizations_address_shows_as_text(
        session: Session, runner: TaskRunner, store: Store, qtmodeltester: Any) -> None:
    model = await listed(session, runner, "organizations", qtmodeltester)
    # Four columns left most of the list empty: the web app's list also shows labels and
    # what the company does.
    assert list(headers(model).values()) == ["Name", "Labels", "Address", "Industry",
                                             "Website", "Owner", "Update time"]
    shown = cells(model, "address")
    orgs = {o["id"]: o for o in store.select("organizations")}
    expected = {i: (orgs[i].get("address") or {}).get("value") or "" for i in shown}
    assert shown == expected and any(expected.values())


async def test_an_activitys_type_shows_its_name(
        session: Session, runner: TaskRunner, store: Store, qtmodeltester: Any) -> None:
    model = await listed(session, runner, "activities", qtmodeltester)
    shown = cells(model, "type")
    names = {t["key_string"]: t["name"] for t in store.select("activity_types")}
    activities = {a["id"]: a for a in store.select("activities")}
    assert shown == {i: names[activities[i]["type"]] for i in shown}
    assert "Product demo" in shown.values()


async def test_a_leads_value_shows_as_money(
        session: Session, runner: TaskRunner, store: Store, qtmodeltester: Any) -> None:
    model = await listed(session, runner, "leads", qtmodeltester)
    shown = cells(model, "value")
    leads = {lead["id"]: lead for lead in store.select("leads")}
    checked = 0
    for lead_id, text in shown.items():
        value = leads[lead_id].get("value")
        if not value:
            assert text == ""
        elif value["currency"] in SYMBOLS:
            assert text == f"{SYMBOLS[value['currency']]}{value['amount']:,.2f}"
            checked += 1
    assert checked > 5


async def test_a_users_pane_shows_no_fields_failure(session: Session, runner: TaskRunner,
                                                    store: Store, qtbot: QtBot) -> None:
    pane = DetailPane(session, runner)
    qtbot.addWidget(pane)
    pane.show()
    admin = next(u for u in store.select("users") if u["is_admin"])
    pane.show_record("users", admin["id"])
    await until(lambda: pane.record is not None and pane._loader.record_ready(
        pane.history.current))  # type: ignore[arg-type]
    assert not pane.message.isVisible(), pane.message_text.text()
    assert pane.fields_model.text_of("Admin") == "Yes"


async def test_a_list_that_fails_says_why_across_the_table_and_in_the_status_bar(
        app: SandboxApp, account: Account, runner: TaskRunner, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, qtbot: QtBot) -> None:
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "config"))
    session = Session.connect(account, DEFAULT_TOKEN, transport=httpx.ASGITransport(app=app),
                              retry=RetryPolicy.never())
    window = MainWindow(session, runner, settings=QSettings(
        str(tmp_path / "window.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    try:
        window.resize(1400, 800)
        window.show()
        # The fields arrive after the failed page: the table has only its status column.
        app.state.faults.add(FaultRule("latency", count=1, method="GET",
                                       path="*personFields*", latency_ms=500))
        app.state.faults.add(FaultRule("error_500", count=1, method="GET",
                                       path="/api/v2/persons"))
        window.show_view(View("persons", "Persons"))
        table = window.table
        await until(lambda: table.model.rowCount() > 0
                    and table.model.row_state(0) == RowState.ERROR)
        assert window.view_label.text() == "Persons · could not be loaded (the list says why)"
        row = table.table.visualRect(table.model.index(0, 0))
        assert row.width() >= table.table.viewport().width() - 2  # the message is not cut short
    finally:
        window.close()
        await session.close()


async def test_the_column_chooser_shows_twenty_fields_at_once(session: Session,
                                                              qtbot: QtBot) -> None:
    from explorer.qt.dialogs.columns import ColumnChooser

    fields = list(await session.fields("deals"))
    assert len(fields) > 40  # the demo's deals: more than a short list can show
    chooser = ColumnChooser(fields, [f.key for f in fields[:5]])
    qtbot.addWidget(chooser)
    chooser.show()
    await until(chooser.isVisible)
    row = chooser.list.sizeHintForRow(0)
    assert chooser.list.viewport().height() >= 19 * row  # about ten, before
