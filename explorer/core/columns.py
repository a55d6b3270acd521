"""Columns: which fields a table (and an export of it) shows, and a record's value as text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from explorer.api import Field, NameCache

# The columns a new table shows, in order, as the Pipedrive web app's list views open; every
# other field (custom fields included) is one click away in the column chooser.
DEFAULT_KEYS: dict[str, tuple[str, ...]] = {
    "deals": ("title", "value", "org_id", "person_id", "stage_id", "status",
              "expected_close_date", "owner_id", "update_time"),
    "leads": ("title", "value", "person_id", "organization_id", "label_ids", "owner_id",
              "expected_close_date", "add_time"),
    "persons": ("name", "org_id", "emails", "phones", "owner_id", "update_time"),
    "organizations": ("name", "address", "owner_id", "update_time"),
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
    currency = record.get("currency") if field.key == "value" else None
    return names.format_value(field, value, currency=currency)


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
