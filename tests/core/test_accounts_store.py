"""The account registry: accounts as JSON without tokens, tokens in the keychain only; the
session-only path where there is no keychain; checking a token against the sandbox."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from explorer.api.errors import InvalidValue, Unauthorized
from explorer.core.accounts import (
    KEYRING_SERVICE,
    Account,
    AccountStore,
    KeychainUnavailable,
    keychain_available,
)
from explorer.core.identity import check_token, parse_company
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp
from explorer.sandbox.store import Store
from tests.conftest import BASE_URL
from tests.core.keyrings import MemoryKeyring, no_keychain

SECRET = "0123456789abcdef-secret-token-for-tests"
ACME = Account(name="Acme", base_url="https://acme.pipedrive.com", kind="live",
               colour="#cf222e", company_domain="acme")


def test_accounts_round_trip_with_the_token_only_in_the_keychain(tmp_path: Path) -> None:
    keys = MemoryKeyring()
    store = AccountStore(tmp_path, keys)
    entry = store.add(ACME, SECRET, user="Jane Doe <jane@acme.com>")

    again = AccountStore(tmp_path, keys)          # as the next start of the app reads it
    assert [(e.id, e.account, e.user) for e in again.accounts()] == [
        (entry.id, ACME, "Jane Doe <jane@acme.com>")]
    assert again.token(entry.id) == SECRET
    assert keys.entries == {(KEYRING_SERVICE, entry.id): SECRET}
    files = list(tmp_path.rglob("*"))
    assert [f.name for f in files] == ["accounts.json"]
    assert SECRET not in files[0].read_text()
    assert SECRET[:12] not in files[0].read_text()


def test_removing_an_account_deletes_its_token(tmp_path: Path) -> None:
    keys = MemoryKeyring()
    store = AccountStore(tmp_path, keys)
    first = store.add(ACME, SECRET)
    second = store.add(Account(name="Beta", base_url="https://beta.pipedrive.com"), "t2")
    store.remove(first.id)
    assert [e.id for e in AccountStore(tmp_path, keys).accounts()] == [second.id]
    assert store.token(first.id) is None
    assert list(keys.entries) == [(KEYRING_SERVICE, second.id)]


def test_without_a_keychain_nothing_is_saved_unless_for_this_session(tmp_path: Path) -> None:
    backend = no_keychain()
    store = AccountStore(tmp_path, backend)
    assert not store.keychain_available()
    with pytest.raises(KeychainUnavailable, match="No keychain"):
        store.add(ACME, SECRET)
    assert store.accounts() == []
    assert list(tmp_path.iterdir()) == []

    entry = store.add(ACME, SECRET, session_only=True)
    assert entry.session_only
    assert store.token(entry.id) == SECRET          # usable for this session
    assert [e.id for e in store.accounts()] == [entry.id]
    assert list(tmp_path.iterdir()) == []           # not written anywhere
    assert AccountStore(tmp_path, backend).accounts() == []   # gone with the process
    store.remove(entry.id)
    assert store.accounts() == []


def test_keychain_availability_follows_the_backend() -> None:
    assert keychain_available(MemoryKeyring())
    assert not keychain_available(no_keychain())


def test_a_damaged_accounts_file_means_no_accounts(tmp_path: Path) -> None:
    (tmp_path / "accounts.json").write_text("{not json")
    assert AccountStore(tmp_path, MemoryKeyring()).accounts() == []


@pytest.mark.parametrize(("typed", "expected"), [
    ("acme", ("https://acme.pipedrive.com", "acme")),
    ("Acme.pipedrive.com", ("https://acme.pipedrive.com", "acme")),
    ("https://acme.pipedrive.com/deals/list", ("https://acme.pipedrive.com", "acme")),
    ("http://127.0.0.1:8765", ("http://127.0.0.1:8765", None)),
])
def test_company_domains_and_addresses(typed: str, expected: tuple[str, str | None]) -> None:
    assert parse_company(typed) == expected


@pytest.mark.parametrize("typed", ["", "acme corp", "ftp://x", "-acme"])
def test_what_is_no_company_is_refused_with_what_to_type(typed: str) -> None:
    with pytest.raises(ValueError, match=r"company domain|https://"):
        parse_company(typed)


async def test_a_token_check_names_the_company_and_the_user(app: SandboxApp,
                                                            store: Store) -> None:
    identity = await check_token(BASE_URL, DEFAULT_TOKEN,
                                 transport=httpx.ASGITransport(app=app))
    user = store.get("users", 1)
    assert user is not None
    assert identity.company_name == "Brightwave Solutions"     # the demo company
    assert identity.company_domain == "brightwave"
    assert identity.user_name == user["name"]
    assert identity.user_email == user["email"]
    assert identity.describe() == f"Brightwave Solutions — {user['name']} <{user['email']}>"


async def test_a_bad_token_is_refused(app: SandboxApp) -> None:
    with pytest.raises(Unauthorized):
        await check_token(BASE_URL, "not-the-token", transport=httpx.ASGITransport(app=app))


async def test_a_malformed_token_is_refused_without_quoting_it(app: SandboxApp) -> None:
    with pytest.raises(InvalidValue) as caught:
        await check_token(BASE_URL, "abc\ndef-secret", transport=httpx.ASGITransport(app=app))
    assert "def-secret" not in str(caught.value)
