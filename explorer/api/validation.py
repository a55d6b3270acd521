"""Checks a field value before a write and returns it in the form the API takes.

Two sources decide a value's shape. The field catalog's ``field_type`` says what the value
means (an option, a date, money); for built-in fields the request schema of the resource's
write operation (``data/body_types.json``, compiled from the official specs) says what the body
carries: a deal's ``value`` is a bare number with ``currency`` a separate key, a yes/no flag
typed as a choice is a boolean, an id is a whole number. Custom fields have no schema of their
own (``custom_fields`` is a free object); their shapes are the ones the v2 docs give per type
(monetary: ``{"value": number, "currency": code}``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from functools import cache
from typing import TYPE_CHECKING, Any

from explorer.api.errors import InvalidValue
from explorer.api.resources import body_types, resource

if TYPE_CHECKING:
    from explorer.api.fields import Field

JSON = dict[str, Any]

MAX_VARCHAR = 255
MAX_TEXT = 65_535
# Limits from the seed changelog: 50 emails / phones per person, notes of ~3,000,000 chars.
MAX_ITEMS = {("persons", "emails"): 50, ("persons", "phones"): 50}
MAX_CHARS = {("notes", "content"): 3_000_000}
VISIBLE_TO = (1, 3, 5, 7)


@cache
def schema_types(name: str) -> Mapping[str, str]:
    """The JSON type of each top-level body key a resource's create or update takes (the
    update's where both have it)."""
    res = resource(name)
    out: dict[str, str] = {}
    for op in ("create", "update"):
        found = res.operation(op)
        if found is not None:
            method, version, template = found
            out.update(body_types().get(f"{version} {method} {template}", {}))
    return out


def schema_type(field: Field) -> str | None:
    """What the request body carries for a built-in field (None: custom, or not in a body)."""
    return None if field.is_custom else schema_types(field.resource).get(field.key)


def where(field: Field) -> str:
    return f"Field '{field.name}' of {field.resource}"


def _fail(field: Field, expected: str, value: Any) -> InvalidValue:
    shown = repr(value) if len(repr(value)) <= 60 else f"{type(value).__name__} value"
    return InvalidValue(field.name, f"{where(field)} takes {expected}; got {shown}")


def _number(value: Any) -> bool:
    """A number JSON can carry: NaN and ±Infinity cannot (they are not JSON)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


def validate(field: Field, value: Any) -> Any:
    """Check one value for a write and return it as the API takes it (v2 form)."""
    if not field.editable:
        raise InvalidValue(field.name, f"{where(field)} is read-only: Pipedrive sets it; "
                                       "leave it out of the change")
    if value is None:
        return None
    wanted = schema_type(field)
    if wanted == "boolean":
        return _flag(field, value)
    if field.key == "lead_id" and not field.is_custom:
        return _lead_id(field, value)  # the catalog types it as text; it is a lead's UUID
    if wanted in ("integer", "number") and field.type in _TEXT_TYPES:
        # The spec's body takes a number where the catalog says text (a product's category).
        if not _number(value):
            raise _fail(field, "a number", value)
        checked = value
    else:
        checked = _by_type(field, value)
    if wanted == "integer":
        return _whole(field, checked)
    if wanted in _JSON_TYPES and not isinstance(checked, _JSON_TYPES[wanted]):
        # Whatever the catalog says, the body must carry the spec's type.
        raise _fail(field, _JSON_NAMES[wanted], value)
    return checked


_TEXT_TYPES = frozenset({"varchar", "varchar_auto", "phone", "text", "varchar_options"})
_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str, "number": (int, float), "array": list, "object": dict}
_JSON_NAMES = {"string": "text", "number": "a number", "array": "a list", "object": "an object"}


def _flag(field: Field, value: Any) -> bool:
    """A yes/no value: a boolean, or (a flag the catalog types as a choice) its option."""
    if isinstance(value, bool):
        return value
    if field.options and isinstance(value, str | int):
        try:
            option = field.option_id(value)
        except InvalidValue:
            option = None
        if option in (0, 1) or option in ("0", "1"):
            return bool(int(option))
    raise _fail(field, "true or false (Yes or No)", value)


def _whole(field: Field, value: Any) -> int:
    """A whole number: 1.5 refused, 2.0 sent as 2."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _fail(field, "a whole number (no decimals)", value)


