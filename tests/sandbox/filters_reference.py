"""Saved filters evaluated in plain Python, as Pipedrive documents them, for tests to compare with.

The sandbox answers ``filter_id`` in SQL (``explorer/sandbox/filtering.py``); a test that took
its expected rows from that same code could not fail when it is wrong. This module reads a
filter the way a client sees it (``GET /v1/filters/{id}?include_field_code=true``) and decides
each record fetched through the API on its own:

* the condition tree is ``{"glue": "and", "conditions": [group, group]}`` and a group's glue
  (``and`` / ``or``) joins its conditions; an empty group matches everything (the ``POST
  /v1/filters`` description in the v1 spec);
* operators mean what ``GET /v1/filters/helpers`` (v1 spec example) calls them: ``IS NULL`` "is
  empty", ``IS NOT NULL`` "is not empty", ``=`` "is", ``!=`` "is not", ``<`` / ``>`` / ``<=`` /
  ``>=`` less / more (earlier / later for dates), ``LIKE '$%'`` "starts with", ``LIKE '%$%'``
  "contains", ``NOT LIKE '$%'`` "does not start with";
* date values come as ``YYYY-MM-DD`` (v1 spec) and are compared with the record's day;
* a condition other than "is empty" / "is not empty" never matches an empty value.
"""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

# GET /v1/filters?type= → the v2 *Fields endpoint describing the filtered records.
FIELDS_ENDPOINT = {"deals": "dealFields", "people": "personFields", "org": "organizationFields",
                   "products": "productFields", "activity": "activityFields"}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _comparable(value: Any, wanted: str, field_type: str) -> tuple[Any, Any]:
    """The record's value and the condition's text as two values of one type."""
    if isinstance(value, dict) and "value" in value:  # monetary and address objects
        value = value["value"]
    if field_type == "date":
        return str(value)[:10], wanted[:10]
    if isinstance(value, bool):
        return value, wanted.strip().lower() in ("1", "true")
    if isinstance(value, int | float):
        return float(value), float(wanted)
    return str(value), wanted


def condition_matches(record: JSON, cond: JSON, field_types: dict[str, str]) -> bool:
    code = cond["field_code"]
    value = record.get(code)
    operator = cond["operator"]
    if operator == "IS NULL":
        return _empty(value)
    if operator == "IS NOT NULL":
        return not _empty(value)
    if _empty(value):
        return False
    wanted = "" if cond.get("value") is None else str(cond["value"])
    if operator in ("LIKE '$%'", "LIKE '%$%'", "NOT LIKE '$%'"):
        text, term = str(value).lower(), wanted.lower()
        if operator == "LIKE '%$%'":
            return term in text
        starts = text.startswith(term)
        return starts if operator == "LIKE '$%'" else not starts
    mine, theirs = _comparable(value, wanted, field_types.get(code, ""))
    comparisons = {
        "=": lambda: mine == theirs, "!=": lambda: mine != theirs,
        "<": lambda: mine < theirs, ">": lambda: mine > theirs,
        "<=": lambda: mine <= theirs, ">=": lambda: mine >= theirs,
    }
    return bool(comparisons[operator]())


def filter_matches(record: JSON, conditions: JSON, field_types: dict[str, str]) -> bool:
    """Whether ``record`` passes a saved filter's whole condition tree."""
    for group in conditions.get("conditions", ()):
        results = [condition_matches(record, c, field_types)
                   for c in group.get("conditions", ())]
        if not results:
            continue
        passed = any(results) if group.get("glue") == "or" else all(results)
        if not passed:
            return False
    return True
