"""Search: itemSearch and the per-entity searches, whole results, and checks before sending.

A search costs 20 tokens and counts against the search window (10 per 2 s) even when Pipedrive
refuses it, so what the spec says a search must be is checked here, before a token is spent:
a term of at least 2 characters (1 with ``exact_match``), ``limit`` within the operation's
maximum (100 for itemSearch, 500 for the per-entity searches), and ``item_types``,
``fields``, ``include_fields`` and filters among the values the operation takes
(``resources/openapi/openapi-v2.yaml``; ``tests/api/test_search.py`` keeps these tables equal
to the spec). A result is one page: its items, the related items (leads and deals of the
persons and organizations found, with ``search_for_related_items``) and the cursor of the next
page.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, overload

from explorer.api.errors import InvalidValue
from explorer.api.resources import Resource, resource

JSON = dict[str, Any]

ITEM_TYPES = ("deal", "person", "organization", "product", "lead", "file", "mail_attachment",
              "project")
ITEM_FIELDS = ("address", "code", "custom_fields", "email", "name", "notes", "phone", "title",
               "description")
ITEM_INCLUDE = ("deal.cc_email", "person.picture", "product.price")
ITEM_LIMIT = 100
ENTITY_LIMIT = 500
STATUSES = ("open", "won", "lost")


@dataclass(frozen=True)
class EntitySearch:
    """One per-entity search operation (v2): its path and what it takes."""

    path: str
    fields: tuple[str, ...]
    include_fields: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()


ENTITY_SEARCHES: Mapping[str, EntitySearch] = {
    "deals": EntitySearch("/deals/search", ("custom_fields", "notes", "title"),
                          ("deal.cc_email",), ("person_id", "organization_id", "status")),
    "persons": EntitySearch("/persons/search",
                            ("custom_fields", "email", "notes", "phone", "name"),
                            ("person.picture",), ("organization_id",)),
    "organizations": EntitySearch("/organizations/search",
                                  ("address", "custom_fields", "notes", "name")),
    "products": EntitySearch("/products/search", ("code", "custom_fields", "name"),
                             ("product.price",)),
    "leads": EntitySearch("/leads/search", ("custom_fields", "notes", "title"),
                          ("lead.was_seen",), ("person_id", "organization_id")),
}


@dataclass(frozen=True)
class SearchResult:
    """One page of a search.

    Attributes:
        items: the hits, best first, as Pipedrive sends them: ``{"result_score", "item"}``
            (``item`` has ``id`` and ``type``, and the type's summary fields).
        related_items: with ``related=True`` (itemSearch only), leads and deals of the
            persons and organizations found (and persons of the organizations), as entries of
            the same shape with ``result_score`` 0.
        next_cursor: pass it as ``cursor`` for the next page; None on the last page.

    It is also a sequence of ``items`` (``len``, iteration, indexing).
    """

    items: tuple[JSON, ...]
    related_items: tuple[JSON, ...] = ()
    next_cursor: str | None = None

    @property
    def more(self) -> bool:
        return self.next_cursor is not None

    def records(self) -> list[JSON]:
        """The found items themselves (each entry's ``item``)."""
        return [entry["item"] for entry in self.items]

    def related(self, item_type: str | None = None) -> list[JSON]:
        """Related items (of one type: ``"deal"``, ``"lead"``, ``"person"``)."""
        return [entry["item"] for entry in self.related_items
                if item_type is None or entry["item"].get("type") == item_type]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[JSON]:
        return iter(self.items)

    @overload
    def __getitem__(self, index: int) -> JSON: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[JSON, ...]: ...

    def __getitem__(self, index: int | slice) -> JSON | tuple[JSON, ...]:
        return self.items[index]

    @classmethod
    def from_answer(cls, data: Any, additional: Mapping[str, Any]) -> SearchResult:
        data = data if isinstance(data, Mapping) else {}
        cursor = additional.get("next_cursor")
        return cls(tuple(_entries(data.get("items"))), tuple(_entries(data.get("related_items"))),
                   cursor if isinstance(cursor, str) and cursor else None)


def _entries(value: Any) -> Iterator[JSON]:
    for entry in value or ():
        if isinstance(entry, dict) and isinstance(entry.get("item"), dict):
            yield entry


# ---------------------------------------------------------------------- checks before sending


def check_term(term: Any, exact_match: bool) -> str:
    """The term to send (surrounding spaces removed), or ``InvalidValue`` saying what to do."""
    if not isinstance(term, str) or not term.strip():
        raise InvalidValue("term", "Type something to search for; an empty search is refused "
                                   "by Pipedrive (nothing was sent)")
    text = term.strip()
    if len(text) < 2 and not exact_match:
        raise InvalidValue("term", f"Search for at least 2 characters ({text!r} has 1), or "
                                   "search for an exact match to look up a single character; "
                                   "nothing was sent")
    return text


def check_limit(limit: Any, maximum: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise InvalidValue("limit", f"A search returns 1 to {maximum} items per page; got "
                                    f"{limit!r}. Ask for at most {maximum} and follow "
                                    "next_cursor for more; nothing was sent")
    return limit


def check_choices(name: str, values: str | Iterable[str] | None, allowed: tuple[str, ...],
                  where: str) -> list[str]:
    """The chosen values (None: none), each among ``allowed``, else ``InvalidValue``."""
    if values is None:
        return []
    if isinstance(values, str):
        chosen = [values]
    elif isinstance(values, Iterable):
        chosen = list(values)
    else:
        raise InvalidValue(name, f"{where} takes {name} as one value or a list of them "
                                 f"({', '.join(allowed) or 'none'}); got {values!r}; nothing "
                                 "was sent")
    bad = [v for v in chosen if v not in allowed]
    if bad:
        raise InvalidValue(name, f"{where} cannot take {name} {', '.join(map(repr, bad))}; "
                                 f"use {', '.join(allowed) or 'none'}; nothing was sent")
    return list(dict.fromkeys(chosen))


def _check_id(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidValue(name, f"{name} is the id of a record, a positive whole number; got "
                                 f"{value!r}; nothing was sent")
    return value


# ---------------------------------------------------------------------- the queries


def item_search_query(term: str, *, item_types: str | Iterable[str] | None = (),
                      fields: str | Iterable[str] | None = (), exact_match: bool = False,
                      related: bool = False, include_fields: str | Iterable[str] | None = (),
                      limit: int = ITEM_LIMIT, cursor: str | None = None) -> JSON:
    """The checked query of ``GET /api/v2/itemSearch``."""
    where = "itemSearch"
    return {
        "term": check_term(term, exact_match),
        "item_types": check_choices("item_types", item_types, ITEM_TYPES, where) or None,
        "fields": check_choices("fields", fields, ITEM_FIELDS, where) or None,
        "search_for_related_items": True if related else None,
        "exact_match": True if exact_match else None,
        "include_fields": check_choices("include_fields", include_fields, ITEM_INCLUDE,
                                        where) or None,
        "limit": check_limit(limit, ITEM_LIMIT),
        "cursor": cursor or None,
    }


def entity_search_query(name: str | Resource, term: str, *, fields: str | Iterable[str] | None = (),
                        exact_match: bool = False, include_fields: str | Iterable[str] | None = (),
                        limit: int = ITEM_LIMIT, cursor: str | None = None,
                        filters: Mapping[str, Any] | None = None) -> tuple[str, JSON]:
    """``(path, checked query)`` of a per-entity search (``/deals/search``, …)."""
    res = resource(name)
    spec = ENTITY_SEARCHES.get(res.name)
    if spec is None:
        raise InvalidValue("resource", f"{res.name} have no search of their own; search "
                                       f"{', '.join(ENTITY_SEARCHES)}, or use itemSearch")
    where = f"{res.name} search"
    query: JSON = {
        "term": check_term(term, exact_match),
        "fields": check_choices("fields", fields, spec.fields, where) or None,
        "exact_match": True if exact_match else None,
        "include_fields": check_choices("include_fields", include_fields,
                                        spec.include_fields, where) or None,
        "limit": check_limit(limit, ENTITY_LIMIT),
        "cursor": cursor or None,
    }
    for key, value in (filters or {}).items():
        if value is None:
            continue
        if key not in spec.filters:
            raise InvalidValue(key, f"{where} cannot be filtered by {key}; use "
                                    f"{', '.join(spec.filters) or 'no filters'}; nothing "
                                    "was sent")
        if key == "status":
            check_choices("status", value, STATUSES, where)
            if not isinstance(value, str):
                raise InvalidValue("status", f"{where} takes one status, one of "
                                             f"{', '.join(STATUSES)}; nothing was sent")
            query[key] = value
        else:
            query[key] = _check_id(key, value)
    return spec.path, query