def _by_type(field: Field, value: Any) -> Any:
    ftype = field.type
    limit_items = MAX_ITEMS.get((field.resource, field.key))
    if limit_items is not None:
        return _contacts(field, value, limit_items)
    if ftype in ("varchar", "varchar_auto", "phone", "text", "varchar_options"):
        limit = MAX_CHARS.get((field.resource, field.key),
                              MAX_TEXT if ftype == "text" else MAX_VARCHAR)
        if not isinstance(value, str):
            raise _fail(field, "text", value)
        if len(value) > limit:
            raise InvalidValue(field.name, f"{where(field)} holds at most {limit:,} "
                                           f"characters; this value has {len(value):,}. "
                                           "Shorten it")
        return value
    if ftype in ("double", "int"):
        if not _number(value):
            raise _fail(field, "a finite number" if isinstance(value, float) else "a number",
                        value)
        return _whole(field, value) if ftype == "int" else value
    if ftype == "boolean":
        if not isinstance(value, bool):
            raise _fail(field, "true or false", value)
        return value
    if ftype == "monetary":
        return _money(field, value)
    if ftype == "enum":
        if isinstance(value, bool) and not field.is_custom:
            return value  # built-in flags (is_archived) are booleans in the API
        return field.option_id(value)
    if ftype == "set":
        return _set(field, value)
    if ftype == "date":
        return _timestamp(field, value) if _is_timestamp(field) else _date(field, value)
    if ftype == "time":
        return _time(field, value)
    if ftype in ("daterange", "timerange"):
        return _range(field, value)
    if ftype in ("user", "org", "people", "deal", "lead", "stage"):
        return _reference(field, value)
    if ftype == "address":
        if isinstance(value, str):
            return {"value": value}
        if isinstance(value, dict) and isinstance(value.get("value"), str):
            return value
        raise _fail(field, 'an address text or {"value": "…"}', value)
    if ftype == "visible_to":
        return _visible_to(field, value)
    return value


def _set(field: Field, value: Any) -> list[Any]:
    """Option ids. A built-in list (``label_ids``) is cleared with ``[]``, as the API writes
    it; a custom set is cleared with None (Pipedrive refuses ``[]``). v1 writes a set's ids
    as one text, ``"143,147"``: taken apart when it is not itself a label."""
    if isinstance(value, str) and "," in value:
        value = _comma_ids(field, value) or value
    if isinstance(value, str | int) or not isinstance(value, list | tuple | set | frozenset):
        value = [value]
    if not value:
        if not field.is_custom and schema_type(field) == "array":
            return []
        raise _fail(field, "at least one option (send None to clear it)", value)
    return list(dict.fromkeys(field.option_id(v) for v in value))


def _comma_ids(field: Field, text: str) -> list[str] | None:
    """``"143,147"`` as ``["143", "147"]`` if every part is an option id and the whole is no
    option's label; else None."""
    if any(o.label.casefold() == text.casefold() for o in field.options):
        return None
    parts = [part.strip() for part in text.split(",")]
    ids = {str(o.id) for o in field.options}
    return parts if parts and all(part in ids for part in parts) else None


def _contacts(field: Field, value: Any, limit: int) -> list[JSON]:
    items = [value] if isinstance(value, str | dict) else value
    if not isinstance(items, list | tuple):
        raise _fail(field, "a list of addresses/numbers", value)
    if len(items) > limit:
        raise InvalidValue(field.name, f"{where(field)} holds at most {limit} entries; this "
                                       f"value has {len(items)}. Remove some first")
    out: list[JSON] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            item = {"value": item}
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise _fail(field, 'entries like "ann@example.com" or {"value": …}', value)
        entry: JSON = {"value": item["value"], "primary": bool(item.get("primary", i == 0))}
        if item.get("label"):
            entry["label"] = str(item["label"])
        out.append(entry)
    return out


