"""Accounts: which Pipedrive company (or sandbox) a window talks to, and how it looks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

AccountKind = Literal["live", "sandbox"]


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
