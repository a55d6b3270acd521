"""Field definitions (built-in and custom): their stored shape, v1/v2 rendering and validation.

A stored field record (collection ``fields``)::

    {"id": 12501, "entity": "deal", "key": "9f6a…40 hex…", "name": "Deal source",
     "field_type": "enum", "is_custom": True, "order_nr": 41,
     "options": [{"id": 37, "label": "Referral", "color": None}] | None,
     "mandatory": False, "add_time": "2024-01-05T10:00:00Z", "update_time": ...}

``entity`` is one of deal, person, organization, product, activity, note, lead. Built-in fields
have readable keys (``title``, ``value``); custom fields have 40-hex keys. Leads carry the deal
custom fields (Pipedrive has no lead custom fields of its own).
"""

from __future__ import annotations

import re
from typing import Any

from explorer.sandbox.http import JSON, ApiProblem, is_date, schema_error, v2_to_v1_time
from explorer.sandbox.store import Store

ENTITIES = ("deal", "person", "organization", "product", "activity", "note", "lead")

CUSTOM_KEY = re.compile(r"^[0-9a-f]{40}$")

MAX_VARCHAR = 255
MAX_TEXT = 65_535

# Types whose value carries a currency / second part in v1's flat form.
_V1_SUBKEYS = {"monetary": ("currency",), "daterange": ("until",), "timerange": ("until",),
               "address": ()}


def fields_of(store: Store, entity: str) -> list[JSON]:
    """Every field of ``entity`` in display order."""
    source = "deal" if entity == "lead" else entity
    rows = store.select("fields", [("entity = ?", (source,))])
    return sorted(rows, key=lambda f: (f.get("order_nr", 0), f["id"]))


def custom_fields_of(store: Store, entity: str) -> dict[str, JSON]:
    return {f["key"]: f for f in fields_of(store, entity) if f.get("is_custom")}


# ---------------------------------------------------------------------- rendering


def render_v2(field: JSON) -> JSON:
    options = field.get("options")
    out: JSON = {
        "field_name": field["name"],
        "field_code": field["key"],
        "description": field.get("description"),
        "field_type": field["field_type"],
        "options": None if options is None else [
            {"id": o["id"], "label": o["label"], "color": o.get("color")} for o in options
        ],
        "subfields": _subfields(field),
        "is_custom_field": bool(field.get("is_custom")),
        "is_optional_response_field": bool(field.get("is_optional_response_field", False)),
    }
    if out["description"] is None:
        del out["description"]
    return out


def _subfields(field: JSON) -> list[JSON] | None:
    key, name, ftype = field["key"], field["name"], field["field_type"]
    if ftype == "monetary":
        return [{"field_code": f"{key}_currency", "field_name": f"Currency of {name}",
                 "field_type": "varchar"}]
    if ftype in ("daterange", "timerange"):
        return [{"field_code": f"{key}_until", "field_name": f"{name} (end)",
                 "field_type": "date" if ftype == "daterange" else "time"}]
    return None


def render_v1(field: JSON) -> JSON:
    custom = bool(field.get("is_custom"))
    options = field.get("options")
    return {
        "id": field["id"],
        "key": field["key"],
        "name": field["name"],
        "order_nr": field.get("order_nr", 0),
        "field_type": field["field_type"],
        "add_time": v2_to_v1_time(field.get("add_time")),
        "update_time": v2_to_v1_time(field.get("update_time")),
        "last_updated_by_user_id": field.get("last_updated_by_user_id"),
        "created_by_user_id": field.get("created_by_user_id"),
        "active_flag": True,
        "edit_flag": custom,
        "index_visible_flag": True,
        "details_visible_flag": True,
        "add_visible_flag": bool(field.get("add_visible", not custom)),
        "important_flag": False,
        "bulk_edit_allowed": bool(field.get("bulk_edit_allowed", True)),
        "searchable_flag": field["field_type"] in SEARCHABLE_TYPES,
        "filtering_allowed": True,
        "sortable_flag": True,
        "mandatory_flag": bool(field.get("mandatory", False)),
        "options": None if options is None else [
            {"id": o["id"], "label": o["label"]} for o in options
        ],
    }


SEARCHABLE_TYPES = frozenset(
    {"address", "varchar", "text", "varchar_auto", "double", "monetary", "phone"}
)


# ---------------------------------------------------------------------- validation


def validate_custom_values(store: Store, entity: str, values: Any) -> JSON:
    """Check a v2 ``custom_fields`` object against the entity's custom fields.

    Returns the normalised values; raises the 400 Pipedrive answers for an unknown key, a value
    of the wrong type, or an enum/set option id that is not among the field's options.
    """
    if not isinstance(values, dict):
        raise schema_error("custom_fields: must be an object")
    known = custom_fields_of(store, entity)
    out: JSON = {}
    for key, value in values.items():
        field = known.get(key)
        if field is None:
            raise schema_error(
                f"custom_fields.{key}: Parameter '{key}' is not allowed for this request"
            )
        out[key] = check_value(store, field, value)
    return out


