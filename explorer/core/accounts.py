"""Accounts: which Pipedrive company (or sandbox) a window talks to, how it looks, and the
registry of saved accounts.

``Account`` describes one account (never a secret). ``AccountStore`` keeps the saved ones as
JSON in the config folder (``accounts.json``: names, URLs, colours, kinds; never a token) and
their API tokens in the OS keychain through ``keyring`` (service ``pipedrive-explorer``,
username = the account's id). Where there is no keychain (keyring's fail or null backend, e.g.
a Linux desktop without a Secret Service), ``add`` raises ``KeychainUnavailable`` and saves
nothing; the caller may then add it ``session_only``: the account and its token live in this
process's memory and are gone when it ends. keyring calls may block (a locked keychain asks
the user), so callers on an event loop run them in a worker thread.

An account signed in with OAuth (``auth == "oauth"``) keeps its ``TokenSet`` as JSON in the
same keychain entry (``oauth_secret`` / ``tokens_from_secret``); every refresh rotates the
refresh token, so the window stores each new set again (``store_secret``).

Checking whose a token is before it is saved: ``explorer.core.identity``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import keyring
import keyring.backend
import keyring.errors
from keyring.backends import fail as fail_keyring

from explorer.api import TokenSet
from explorer.core.settings import config_dir, write_json

AccountKind = Literal["live", "sandbox"]
AuthKind = Literal["token", "oauth"]


@dataclass(frozen=True)
class Account:
    """One account the app can open. Never holds a secret: the token is in the keychain.

    Attributes:
        name: what the user calls it (title bar, status bar, account menu).
        base_url: the API origin (``https://acme.pipedrive.com``, a sandbox's loopback URL).
        kind: ``live`` (a real company) or ``sandbox`` (demo data, safe to break).
        colour: a ``#rrggbb`` the title/status bar tag is drawn in.
        company_domain: the Pipedrive company domain (``acme``), when known.
    """

    name: str
    base_url: str
    kind: AccountKind = "live"
    colour: str = "#1f6feb"
    company_domain: str | None = None

    @property
    def web_url(self) -> str:
        """Where the account's records open in a browser: the company's Pipedrive web app,
        or the sandbox's own origin."""
        if self.company_domain:
            return f"https://{self.company_domain}.pipedrive.com"
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def record_url(self, resource: str, record_id: object) -> str:
        """The web app's page of one record (``/deal/7``, ``/person/3``, a lead's inbox page)."""
        singular = {"deals": "deal", "persons": "person", "organizations": "organization",
                    "products": "product", "activities": "activity", "users": "users/details"}
        if resource == "leads":
            return f"{self.web_url}/leads/inbox/{record_id}"
        if resource == "notes":
            return f"{self.web_url}/notes/{record_id}"
        return f"{self.web_url}/{singular.get(resource, resource)}/{record_id}"


# ---------------------------------------------------------------------- the registry

KEYRING_SERVICE = "pipedrive-explorer"
ACCOUNTS_FILE = "accounts.json"
ACCOUNTS_VERSION = 1
COLOURS = ("#1f6feb", "#8250df", "#1a7f37", "#bf8700", "#cf222e", "#0969da", "#6e7781")
"""Colours offered for new accounts (the tag in the title and status bar)."""

log = logging.getLogger(__name__)


class KeychainUnavailable(Exception):
    """There is no usable OS keychain: the token cannot be stored (nothing was saved)."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "No keychain is available on this system (on Linux, a Secret Service such as "
            "GNOME Keyring or KWallet), so the API token cannot be stored safely."
            + (f" ({detail})" if detail else ""))


@dataclass(frozen=True)
class SavedAccount:
    """An account in the registry.

    Attributes:
        id: a stable random id (the keychain entry's username).
        account: what the window shows and where it connects.
        user: who the token belongs to, as checked (``Jane Doe <jane@acme.com>``), if known.
        session_only: kept in memory for this run only (no keychain); never written.
        auth: ``token`` (an API token) or ``oauth`` (a ``TokenSet`` as JSON).
    """

    id: str
    account: Account
    user: str | None = None
    session_only: bool = False
    auth: AuthKind = "token"


def keychain_available(backend: keyring.backend.KeyringBackend | None = None) -> bool:
    """Whether tokens can go to a keychain: not keyring's fail or null backend."""
    from keyring.backends import null

    chosen = backend or keyring.get_keyring()
    if isinstance(chosen, fail_keyring.Keyring | null.Keyring):
        return False
    try:
        return float(chosen.priority) > 0
    except Exception:   # a backend whose priority check fails is unusable
        return False


class AccountStore:
    """The saved accounts (JSON, no secrets) and their tokens (keychain, or memory).

    Attributes:
        folder: the config folder holding ``accounts.json``.
        backend: the keyring backend tokens go to (None: keyring's configured one).
    """

    def __init__(self, folder: Path | None = None,
                 backend: keyring.backend.KeyringBackend | None = None) -> None:
        self.folder = folder or config_dir()
        self.backend = backend
        self._lock = threading.Lock()
        self._session: dict[str, tuple[SavedAccount, str]] = {}

    @property
    def path(self) -> Path:
        return self.folder / ACCOUNTS_FILE

    def _keyring(self) -> keyring.backend.KeyringBackend:
        return self.backend or keyring.get_keyring()

    def keychain_available(self) -> bool:
        return keychain_available(self._keyring())

    # ------------------------------------------------------------------ reading

    def accounts(self) -> list[SavedAccount]:
        """Saved accounts, then this session's, in the order they were added."""
        with self._lock:
            saved = self._read()
            return saved + [entry for entry, _ in self._session.values()]

    def get(self, account_id: str) -> SavedAccount | None:
        return next((a for a in self.accounts() if a.id == account_id), None)

    def token(self, account_id: str) -> str | None:
        """The account's token: from memory for a session-only account, else the keychain
        (may block). None when there is none (removed, keychain locked or gone)."""
        with self._lock:
            if account_id in self._session:
                return self._session[account_id][1]
        try:
            return self._keyring().get_password(KEYRING_SERVICE, account_id)
        except keyring.errors.KeyringError as exc:
            log.warning("cannot read the token of account %s from the keychain: %s",
                        account_id, type(exc).__name__)
            return None

    # ------------------------------------------------------------------ writing

    def add(self, account: Account, token: str, *, user: str | None = None,
            session_only: bool = False, auth: AuthKind = "token") -> SavedAccount:
        """Save ``account`` and put ``token`` (an API token, or ``oauth_secret(tokens)``) in
        the keychain (may block). Raises ``KeychainUnavailable`` (nothing saved) where there
        is no keychain, unless ``session_only``: then both stay in memory until the process
        ends."""
        entry = SavedAccount(uuid.uuid4().hex, account, user, session_only, auth)
        if session_only:
            with self._lock:
                self._session[entry.id] = (entry, token)
            return entry
        if not self.keychain_available():
            raise KeychainUnavailable()
        try:
            self._keyring().set_password(KEYRING_SERVICE, entry.id, token)
        except keyring.errors.KeyringError as exc:
            # NoKeyringError, PasswordSetError, a locked keychain the user did not open.
            raise KeychainUnavailable(type(exc).__name__) from None
        with self._lock:
            saved = self._read()
            saved.append(entry)
            self._write(saved)
        return entry

    def store_secret(self, account_id: str, secret: str) -> None:
        """Replace the account's secret (rotated OAuth tokens); may block. Raises
        ``keyring.errors.KeyringError`` when the keychain refuses."""
        with self._lock:
            if account_id in self._session:
                self._session[account_id] = (self._session[account_id][0], secret)
                return
        self._keyring().set_password(KEYRING_SERVICE, account_id, secret)

    def update(self, entry: SavedAccount) -> None:
        """Save a renamed or recoloured account (same id)."""
        with self._lock:
            if entry.id in self._session:
                self._session[entry.id] = (entry, self._session[entry.id][1])
                return
            saved = [entry if a.id == entry.id else a for a in self._read()]
            self._write(saved)

    def remove(self, account_id: str) -> None:
        """Forget the account and delete its token from the keychain (may block)."""
        with self._lock:
            if self._session.pop(account_id, None) is not None:
                return
            self._write([a for a in self._read() if a.id != account_id])
        # Never stored (there was no keychain then) or already gone: nothing to delete.
        with contextlib.suppress(keyring.errors.KeyringError):
            self._keyring().delete_password(KEYRING_SERVICE, account_id)

    # ------------------------------------------------------------------ the file

    def _read(self) -> list[SavedAccount]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s (%s); no saved accounts", self.path, exc)
            return []
        entries = data.get("accounts", []) if isinstance(data, dict) else []
        out: list[SavedAccount] = []
        for item in entries:
            try:
                out.append(_entry_from_json(item))
            except (KeyError, TypeError, ValueError):
                log.warning("skipping an unreadable account entry in %s", self.path)
        return out

    def _write(self, entries: list[SavedAccount]) -> None:
        write_json(self.path, {"version": ACCOUNTS_VERSION,
                               "accounts": [_entry_to_json(e) for e in entries]})


def _entry_to_json(entry: SavedAccount) -> dict[str, Any]:
    a = entry.account
    return {"id": entry.id, "name": a.name, "base_url": a.base_url, "kind": a.kind,
            "colour": a.colour, "company_domain": a.company_domain, "user": entry.user,
            "auth": entry.auth}


def _entry_from_json(item: dict[str, Any]) -> SavedAccount:
    kind = item.get("kind", "live")
    if kind not in ("live", "sandbox"):
        raise ValueError(kind)
    account = Account(name=str(item["name"]), base_url=str(item["base_url"]), kind=kind,
                      colour=str(item.get("colour") or COLOURS[0]),
                      company_domain=item.get("company_domain"))
    auth = item.get("auth", "token")
    if auth not in ("token", "oauth"):
        raise ValueError(auth)
    return SavedAccount(str(item["id"]), account, item.get("user"), auth=auth)


def oauth_secret(tokens: TokenSet) -> str:
    """What goes to the keychain for an OAuth account: its token set as JSON."""
    return json.dumps(tokens.as_dict())


def tokens_from_secret(secret: str) -> TokenSet:
    """The token set kept by ``oauth_secret``; ``ValueError`` when it is not one."""
    try:
        return TokenSet.from_dict(json.loads(secret))
    except (KeyError, TypeError, ValueError):
        raise ValueError("the keychain entry holds no OAuth tokens; sign in again") from None
