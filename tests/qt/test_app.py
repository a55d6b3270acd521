"""The composition root: ``open_window`` on a running sandbox (the demo child process), and
the demo sandbox's start, failure and stop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import keyring
import pytest
from PySide6.QtWidgets import QApplication

import explorer.app as app_module
from explorer.app import open_window, window_closed
from explorer.core.accounts import Account, AccountStore
from explorer.core.demo import DemoEndpoint, DemoFailed, DemoSandbox
from explorer.core.settings import Settings, save_settings
from explorer.qt.dialogs.accounts import AccountsDialog
from explorer.qt.main_window import MainWindow
from tests.core.keyrings import MemoryKeyring
from tests.qt.conftest import until

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("keep_app_running")]




async def test_open_window_shows_deals_loading_and_returns_at_once(demo: DemoEndpoint) -> None:
    rows: list[int] = []
    window = open_window(demo.base_url, demo.token)
    assert isinstance(window, MainWindow)
    window.first_rows.connect(rows.append)
    assert window.isVisible()
    assert rows == []                      # returned before any answer
    assert window.session.account.kind == "sandbox"
    assert window.session.account.base_url == demo.base_url
    await until(lambda: rows, within=20)
    assert rows == [50]                    # the first page of the demo's deals

    window.close()
    await asyncio.wait_for(window_closed(window), 10)
    assert window.runner.tasks == frozenset()
    with pytest.raises(RuntimeError, match="shut down"):
        window.runner.start(asyncio.sleep(0), name="after close")


async def test_a_refused_token_is_shown_with_what_to_do(demo: DemoEndpoint) -> None:
    window = open_window(demo.base_url, "not-the-token")
    banners = window.notifications.banners
    await until(lambda: "unauthorized" in banners(), within=20)
    title, text = banners()["unauthorized"].texts()
    assert "API token" in title and "Accounts" in text  # what was wrong, what to do
    assert "not-the-token" not in title + text
    window.close()
    await asyncio.wait_for(window_closed(window), 10)


def test_a_sandbox_that_cannot_start_says_why(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "demo.sqlite"
    sandbox = DemoSandbox.start(db=str(missing))
    with pytest.raises(DemoFailed) as caught:
        sandbox.wait_ready(timeout=60)
    assert "did not start" in str(caught.value)
    assert str(missing.parent) in str(caught.value)
    assert sandbox.process.returncode == 2


def test_stopping_is_idempotent_and_leaves_no_process() -> None:
    sandbox = DemoSandbox.start()
    sandbox.wait_ready(timeout=60)
    assert sandbox.stop() == 0
    assert sandbox.stop() == 0
    assert sandbox.process.poll() == 0


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """A temporary config folder and an in-memory keychain as keyring's backend."""
    monkeypatch.setenv("PIPEDRIVE_EXPLORER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(app_module, "_stores", [])
    keys = MemoryKeyring()
    before = keyring.get_keyring()
    keyring.set_keyring(keys)
    yield keys
    keyring.set_keyring(before)


async def test_without_options_the_last_account_opens(config: MemoryKeyring,
                                                      demo: DemoEndpoint) -> None:
    store = AccountStore()
    entry = store.add(Account(name="Saved demo", base_url=demo.base_url, kind="sandbox"),
                      demo.token)
    save_settings(replace(Settings(), last_account_id=entry.id))
    window = await app_module.open_start_window()
    assert window is not None
    rows: list[int] = []
    window.first_rows.connect(rows.append)
    assert window.session.account.name == "Saved demo"
    await until(lambda: rows, within=20)
    window.close()
    await asyncio.wait_for(window_closed(window), 10)


async def test_without_accounts_the_manager_opens_and_can_start_the_demo(
        config: MemoryKeyring) -> None:
    opening = asyncio.ensure_future(app_module.open_start_window())
    await until(lambda: dialogs())
    [dialog] = dialogs()
    assert dialog.account_list.count() == 0
    dialog.demo_button.click()
    window = await asyncio.wait_for(opening, 60)
    try:
        assert window is not None
        assert window.session.account.kind == "sandbox"
        assert window.session.account.name == "Demo sandbox"
        window.close()
        await asyncio.wait_for(window_closed(window), 10)
    finally:
        for sandbox in list(app_module._demos):
            await asyncio.to_thread(sandbox.stop)
            app_module._demos.remove(sandbox)


def dialogs() -> list[AccountsDialog]:
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, AccountsDialog) and w.isVisible()]
