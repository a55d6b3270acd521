"""The account manager: the saved accounts (open, remove), adding one with its company domain
and API token, and "Try the demo".

A new account's token is checked with ``GET /api/v1/users/me`` before it can be saved: the
dialog shows the company and the user the token belongs to, or says plainly why it was
refused. Saving puts the token in the OS keychain (``AccountStore``); where there is none the
dialog says so and offers to keep the token for this session only. "Sign in with Pipedrive"
(OAuth) runs the browser sign-in when an OAuth app is configured, checks the tokens the
same way and saves them as the account's secret. Every network and keychain
call runs as a task of the dialog's own ``TaskRunner`` (keychain calls in a worker thread: a
locked keychain may wait for the user), so no slot ever waits.
"""

from __future__ import annotations

import asyncio
import webbrowser

import httpx
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from explorer.api import OAuthApp, TokenSet
from explorer.api.oauth import OpenUrl
from explorer.core.accounts import (
    COLOURS,
    Account,
    AccountStore,
    KeychainUnavailable,
    SavedAccount,
    oauth_secret,
)
from explorer.core.identity import (
    TOKEN_HELP,
    Identity,
    check_token,
    describe_check_failure,
    parse_company,
    sign_in_and_check,
    with_identity,
)
from explorer.qt.asyncqt import TaskRunner

OAUTH_UNAVAILABLE = ("Sign-in with Pipedrive (OAuth) is available once an OAuth app is "
                     "configured: its client ID and secret from Pipedrive's Developer Hub in "
                     "PIPEDRIVE_EXPLORER_OAUTH_CLIENT_ID and PIPEDRIVE_EXPLORER_OAUTH_CLIENT_"
                     "SECRET. None is configured, so add the account with its API token.")
OAUTH_AVAILABLE = ("Sign in in your browser; Pipedrive asks which company to open and sends "
                   "the app back here.")
NO_KEYCHAIN = ("No keychain is available on this system (on Linux: a Secret Service such as "
               "GNOME Keyring or KWallet), so the token cannot be stored safely. You can keep "
               "it for this session only: it stays in memory and is gone when the app quits.")


COLOUR_NAMES = ("Blue", "Purple", "Green", "Amber", "Red", "Azure", "Grey")


def _swatch(colour: str, size: int) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


