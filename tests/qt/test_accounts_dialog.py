"""The account manager against the in-process sandbox: a token is checked (company and user
shown) before it is saved to the keychain; a bad one is refused; no keychain → this session
only; open, remove, try the demo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from explorer.core.accounts import KEYRING_SERVICE, Account, AccountStore
from explorer.core.session import Session
from explorer.qt.dialogs.accounts import AccountsDialog
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.store import Store
from tests.core.keyrings import MemoryKeyring, no_keychain
from tests.qt.conftest import until


def files_in(folder: Path) -> list[Path]:
    return list(folder.rglob("*"))


# The sandbox in process answers whatever host is asked; a loopback address is what the
# dialog accepts over plain http (a remote http:// server would expose the token).
SERVER = "http://127.0.0.1:8765"


def make_dialog(qtbot: QtBot, store: AccountStore, app: SandboxApp) -> AccountsDialog:
    dialog = AccountsDialog(store, transport=httpx.ASGITransport(app=app))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


async def check(dialog: AccountsDialog, company: str, token: str) -> None:
    dialog.company_edit.setText(company)
    dialog.token_edit.setText(token)
    checked: list[bool] = []
    dialog.checked.connect(lambda: checked.append(True))
    dialog.check_button.click()
    await until(lambda: checked)


async def test_adding_an_account_shows_whose_token_it_is_then_saves(
        qtbot: QtBot, app: SandboxApp, store: Store, tmp_path: Path) -> None:
    keys = MemoryKeyring()
    accounts = AccountStore(tmp_path, keys)
    dialog = make_dialog(qtbot, accounts, app)
    assert dialog.objectName() == "accountsDialog"
    assert not dialog.keychain_label.isVisibleTo(dialog)
    assert not dialog.save_button.isEnabled()

    await check(dialog, SERVER, DEFAULT_TOKEN)
    user = store.get("users", 1)
    assert user is not None
    shown = dialog.identity_label.text()
    assert "Brightwave Solutions" in shown and user["name"] in shown
    assert dialog.name_edit.text() == "Brightwave Solutions"
    assert dialog.save_button.isEnabled()

    dialog.colour_combo.setCurrentIndex(2)
    dialog.kind_combo.setCurrentIndex(1)
    added: list[str] = []
    dialog.account_added.connect(added.append)
    dialog.save_button.click()
    await until(lambda: added)
    [entry] = accounts.accounts()
    assert entry.account == Account(name="Brightwave Solutions", base_url=SERVER,
                                    kind="sandbox", colour=dialog.colour_combo.itemData(2))
    assert keys.entries == {(KEYRING_SERVICE, entry.id): DEFAULT_TOKEN}
    assert DEFAULT_TOKEN not in (tmp_path / "accounts.json").read_text()
    assert dialog.account_list.count() == 1
    assert "Brightwave Solutions" in dialog.account_list.item(0).text()
    assert dialog.token_edit.text() == ""

    dialog.open_button.click()
    await until(lambda: dialog.result() == QDialog.DialogCode.Accepted)
    assert dialog.chosen == entry and dialog.chosen_token == DEFAULT_TOKEN


async def test_a_bad_token_is_refused_with_a_message_and_nothing_saved(
        qtbot: QtBot, app: SandboxApp, tmp_path: Path) -> None:
    keys = MemoryKeyring()
    accounts = AccountStore(tmp_path, keys)
    dialog = make_dialog(qtbot, accounts, app)
    await check(dialog, SERVER, "not-the-sandbox-token")
    message = dialog.message_label.text()
    assert "refused this API token" in message and "Personal preferences → API" in message
    assert "not-the-sandbox-token" not in message
    assert dialog.identity_label.text() == ""
    assert not dialog.save_button.isEnabled()
    dialog.save()                                   # even when forced: nothing to save
    assert accounts.accounts() == [] and keys.entries == {}
    assert not (tmp_path / "accounts.json").exists()


async def test_a_company_that_is_no_domain_gets_told_what_to_type(
        qtbot: QtBot, app: SandboxApp, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, AccountStore(tmp_path, MemoryKeyring()), app)
    dialog.company_edit.setText("acme corp")
    dialog.token_edit.setText("x")
    dialog.check_button.click()
    assert "before .pipedrive.com" in dialog.message_label.text()


async def test_without_a_keychain_the_token_is_kept_for_this_session_only(
        qtbot: QtBot, app: SandboxApp, tmp_path: Path) -> None:
    accounts = AccountStore(tmp_path, no_keychain())
    dialog = make_dialog(qtbot, accounts, app)
    assert dialog.keychain_label.isVisibleTo(dialog)
    assert "No keychain is available" in dialog.keychain_label.text()
    assert dialog.session_only_check.isVisibleTo(dialog)
    assert dialog.session_only_check.isChecked()

    await check(dialog, SERVER, DEFAULT_TOKEN)
    assert "session" in dialog.save_button.text()
    added: list[str] = []
    dialog.account_added.connect(added.append)
    dialog.save_button.click()
    await until(lambda: added)
    [entry] = accounts.accounts()
    assert entry.session_only
    assert "this session only" in dialog.account_list.item(0).text()
    assert files_in(tmp_path) == []                 # no file at all

    dialog.open_button.click()
    await until(lambda: dialog.chosen is not None)
    assert dialog.chosen_token is not None
    session = Session.connect(entry.account, dialog.chosen_token,
                              transport=httpx.ASGITransport(app=app))
    try:                                            # the token works for this session
        me = await session.client.request("GET", "v1", "/users/me")
        assert me.data["company_name"] == "Brightwave Solutions"
    finally:
        await session.close()


async def test_refusing_the_session_only_offer_saves_nothing(
        qtbot: QtBot, app: SandboxApp, tmp_path: Path) -> None:
    accounts = AccountStore(tmp_path, no_keychain())
    dialog = make_dialog(qtbot, accounts, app)
    dialog.session_only_check.setChecked(False)
    await check(dialog, SERVER, DEFAULT_TOKEN)
    dialog.save_button.click()
    await until(lambda: "Nothing was saved" in dialog.message_label.text())
    assert accounts.accounts() == []
    assert dialog.session_only_check.isChecked()    # offered again


async def test_remove_and_try_the_demo(qtbot: QtBot, app: SandboxApp, tmp_path: Path) -> None:
    keys = MemoryKeyring()
    accounts = AccountStore(tmp_path, keys)
    kept = accounts.add(Account(name="Kept", base_url="https://kept.pipedrive.com"), "t1")
    gone = accounts.add(Account(name="Gone", base_url="https://gone.pipedrive.com"), "t2")
    dialog = make_dialog(qtbot, accounts, app)
    assert [dialog.account_list.item(i).text() for i in range(2)] == [
        "Kept  [live]", "Gone  [live]"]
    dialog.select(gone.id)
    dialog.remove_button.click()  # asks first: nothing is removed yet
    assert "Remove Gone?" in dialog.message_label.text()
    assert "keychain" in dialog.message_label.text()
    assert [e.id for e in accounts.accounts()] == [kept.id, gone.id]
    dialog.select(kept.id)  # another account: the question is void
    assert dialog.remove_button.text() == "&Remove"
    dialog.select(gone.id)
    dialog.remove_button.click()
    assert [e.id for e in accounts.accounts()] == [kept.id, gone.id]
    dialog.remove_button.click()  # confirmed
    await until(lambda: dialog.account_list.count() == 1)
    assert [e.id for e in accounts.accounts()] == [kept.id]
    assert list(keys.entries) == [(KEYRING_SERVICE, kept.id)]

    assert dialog.oauth_button.toolTip().startswith("Sign-in with Pipedrive (OAuth)")
    assert not dialog.oauth_button.isEnabled()
    qtbot.mouseClick(dialog.demo_button, Qt.MouseButton.LeftButton)
    assert dialog.demo_chosen
    assert dialog.result() == QDialog.DialogCode.Accepted


@pytest.fixture(autouse=True)
def _as_in_the_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No real config folder; and, as in the app, closing the last window (the dialog,
    here) does not quit the application: the loop ends once sessions are closed."""
    monkeypatch.setenv("PIPEDRIVE_EXPLORER_CONFIG_DIR", str(tmp_path / "config"))
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)
    yield
    app.setQuitOnLastWindowClosed(before)


async def test_a_remote_server_over_plain_http_is_refused_before_the_token_is_sent(
        qtbot: QtBot, app: SandboxApp, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, AccountStore(tmp_path, MemoryKeyring()), app)
    dialog.company_edit.setText("http://crm.example.com")
    dialog.token_edit.setText(DEFAULT_TOKEN)
    dialog.check_button.click()
    message = dialog.message_label.text()
    assert "not encrypted" in message and "https://" in message
    assert DEFAULT_TOKEN not in message
    assert dialog.identity is None and not dialog.save_button.isEnabled()