def _fail(field: JSON, expected: str) -> ApiProblem:
    return ApiProblem(
        400,
        f"Invalid value for field '{field['name']}' ({field['key']}): expected {expected}",
        "Check the field's type in the *Fields endpoint.",
    )


def _option_ids(field: JSON) -> set[int]:
    return {int(o["id"]) for o in field.get("options") or ()}


def check_value(store: Store, field: JSON, value: Any) -> Any:
    """Validate and normalise one custom field value (v2 form); None clears it."""
    if value is None:
        return None
    ftype = field["field_type"]
    if ftype in ("varchar", "varchar_auto", "text", "phone"):
        limit = MAX_TEXT if ftype == "text" else MAX_VARCHAR
        if not isinstance(value, str) or len(value) > limit:
            raise _fail(field, f"a string of at most {limit} characters")
        return value
    if ftype == "double":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(field, "a number")
        return value
    if ftype == "monetary":
        if not isinstance(value, dict) or not isinstance(value.get("value"), int | float) or (
            isinstance(value.get("value"), bool)
        ):
            raise _fail(field, 'an object {"value": number, "currency": "EUR"}')
        currency = value.get("currency")
        if currency is not None:
            check_currency(store, currency)
        return {"value": value["value"], "currency": currency}
    if ftype == "enum":
        if isinstance(value, bool) or not isinstance(value, int) or value not in _option_ids(field):
            raise ApiProblem(
                400,
                f"Option {value!r} does not exist for field '{field['name']}' ({field['key']})",
                f"Valid option ids: {sorted(_option_ids(field))}.",
            )
        return value
    if ftype == "set":
        if not isinstance(value, list) or not value:
            raise _fail(field, "a non-empty array of option ids (send null to clear)")
        bad = [v for v in value if isinstance(v, bool) or not isinstance(v, int)
               or v not in _option_ids(field)]
        if bad:
            raise ApiProblem(
                400,
                f"Options {bad} do not exist for field '{field['name']}' ({field['key']})",
                f"Valid option ids: {sorted(_option_ids(field))}.",
            )
        return list(dict.fromkeys(value))
    if ftype == "date":
        if not isinstance(value, str) or not is_date(value):
            raise _fail(field, "a date YYYY-MM-DD")
        return value
    if ftype in ("user", "org", "people"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(field, "an integer id")
        coll = {"user": "users", "org": "organizations", "people": "persons"}[ftype]
        if store.get(coll, value) is None:
            raise ApiProblem(400, f"{ftype} with id {value} for field '{field['name']}' not found")
        return value
    if ftype == "address":
        if isinstance(value, str):
            return {"value": value}
        if not isinstance(value, dict) or not isinstance(value.get("value"), str):
            raise _fail(field, 'an object {"value": "full address", ...}')
        return value
    if ftype in ("daterange", "timerange"):
        if not isinstance(value, dict) or not isinstance(value.get("start"), str):
            raise _fail(field, 'an object {"start": ..., "end": ...}')
        return value
    if ftype == "time":
        if not isinstance(value, str):
            raise _fail(field, "a time HH:MM:SS")
        return value
    return value


def check_currency(store: Store, code: Any) -> None:
    """400 "Unknown currency provided!" unless ``code`` is a real or custom company currency."""
    if not isinstance(code, str) or not store.count("currencies", [("code = ?", (code,))]):
        raise ApiProblem(
            400,
            "Unknown currency provided!",
            f"'{code}' is neither a real nor a custom currency of the company; "
            "GET /v1/currencies lists them.",
        )


# ---------------------------------------------------------------------- v1 flat form


def flatten_custom(values: JSON, fields: dict[str, JSON]) -> JSON:
    """v2 ``custom_fields`` → v1's flat keys (monetary gets ``<key>_currency``)."""
    out: JSON = {}
    for key, field in fields.items():
        value = values.get(key)
        ftype = field["field_type"]
        if ftype == "monetary":
            out[key] = None if value is None else value.get("value")
            out[f"{key}_currency"] = None if value is None else value.get("currency")
        elif ftype in ("daterange", "timerange"):
            out[key] = None if value is None else value.get("start")
            out[f"{key}_until"] = None if value is None else value.get("end")
        elif ftype == "address":
            out[key] = None if value is None else value.get("value")
        elif ftype == "set":
            out[key] = None if value is None else ",".join(str(v) for v in value)
        else:
            out[key] = value
    return out
