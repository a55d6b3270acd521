"""Columns: which fields a table (and an export of it) shows, and a record's value as text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from explorer.api import Field, NameCache
from explorer.api.display import ID_KEYS, field_as
from explorer.core.detail_fields import FLAG_KEYS, key_name, plain_text

# The columns a new table shows, in order, as the Pipedrive web app's list views open; every
# other field (custom fields included) is one click away in the column chooser.
DEFAULT_KEYS: dict[str, tuple[str, ...]] = {
    "deals": ("title", "value", "org_id", "person_id", "stage_id", "status",
              "expected_close_date", "owner_id", "update_time"),
    "leads": ("title", "value", "person_id", "organization_id", "label_ids", "owner_id",
              "expected_close_date", "add_time"),
    "persons": ("name", "org_id", "emails", "phones", "owner_id", "update_time"),
    "organizations": ("name", "label_ids", "address", "industry", "website", "owner_id",
                      "update_time"),
    "activities": ("subject", "type", "due_date", "due_time", "done", "deal_id", "person_id",
                   "org_id", "owner_id"),
    "products": ("name", "code", "prices", "unit", "tax", "owner_id", "is_deleted"),
    "notes": ("content", "deal_id", "person_id", "org_id", "user_id", "update_time"),
    "users": ("name", "email", "is_admin", "active_flag", "role_id", "timezone_name"),
}


def raw_value(record: Mapping[str, Any], field: Field) -> Any:
    """The API value of ``field`` in ``record`` (v2 custom values are nested in
    ``custom_fields``; v1 custom values and built-ins are flat)."""
    if field.is_custom:
        nested = record.get("custom_fields")
        if isinstance(nested, Mapping) and field.key in nested:
            return nested[field.key]
    return record.get(field.key)


def cell_text(names: NameCache, field: Field, record: Mapping[str, Any]) -> str:
    """What a cell shows: option labels, money with currency, names for ids (from the name
    cache; ``#id`` until a name is known)."""
    value = raw_value(record, field)
    if field.type == "boolean" and value in (0, 1) and not isinstance(value, bool):
        return "Yes" if value else "No"  # users' is_admin is 0 or 1
    if field.resource == "activities" and field.key == "type" and not field.options \
            and isinstance(value, str):
        # The type's key ("product_demo"); Pipedrive names the built-in types after their
        # keys ("Product demo"), and a custom type's key is made from its name.
        return value.replace("_", " ").strip().capitalize()
    if field.key == "prices" and isinstance(value, list):
        return _prices(names, field, value)
    currency = record.get("currency") if field.key == "value" else None
    text = names.format_value(field, value, currency=currency)
    if field.resource == "notes" and field.key == "content":
        return plain_text(text)  # a note is HTML; a cell shows its words, not its tags
    return text


def _prices(names: NameCache, field: Field, prices: list[Any]) -> str:
    """A product's price in each currency (``€49.00, $52.92``)."""
    money = field_as(field, "monetary")
    return ", ".join(names.format_value(money, {"value": p.get("price"),
                                                "currency": p.get("currency")})
                     for p in prices if isinstance(p, Mapping) and p.get("price") is not None)


def default_columns(resource: str, fields: Iterable[Field]) -> list[Field]:
    """The fields a new table of ``resource`` shows: the web app's usual columns that exist,
    else the first few fields."""
    by_key = {f.key: f for f in fields}
    chosen = [by_key[k] for k in DEFAULT_KEYS.get(resource, ()) if k in by_key]
    return chosen or list(by_key.values())[:8]


def ordered(fields: Iterable[Field], keys: Sequence[str]) -> list[Field]:
    """``fields`` picked and ordered by ``keys`` (unknown keys are skipped: a custom field
    deleted in Pipedrive drops out of a remembered layout)."""
    by_key = {f.key: f for f in fields}
    return [by_key[k] for k in keys if k in by_key]


# What each list can be sorted by on the server (the OpenAPI spec's ``sort_by`` lists for v2,
# the ``sort`` keys v1 documents or the sandbox serves for v1 leads); users cannot be sorted.
SORTABLE: dict[str, frozenset[str]] = {
    "deals": frozenset({"id", "update_time", "add_time"}),
    "persons": frozenset({"id", "update_time", "add_time"}),
    "organizations": frozenset({"id", "update_time", "add_time"}),
    "activities": frozenset({"id", "update_time", "add_time", "due_date"}),
    "products": frozenset({"id", "name", "add_time", "update_time"}),
    "leads": frozenset({"id", "title", "owner_id", "add_time", "update_time",
                        "expected_close_date"}),
    "notes": frozenset({"id", "user_id", "deal_id", "person_id", "org_id", "content",
                        "add_time", "update_time"}),
}
NUMERIC_TYPES = frozenset({"int", "double", "monetary"})
# Below this many fields of metadata (notes: one, users: none) the table adds columns for
# the keys the records carry.
FEW_FIELDS = 5


def sortable(resource: str, field: Field) -> bool:
    """Whether the API sorts a list of ``resource`` by ``field`` (custom fields: never)."""
    return not field.is_custom and field.key in SORTABLE.get(resource, frozenset())


def id_field(resource: str) -> Field:
    """The record id as a column (the *Fields endpoints do not list it)."""
    return Field(resource, "id", "ID", "int", False, False)


def with_record_keys(resource: str, fields: Sequence[Field],
                     records: Iterable[Mapping[str, Any]]) -> list[Field]:
    """``fields`` plus the id and, for a resource with few fields of metadata, a column for
    every plain key the records carry (nested objects such as a note's ``organization`` are
    left out: their ids have columns)."""
    out = list(fields)
    known = {f.key for f in out}
    if "id" not in known:
        out.insert(0, id_field(resource))
        known.add("id")
    if len(fields) >= FEW_FIELDS:
        return out
    for record in records:
        for key, value in record.items():
            if key in known or isinstance(value, dict) or (
                    isinstance(value, list) and any(isinstance(v, dict) for v in value)):
                continue
            known.add(key)
            out.append(Field(resource, key, key_name(key, resource), _guess_type(key, value),
                             False, False))
    return out


def _guess_type(key: str, value: Any) -> str:
    if isinstance(value, bool) or key in FLAG_KEYS:
        return "boolean"  # shown Yes / No
    if key in ID_KEYS:
        return "varchar"  # shown as the name it refers to, not as a number
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    return "varchar"