def _money(field: Field, value: Any) -> Any:
    """Money in the shape its key takes: a bare number (a deal's ``value``, whose currency is
    the separate ``currency`` key), ``{"amount", "currency"}`` (a lead's value), a list of
    prices (a product's ``prices``), or ``{"value", "currency"}`` (custom fields)."""
    wanted = schema_type(field)
    if wanted == "number":
        if _number(value):
            return value
        if isinstance(value, float):
            raise _fail(field, "a finite amount", value)
        raise _fail(field, 'a number (the amount); send the currency separately, as '
                           '"currency" (the Currency field)', value)
    if wanted == "array":
        return _prices(field, value)
    amount = value.get("value", value.get("amount")) if isinstance(value, dict) else value
    currency = value.get("currency") if isinstance(value, dict) else None
    valid_currency = currency is None or (isinstance(currency, str)
                                          and bool(re.fullmatch(r"[A-Z]{3}", currency)))
    if isinstance(amount, float) and not math.isfinite(amount):
        raise _fail(field, "a finite amount", value)
    if field.resource == "leads" and field.key == "value":
        # A lead's value is {"amount", "currency"}, both required.
        if _number(amount) and currency is not None and valid_currency:
            return {"amount": amount, "currency": currency}
        raise _fail(field, 'an amount with its currency, {"amount": 200, "currency": "EUR"}',
                    value)
    if isinstance(value, dict) and _number(amount) and valid_currency:
        return {"value": amount, "currency": currency}
    if _number(value) and resource(field.resource).custom_fields == "flat":
        return value  # v1's flat form: the amount alone, in the company's default currency
    raise _fail(field, 'an amount with its currency, {"value": 1200, "currency": "EUR"}',
                value)


def _prices(field: Field, value: Any) -> list[JSON]:
    """A product's prices: ``[{"price": 10, "currency": "EUR", …}]`` (one entry may come
    alone)."""
    items = [value] if isinstance(value, dict) else value
    example = 'a list of prices, [{"price": 10, "currency": "EUR"}]'
    if not isinstance(items, list | tuple) or not items:
        raise _fail(field, example, value)
    for item in items:
        if not (isinstance(item, dict) and _number(item.get("price"))
                and isinstance(item.get("currency"), str)
                and re.fullmatch(r"[A-Z]{3}", item["currency"])):
            raise _fail(field, example, value)
    return [dict(item) for item in items]


def _date(field: Field, value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()[:10]
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise _fail(field, "a date YYYY-MM-DD", value)


def _is_timestamp(field: Field) -> bool:
    """A built-in v2 ``*_time`` the catalog types as a date (a deal's ``won_time``,
    ``lost_time``, ``close_time``): the API writes and documents a date and time
    (``2021-01-01T00:00:00Z``), not a date."""
    return (not field.is_custom and field.key.endswith("_time")
            and resource(field.resource).version == "v2")


def _timestamp(field: Field, value: Any) -> str:
    """RFC 3339 in UTC (``2025-01-31T10:20:30Z``) from an aware datetime or RFC 3339 text;
    a date alone passes as ``YYYY-MM-DD``."""
    expected = "a date and time with its offset, 2025-01-31T10:20:30Z (or a date YYYY-MM-DD)"
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    moment = value
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text).isoformat()
            moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
        except ValueError:
            raise _fail(field, expected, value) from None
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise _fail(field, expected, value)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(field: Field, value: Any) -> str:
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, str):
        try:
            return time.fromisoformat(value).strftime("%H:%M:%S")
        except ValueError:
            pass
    raise _fail(field, "a time HH:MM or HH:MM:SS", value)


def _range(field: Field, value: Any) -> JSON:
    check = _date if field.type == "daterange" else _time
    if isinstance(value, dict):
        start, end = value.get("start"), value.get("end")
    elif isinstance(value, list | tuple) and len(value) == 2:
        start, end = value
    else:
        raise _fail(field, "a (start, end) pair", value)
    return {"start": check(field, start), "end": None if end is None else check(field, end)}


def _lead_id(field: Field, value: Any) -> str:
    """A lead id: a UUID as Pipedrive writes them (any other text is no lead)."""
    try:
        checked = resource("leads").check_id(value)
    except ValueError:
        raise _fail(field, "the id of a lead (a UUID such as "
                           "8b967fe2-01c4-4cbc-8345-995d0c987715)", value) from None
    return str(checked)


def _reference(field: Field, value: Any) -> Any:
    if field.type == "lead":
        return _lead_id(field, value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise _fail(field, f"the id of a {field.type}", value)


def _visible_to(field: Field, value: Any) -> Any:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    fractional = isinstance(value, float) and value != number  # 3.7 is no group, not 3
    if isinstance(value, bool) or fractional or number not in VISIBLE_TO:
        raise _fail(field, "a visibility group (1 owner only, 3 owner's group, 5 owner's "
                           "group and sub-groups, 7 entire company)", value)
    # v1 resources take it as text ("3"), v2 as a number.
    return str(number) if resource(field.resource).version == "v1" else number
