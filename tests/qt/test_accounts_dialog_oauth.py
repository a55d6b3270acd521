"""Adding an account with "Sign in with Pipedrive" (OAuth) against a sandbox process: the
browser sign-in, whose account it is, the tokens kept in the keychain only, and a window on
the saved account whose rotated tokens go back to the keychain."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

import explorer.app as app_module
from explorer.api import OAuthApp
from explorer.core.accounts import KEYRING_SERVICE, Account, AccountStore, tokens_from_secret
from explorer.core.demo import DemoEndpoint, DemoSandbox
from explorer.core.settings import OAUTH_ENV, oauth_app_from_env
from explorer.qt.dialogs.accounts import AccountsDialog
from tests.core.keyrings import MemoryKeyring
from tests.qt.conftest import until

pytestmark = pytest.mark.e2e

CLIENT_ID, CLIENT_SECRET = "sandbox-client-id", "sandbox-client-secret"


def free_redirect_uri() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/callback"


REDIRECT = free_redirect_uri()


@pytest.fixture(scope="module")
def server() -> Iterator[DemoEndpoint]:
    sandbox = DemoSandbox.start(extra=["--oauth-auto-approve", "--oauth-token-ttl", "2",
                                       "--oauth-redirect-uri", REDIRECT, "--no-limits"])
    try:
        yield sandbox.wait_ready(timeout=60)
    finally:
        sandbox.stop()


@pytest.fixture
def oauth_env(server: DemoEndpoint, monkeypatch: pytest.MonkeyPatch,
              tmp_path: Path) -> Iterator[OAuthApp]:
    for key, value in {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                       "oauth_url": server.base_url, "redirect_uri": REDIRECT}.items():
        monkeypatch.setenv(OAUTH_ENV[key], value)
    monkeypatch.setenv("PIPEDRIVE_EXPLORER_CONFIG_DIR", str(tmp_path / "config"))
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)
    oauth_app = oauth_app_from_env()
    assert oauth_app is not None
    yield oauth_app
    app.setQuitOnLastWindowClosed(before)


async def browser(url: str) -> None:
    """Plays the user's browser: the sandbox approves at once and redirects to the app."""
    async with httpx.AsyncClient(follow_redirects=True, timeout=10) as http:
        await http.get(url)


def stored_file(folder: Path) -> str:
    return (folder / "accounts.json").read_text()


async def test_sign_in_shows_the_company_and_keeps_the_tokens_in_the_keychain(
        qtbot: QtBot, oauth_env: OAuthApp, server: DemoEndpoint, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    keys = MemoryKeyring()
    store = AccountStore(tmp_path, keys)
    dialog = AccountsDialog(store, oauth_app=oauth_env, open_url=browser)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.oauth_button.isEnabled()
    checked: list[bool] = []
    dialog.checked.connect(lambda: checked.append(True))
    dialog.oauth_button.click()
    await until(lambda: checked, within=20)
    assert "Signed in to Brightwave Solutions as" in dialog.identity_label.text(), (
        dialog.message_label.text())
    added: list[str] = []
    dialog.account_added.connect(added.append)
    dialog.save_button.click()
    await until(lambda: added)
    [entry] = store.accounts()
    assert entry.auth == "oauth"
    assert entry.account.base_url == server.base_url      # the token answer's api_domain
    secret = keys.entries[(KEYRING_SERVICE, entry.id)]
    tokens = tokens_from_secret(secret)
    text = stored_file(tmp_path)
    assert tokens.access_token not in text and tokens.refresh_token not in text
    assert json.loads(text)["accounts"][0]["auth"] == "oauth"

    # The saved account opens; a refresh (2 s tokens) rotates them into the keychain.
    monkeypatch.setattr(app_module, "_stores", [store])
    window = app_module.open_saved(entry, secret)
    rows: list[int] = []
    window.first_rows.connect(rows.append)
    await until(lambda: rows, within=20)
    assert rows == [50]
    await asyncio.sleep(2.2)
    me = await window.session.client.request("GET", "v1", "/users/me")
    assert me.data["company_name"] == "Brightwave Solutions"
    await until(lambda: keys.entries[(KEYRING_SERVICE, entry.id)] != secret, within=10)
    rotated = tokens_from_secret(keys.entries[(KEYRING_SERVICE, entry.id)])
    assert rotated.refresh_token != tokens.refresh_token
    assert urlsplit(rotated.api_domain).netloc == urlsplit(server.base_url).netloc
    window.close()
    await asyncio.wait_for(app_module.window_closed(window), 10)


async def test_without_an_oauth_app_the_button_says_when_it_is_available(
        qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OAUTH_ENV.values():
        monkeypatch.delenv(name, raising=False)
    assert oauth_app_from_env() is None
    dialog = AccountsDialog(AccountStore(tmp_path, MemoryKeyring()))
    qtbot.addWidget(dialog)
    assert not dialog.oauth_button.isEnabled()
    assert "PIPEDRIVE_EXPLORER_OAUTH_CLIENT_ID" in dialog.oauth_button.toolTip()


async def test_an_oauth_account_without_an_oauth_app_says_what_to_set(
        qtbot: QtBot, tmp_path: Path) -> None:
    keys = MemoryKeyring()
    store = AccountStore(tmp_path, keys)
    entry = store.add(Account(name="Signed in", base_url="https://acme.pipedrive.com"),
                      '{"access_token": "a", "refresh_token": "r"}', auth="oauth")
    dialog = AccountsDialog(store)
    qtbot.addWidget(dialog)
    dialog.select(entry.id)
    dialog.open_button.click()
    await until(lambda: dialog.message_label.text())
    assert "Signed in signs in with Pipedrive (OAuth)" in dialog.message_label.text()
    assert "PIPEDRIVE_EXPLORER_OAUTH_CLIENT_ID" in dialog.message_label.text()
    assert dialog.chosen is None
