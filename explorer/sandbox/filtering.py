"""Saved filters (``filter_id``): a filter's conditions turned into store conditions.

A filter record stores Pipedrive's condition tree::

    {"glue": "and", "conditions": [
        {"glue": "and", "conditions": [
            {"object": "deal", "field_id": "12453", "operator": "=", "value": "open",
             "extra_value": null}]},
        {"glue": "or", "conditions": []}]}

``field_id`` is the id of a field in the *Fields endpoints. Conditions on fields the store
keeps as columns are answered in SQL, so filtered lists page exactly like unfiltered ones.
"""

from __future__ import annotations

from typing import Any

from explorer.sandbox.collections import COLLECTIONS
from explorer.sandbox.http import ApiProblem, not_found
from explorer.sandbox.store import Store, Where

# Filter ``type`` for each collection, as GET /v1/filters?type= names them.
FILTER_TYPES = {
    "deals": "deals", "leads": "leads", "organizations": "org", "persons": "people",
    "products": "products", "activities": "activity",
}

# Column names that differ from the field key.
_COLUMN_ALIASES = {"leads": {"org_id": "organization_id"}, "deals": {"user_id": "owner_id"},
                   "persons": {"user_id": "owner_id"},
                   "organizations": {"user_id": "owner_id"}}

_OPERATORS = {"=": "=", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}


def _condition(store: Store, collection: str, cond: dict[str, Any]) -> tuple[str, list[Any]]:
    field = store.get("fields", int(cond["field_id"]))
    if field is None:
        raise ApiProblem(400, f"Filter refers to unknown field {cond['field_id']}")
    key = _COLUMN_ALIASES.get(collection, {}).get(field["key"], field["key"])
    if key not in COLLECTIONS[collection].columns:
        raise ApiProblem(400, f"Filtering on field '{field['name']}' is not supported here")
    operator = cond.get("operator", "=")
    value = cond.get("value")
    if operator == "IS NULL":
        return f"{key} IS NULL", []
    if operator == "IS NOT NULL":
        return f"{key} IS NOT NULL", []
    if operator == "LIKE '%$%'":
        return f"{key} LIKE ?", [f"%{value}%"]
    if operator == "LIKE '$%'":
        return f"{key} LIKE ?", [f"{value}%"]
    if operator == "NOT LIKE '$%'":
        return f"{key} NOT LIKE ?", [f"{value}%"]
    if operator not in _OPERATORS:
        raise ApiProblem(400, f"Unsupported filter operator {operator!r}")
    if isinstance(value, str) and value.lstrip("-").replace(".", "", 1).isdigit():
        value = float(value) if "." in value else int(value)
    return f"{key} {_OPERATORS[operator]} ?", [value]


def where_for_filter(store: Store, filter_id: int, collection: str) -> Where:
    """Store conditions equivalent to saved filter ``filter_id`` applied to ``collection``."""
    record = store.get("filters", filter_id)
    if record is None:
        raise not_found("Filter")
    expected = FILTER_TYPES.get(collection)
    if record.get("type") != expected:
        raise ApiProblem(
            400,
            f"Filter {filter_id} is a '{record.get('type')}' filter, not a '{expected}' filter",
            "Use a filter of the same type as the list.",
        )
    groups = []
    params: list[Any] = []
    for group in (record.get("conditions") or {}).get("conditions", []):
        parts = []
        for cond in group.get("conditions", []):
            sql, p = _condition(store, collection, cond)
            parts.append(sql)
            params += p
        if parts:
            glue = " OR " if group.get("glue") == "or" else " AND "
            groups.append("(" + glue.join(parts) + ")")
    if not groups:
        return []
    return [(" AND ".join(groups), params)]
