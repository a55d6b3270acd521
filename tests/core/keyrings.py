"""Keyring backends for tests: an in-memory keychain, and keyring's own "no keychain" one."""

from __future__ import annotations

import keyring.backend
import keyring.errors
from keyring.backends import fail


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keychain in a dict: what was stored, by (service, username)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.entries:
            raise keyring.errors.PasswordDeleteError(username)
        del self.entries[(service, username)]


def no_keychain() -> fail.Keyring:
    """keyring's backend on a system without a keychain: every call raises NoKeyringError."""
    return fail.Keyring()