class AccountsDialog(QDialog):
    """Choose, add or remove an account, or try the demo.

    Attributes:
        store: the account registry.
        chosen: the account to open once the dialog is accepted (None: none chosen).
        chosen_token: its token.
        demo_chosen: "Try the demo" was clicked.
        identity: the result of the last successful token check.
        oauth_app: the OAuth app "Sign in with Pipedrive" uses (None: unavailable).

    Signals:
        account_added(str): an account was saved (its id).
        checked(): a token check ended (success or failure).
    """

    account_added = Signal(str)
    checked = Signal()

    def __init__(self, store: AccountStore, parent: QWidget | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 oauth_app: OAuthApp | None = None,
                 open_url: OpenUrl = webbrowser.open) -> None:
        super().__init__(parent)
        self.setObjectName("accountsDialog")
        self.setWindowTitle("Accounts — Pipedrive Explorer")
        self.store = store
        self.chosen: SavedAccount | None = None
        self.chosen_token: str | None = None
        self.demo_chosen = False
        self.identity: Identity | None = None
        self._checked_for: tuple[str, str] | None = None
        self._transport = transport
        self.oauth_app = oauth_app
        self._open_url = open_url
        self._oauth_tokens: TokenSet | None = None
        self._removing: str | None = None  # the account a first Remove click asked about
        self.runner = TaskRunner(self)
        self.finished.connect(self._cancel_tasks)
        self._build()
        # Wide enough for the messages at any font size (no pixel sizes: 200 % scaling).
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 72)
        self.oauth_button.setEnabled(oauth_app is not None)
        self.oauth_button.setToolTip(OAUTH_AVAILABLE if oauth_app else OAUTH_UNAVAILABLE)
        self._keychain = store.keychain_available()
        self.keychain_label.setVisible(not self._keychain)
        self.session_only_check.setVisible(not self._keychain)
        self.session_only_check.setChecked(not self._keychain)
        self.refresh()

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.account_list = QListWidget(self)
        self.account_list.setObjectName("accountList")
        self.account_list.setMaximumHeight(self.fontMetrics().lineSpacing() * 10)
        self.account_list.itemDoubleClicked.connect(lambda _item: self.open_selected())
        self.account_list.currentRowChanged.connect(lambda _row: self._update_buttons())
        layout.addWidget(QLabel("Saved accounts:", self))
        layout.addWidget(self.account_list)
        row = QHBoxLayout()
        self.open_button = self._button("openAccountButton", "&Open", self.open_selected, row)
        self.remove_button = self._button("removeAccountButton", "&Remove",
                                          self.remove_selected, row)
        row.addStretch(1)
        self.demo_button = self._button("demoButton", "Try the &demo", self.try_demo, row)
        self.demo_button.setToolTip("Open the built-in sandbox with demo data: a Pipedrive "
                                    "company that is safe to change.")
        layout.addLayout(row)

        group = QGroupBox("Add an account", self)
        group.setObjectName("addAccountGroup")
        # Wrapped labels go in the box layout, not in a form row: QFormLayout does not give a
        # spanning row the height its wrapped text needs.
        box = QVBoxLayout(group)
        form = QFormLayout()
        box.addLayout(form)
        self.company_edit = self._edit("companyEdit", "acme (for acme.pipedrive.com)")
        self.token_edit = self._edit("tokenEdit", "API token")
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setToolTip(TOKEN_HELP)
        self._row(form, "Company &domain:", self.company_edit)
        self._row(form, "API &token:", self.token_edit)
        check_row = QHBoxLayout()
        self.check_button = self._button("checkButton", "&Check", self.check, check_row)
        self.oauth_button = self._button("oauthButton", "Sign in with &Pipedrive…",
                                         self.sign_in, check_row)
        check_row.addStretch(1)
        box.addLayout(check_row)
        self.identity_label = QLabel(self)
        self.identity_label.setObjectName("identityLabel")
        self.identity_label.setWordWrap(True)
        self.identity_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.identity_label)
        form = QFormLayout()
        box.addLayout(form)
        self.name_edit = self._edit("accountNameEdit", "what to call it")
        self._row(form, "&Name:", self.name_edit)
        self.colour_combo = QComboBox(self)
        self.colour_combo.setObjectName("colourCombo")
        size = self.fontMetrics().height()
        for colour, name in zip(COLOURS, COLOUR_NAMES, strict=True):
            self.colour_combo.addItem(_swatch(colour, size), name, colour)
        self._row(form, "C&olour:", self.colour_combo)
        self.kind_combo = QComboBox(self)
        self.kind_combo.setObjectName("kindCombo")
        self.kind_combo.addItem("Live company", "live")
        self.kind_combo.addItem("Sandbox (safe to break)", "sandbox")
        self._row(form, "&Kind:", self.kind_combo)
        self.keychain_label = QLabel(NO_KEYCHAIN, self)
        self.keychain_label.setObjectName("keychainLabel")
        self.keychain_label.setWordWrap(True)
        box.addWidget(self.keychain_label)
        self.session_only_check = QCheckBox("Keep the token for this &session only", self)
        self.session_only_check.setObjectName("sessionOnlyCheck")
        box.addWidget(self.session_only_check)
        save_row = QHBoxLayout()
        save_row.addStretch(1)
        self.save_button = self._button("saveAccountButton", "&Save account", self.save,
                                        save_row)
        box.addLayout(save_row)
        self.message_label = QLabel(self)
        self.message_label.setObjectName("accountMessage")
        self.message_label.setWordWrap(True)
        box.addWidget(self.message_label)
        layout.addWidget(group)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.setObjectName("accountsButtons")
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        for edit in (self.company_edit, self.token_edit):
            edit.textChanged.connect(self._inputs_changed)
        self.session_only_check.toggled.connect(lambda _on: self._update_buttons())

    def _row(self, form: QFormLayout, text: str, field: QWidget) -> None:
        # The two forms share one label width, so their fields line up.
        label = QLabel(text, self)
        label.setBuddy(field)
        label.setMinimumWidth(self.fontMetrics().horizontalAdvance("Company domain:  "))
        form.addRow(label, field)

    def _button(self, name: str, text: str, slot: object, row: QHBoxLayout) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.setAutoDefault(False)
        button.clicked.connect(slot)
        row.addWidget(button)
        return button

    def _edit(self, name: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        return edit

    # ------------------------------------------------------------------ the list

    def refresh(self) -> None:
        """Show the store's accounts."""
        self.account_list.clear()
        size = self.fontMetrics().height()
        for entry in self.store.accounts():
            a = entry.account
            tag = "sandbox" if a.kind == "sandbox" else "live"
            extra = ", this session only" if entry.session_only else ""
            item = QListWidgetItem(_swatch(a.colour, size), f"{a.name}  [{tag}{extra}]")
            item.setData(Qt.ItemDataRole.UserRole, entry.id)
            item.setToolTip(f"{a.base_url}" + (f"\n{entry.user}" if entry.user else ""))
            self.account_list.addItem(item)
        if self.account_list.count():
            self.account_list.setCurrentRow(0)
        self._update_buttons()

    def selected_id(self) -> str | None:
        item = self.account_list.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    def select(self, account_id: str) -> None:
        for row in range(self.account_list.count()):
            if self.account_list.item(row).data(Qt.ItemDataRole.UserRole) == account_id:
                self.account_list.setCurrentRow(row)

    def _update_buttons(self) -> None:
        if self._removing is not None and self._removing != self.selected_id():
            self._removing = None  # another account selected: the question is void
            self.remove_button.setText("&Remove")
            self._say("")
        has = self.selected_id() is not None
        self.open_button.setEnabled(has)
        self.remove_button.setEnabled(has)
        inputs = (self.company_edit.text().strip(), self.token_edit.text().strip())
        self.save_button.setEnabled(self.identity is not None and (
            self._checked_for == inputs or self._oauth_tokens is not None))
        self.save_button.setText("Use for this &session" if self.session_only_check.isChecked()
                                 else "&Save account")

    def open_selected(self) -> None:
        account_id = self.selected_id()
        if account_id is not None:
            self.runner.start(self._open(account_id), name="read the account's token",
                              key="open", report=False)

    async def _open(self, account_id: str) -> None:
        entry = self.store.get(account_id)
        if entry is not None and entry.auth == "oauth" and self.oauth_app is None:
            self._say(f"{entry.account.name} signs in with Pipedrive (OAuth), and no OAuth "
                      "app is configured now. Set PIPEDRIVE_EXPLORER_OAUTH_CLIENT_ID and "
                      "PIPEDRIVE_EXPLORER_OAUTH_CLIENT_SECRET (from Pipedrive's Developer Hub) "
                      "to open it, or add it again with an API token.")
            return
        token = await asyncio.to_thread(self.store.token, account_id)
        if not token:
            self._say("The keychain has no token for this account (removed, or the keychain "
                      "is locked). Add the account again with its API token.")
            return
        self.chosen = entry
        self.chosen_token = token
        self.accept()

    def remove_selected(self) -> None:
        """The first click asks (in the dialog's message line, not a modal box); a second
        click on the same account removes it and deletes its token from the keychain."""
        account_id = self.selected_id()
        item = self.account_list.currentItem()
        if account_id is None or item is None:
            return
        if self._removing != account_id:
            self._removing = account_id
            self.remove_button.setText("Confirm &remove")
            name = item.text().split("  [")[0]
            self._say(f"Remove {name}? Its API token is deleted from the keychain, and "
                      "adding the account again needs the token. Click “Confirm remove” to "
                      "go on, or select another account.")
            return
        self._removing = None
        self.remove_button.setText("&Remove")
        self._say("")
        self.runner.start(self._remove(account_id), name="remove an account",
                          key="remove", report=False)

    async def _remove(self, account_id: str) -> None:
        await asyncio.to_thread(self.store.remove, account_id)
        self.refresh()

    def try_demo(self) -> None:
        self.demo_chosen = True
        self.accept()

    # ------------------------------------------------------------------ adding

    def _inputs_changed(self) -> None:
        self.identity = None
        self._oauth_tokens = None
        self.identity_label.clear()
        self._update_buttons()

    def _say(self, text: str) -> None:
        self.message_label.setText(text)

    def say(self, text: str) -> None:
        """Show ``text`` in the dialog's message line (why it opened, say)."""
        self._say(text)

    def check(self) -> None:
        """Check the typed token against the typed company (``/users/me``)."""
        company, token = self.company_edit.text().strip(), self.token_edit.text().strip()
        try:
            base_url, _domain = parse_company(company)
        except ValueError as exc:
            self._say(str(exc))
            return
        if not token:
            self._say(f"Paste the API token first. {TOKEN_HELP}")
            return
        self._say("Checking…")
        self.check_button.setEnabled(False)
        self.runner.start(self._check(company, token, base_url), name="check the token",
                          key="check", report=False)

    async def _check(self, company: str, token: str, base_url: str) -> None:
        try:
            identity = await check_token(base_url, token, transport=self._transport)
        except Exception as exc:   # every failure becomes a message
            self.identity = None
            self.identity_label.clear()
            self._say(describe_check_failure(exc, base_url))
        else:
            self.identity = identity
            self._checked_for = (company, token)
            self.identity_label.setText(f"This token opens {identity.company_name} as "
                                        f"{identity.user}.")
            if not self.name_edit.text().strip():
                self.name_edit.setText(identity.company_name)
            self._say("")
        finally:
            self.check_button.setEnabled(True)
            self._update_buttons()
            self.checked.emit()

    def save(self) -> None:
        """Save the checked account (token to the keychain, or this session only)."""
        if self.identity is not None and self._oauth_tokens is not None:
            base_url, domain = parse_company(self._oauth_tokens.api_domain)
            token, auth = oauth_secret(self._oauth_tokens), "oauth"
        elif self.identity is not None and self._checked_for is not None:
            company, token = self._checked_for
            base_url, domain = parse_company(company)
            auth = "token"
        else:
            self._say("Check the token first.")
            return
        account = with_identity(Account(
            name=self.name_edit.text().strip() or self.identity.company_name,
            base_url=base_url, kind=self.kind_combo.currentData(),
            colour=self.colour_combo.currentData(), company_domain=domain), self.identity)
        session_only = self.session_only_check.isChecked()
        self.save_button.setEnabled(False)
        self.runner.start(self._save(account, token, session_only, auth),
                          name="save the account", key="save", report=False)

    async def _save(self, account: Account, token: str, session_only: bool,
                    auth: str) -> None:
        user = self.identity.user if self.identity else None
        try:
            entry = await asyncio.to_thread(self.store.add, account, token, user=user,
                                            session_only=session_only,
                                            auth="oauth" if auth == "oauth" else "token")
        except KeychainUnavailable:
            self.keychain_label.setVisible(True)
            self.session_only_check.setVisible(True)
            self.session_only_check.setChecked(True)
            self._say("Nothing was saved. " + NO_KEYCHAIN)
            self._update_buttons()
            return
        self.token_edit.clear()
        self.company_edit.clear()
        self.name_edit.clear()
        self.refresh()
        self.select(entry.id)
        self._say(f"Saved {account.name}." if not session_only else
                  f"{account.name} is open for this session; its token is not stored.")
        self.account_added.emit(entry.id)

    def sign_in(self) -> None:
        """Sign in with Pipedrive in the browser (OAuth), then show whose account it is."""
        if self.oauth_app is None:
            self._say(OAUTH_UNAVAILABLE)
            return
        self._say("Waiting for the sign-in in your browser…")
        self.oauth_button.setEnabled(False)
        self.runner.start(self._sign_in(self.oauth_app), name="sign in with Pipedrive",
                          key="check", report=False)

    async def _sign_in(self, app: OAuthApp) -> None:
        try:
            tokens, identity = await sign_in_and_check(app, self._open_url,
                                                       transport=self._transport)
        except Exception as exc:   # every failure becomes a message
            self._say(describe_check_failure(exc, app.oauth_url))
        else:
            self.company_edit.clear()
            self.token_edit.clear()
            self.identity, self._oauth_tokens = identity, tokens
            self.identity_label.setText(f"Signed in to {identity.company_name} as "
                                        f"{identity.user}.")
            if not self.name_edit.text().strip():
                self.name_edit.setText(identity.company_name)
            self._say("")
        finally:
            self.oauth_button.setEnabled(True)
            self._update_buttons()
            self.checked.emit()

    def _cancel_tasks(self) -> None:
        for task in self.runner.tasks:
            task.cancel()
