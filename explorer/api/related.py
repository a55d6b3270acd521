"""Lists that belong to one record: a deal's products, followers, participants, changelog, files.

A ``Resource`` describes a collection of its own (``/deals``); these lists hang below one
record (``/deals/{id}/products``), page in their own way and identify their items by another
key (a follower is a ``user_id``; changelog entries have no id at all). Each is a
``RelatedList`` in ``RELATED``, checked against the official specs in ``tests/api``; the
client lists any of them with ``client.related(parent, id, name)`` or one page at a time with
``client.related_page``. Adding one is adding an entry here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from explorer.api.resources import Listing, Paging, Version, resource, token_cost


@dataclass(frozen=True)
class RelatedList:
    """One list below a record.

    Attributes:
        parent: the registry name of the record's resource (``"deals"``).
        name: the list's name (``"products"``, ``"followers"``, ``"changelog"``).
        version: the API version that serves it.
        template: its path with ``{id}`` for the parent's id (``/deals/{id}/products``).
        paging: ``cursor`` (v2, and v1 changelogs), ``offset`` (v1) or ``none``.
        max_page: the largest page it gives (v1 files: 100).
        key: the item field that identifies an item (None: items have no identity).
        what: what an item is, for messages (``"deal product"``).
    """

    parent: str
    name: str
    version: Version
    template: str
    paging: Paging
    what: str
    max_page: int = 500
    key: str | None = "id"

    @property
    def operation(self) -> str:
        return f"{self.version} GET {self.template}"

    @property
    def cost(self) -> int:
        """Tokens per page (official spec)."""
        return token_cost(self.operation)

    def listing(self, record_id: int | str) -> Listing:
        """The list of the record ``record_id`` (its id checked as the parent's ids are)."""
        parent = resource(self.parent)
        checked = parent.check_id(record_id)
        return Listing(f"{self.name} of {parent.singular} {checked}", self.version,
                       self.template.replace("{id}", str(checked)), self.paging,
                       max_page=self.max_page, key=self.key)


def _entries() -> list[RelatedList]:
    out = [
        RelatedList("deals", "products", "v2", "/deals/{id}/products", "cursor", "deal product"),
        RelatedList("deals", "participants", "v1", "/deals/{id}/participants", "offset",
                    "participant"),
    ]
    for parent in ("deals", "persons", "organizations", "products"):
        # v2 followers are {user_id, add_time}: a user follows a record once.
        out.append(RelatedList(parent, "followers", "v2", f"/{parent}/{{id}}/followers",
                               "cursor", "follower", key="user_id"))
        # Files: metadata only (the download is another endpoint); v1 caps pages at 100.
        out.append(RelatedList(parent, "files", "v1", f"/{parent}/{{id}}/files", "offset",
                               "file", max_page=100))
    for parent in ("deals", "persons", "organizations"):
        # Who changed which field when, newest first; v1 but cursor-paged. Entries carry no
        # id, so none is ever dropped as seen.
        out.append(RelatedList(parent, "changelog", "v1", f"/{parent}/{{id}}/changelog",
                               "cursor", "change", key=None))
    return out


def _by_parent(entries: list[RelatedList]) -> dict[str, dict[str, RelatedList]]:
    out: dict[str, dict[str, RelatedList]] = {}
    for entry in entries:
        out.setdefault(entry.parent, {})[entry.name] = entry
    return out


RELATED: Mapping[str, Mapping[str, RelatedList]] = _by_parent(_entries())


def related_list(parent: str, name: str) -> RelatedList:
    """The registry entry of ``parent``'s ``name`` list, or a ``KeyError`` naming the lists
    that exist."""
    res = resource(parent)
    lists = RELATED.get(res.name, {})
    try:
        return lists[name]
    except KeyError:
        known = ", ".join(lists) or "none"
        raise KeyError(f"{res.name} have no related list {name!r}; known: {known}") from None
