"""Shared v1 machinery: offset paging, ``sort`` parsing, and v1 views of stored records."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from explorer.sandbox.fields import CUSTOM_KEY, check_value, flatten_custom
from explorer.sandbox.http import (
    JSON,
    Query,
    bad_request,
    drop_none,
    v1_pagination,
    v2_to_v1_time,
)
from explorer.sandbox.store import Store, Where

MAX_LIMIT = 500
DEFAULT_LIMIT = 100

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def is_uuid(text: str) -> bool:
    return bool(_UUID.match(text))


def as_rfc3339(value: str | None) -> str | None:
    """A stored v1 time (``2024-05-01 09:30:00``) as RFC 3339, for the few v1 schemas that
    declare ``format: date-time`` (activity types, lead fields)."""
    if not value or "T" in value:
        return value
    return value.replace(" ", "T") + "Z"


# ---------------------------------------------------------------------- paging


def page_params(q: Query, *, maximum: int = MAX_LIMIT) -> tuple[int, int]:
    """``start`` and ``limit`` of a v1 list (400 for negative, zero or over ``maximum``)."""
    start = q.int("start", 0, minimum=0) or 0
    limit = q.int("limit", DEFAULT_LIMIT, minimum=1, maximum=maximum) or DEFAULT_LIMIT
    return start, limit


def fetch_page(
    store: Store, name: str, where: Where, order_by: list[tuple[str, str]], start: int, limit: int
) -> tuple[list[JSON], bool]:
    """One offset page and whether more records follow (one query, ``limit + 1`` rows)."""
    rows = store.select(name, where, order_by=order_by, limit=limit + 1, offset=start)
    return rows[:limit], len(rows) > limit


def pagination(start: int, limit: int, more: bool, *, flat: bool = False) -> JSON:
    """v1 ``additional_data``.

    ``flat`` is for the operations whose spec schema puts ``start``/``limit``/
    ``more_items_in_collection`` directly in ``additional_data`` (leads, leadFields) while
    their examples and every other v1 list use the ``pagination`` wrapper: both are sent, so
    clients written against either form page correctly.
    """
    data = v1_pagination(start, limit, more)
    if flat:
        return {**data["pagination"], **data}
    return data


def order_from_sort(raw: str | None, columns: Mapping[str, str]) -> list[tuple[str, str]]:
    """v1 ``sort`` (``"add_time DESC, title ASC"``) → ``order_by`` ending in ``seq`` for stability.

    ``columns`` maps each sortable field to its SQL expression.
    """
    order: list[tuple[str, str]] = []
    for part in (raw or "").split(","):
        words = part.split()
        if not words:
            continue
        name = words[0]
        direction = words[1].upper() if len(words) > 1 else "ASC"
        if name not in columns or direction not in ("ASC", "DESC") or len(words) > 2:
            raise bad_request(
                f"Invalid sort '{part.strip()}'",
                f"Use 'field ASC' or 'field DESC' with field one of {', '.join(columns)}.",
            )
        order.append((columns[name], direction))
    order.append(("seq", "ASC"))
    return order


# ---------------------------------------------------------------------- record views


def in_clause(column: str, ids: list[Any]) -> tuple[str, list[Any]]:
    return f"{column} IN ({','.join('?' * len(ids))})", ids


def ids_of(records: Iterable[JSON], key: str) -> list[Any]:
    return list(dict.fromkeys(r[key] for r in records if r.get(key) is not None))


def user_summary(user: JSON, me: int) -> JSON:
    """The ``user`` object nested in v1 notes."""
    return drop_none({"email": user.get("email"), "icon_url": user.get("icon_url"),
                      "is_you": user["id"] == me, "name": user.get("name")})


def _contacts(values: Any) -> list[JSON]:
    return [{"label": v.get("label", "work"), "value": v.get("value", ""),
             "primary": bool(v.get("primary"))} for v in values or () if isinstance(v, dict)]


def related_person(person: JSON) -> JSON:
    """A v2 person as the person object of v1 ``related_objects``.

    ``owner_id`` is there since June 2021 (seed changelog), always an integer.
    """
    return drop_none({
        "active_flag": not person.get("is_deleted", False), "id": person["id"],
        "name": person.get("name"), "email": _contacts(person.get("emails")),
        "phone": _contacts(person.get("phones")), "owner_id": person.get("owner_id"),
    })


_ORG_NULLABLE = frozenset({"address", "cc_email"})


def related_organization(org: JSON) -> JSON:
    """A v2 organization as v1 shows it in ``related_objects``; ``people_count`` must have
    been derived onto the record (``derived.people_count``), stored ones have none."""
    address = org.get("address")
    return drop_none({
        "id": org["id"], "name": org.get("name"), "people_count": org.get("people_count", 0),
        "owner_id": org.get("owner_id"),
        "address": address.get("value") if isinstance(address, dict) else address,
        "active_flag": not org.get("is_deleted", False), "cc_email": None,
    }, _ORG_NULLABLE)


def related_user(user: JSON) -> JSON:
    # ``has_pic`` is an integer flag (0/1) in v1, not a boolean.
    return drop_none({
        "id": user["id"], "name": user.get("name"), "email": user.get("email"),
        "has_pic": int(bool(user.get("icon_url"))), "pic_hash": None,
        "active_flag": user.get("active_flag", True),
    }, frozenset({"pic_hash"}))


def related_objects(
    *,
    users: Iterable[JSON] = (),
    persons: Iterable[JSON] = (),
    organizations: Iterable[JSON] = (),
) -> JSON:
    """v1 ``related_objects`` (type → id as string → object) of records already read, so a
    route reads each type once (one ``get_many``) for its items and their related objects."""
    out: JSON = {}
    for key, records, view in (
        ("user", users, related_user),
        ("person", persons, related_person),
        ("organization", organizations, related_organization),
    ):
        objects = {str(r["id"]): view(r) for r in records}
        if objects:
            out[key] = objects
    return out


def owner_object(user: JSON) -> JSON:
    """A user as the object v1 nests for ``owner_id`` / ``added_by_user_id`` (id in ``value``)."""
    return {**related_user(user), "value": user["id"]}


def org_object(org: JSON) -> JSON:
    """An organization as the ``org_id`` object nested in v1 records (id in ``value``)."""
    view = related_organization(org)
    del view["id"]
    return {**view, "label_ids": org.get("label_ids") or [], "value": org["id"]}


_PERSON_NULLABLE = frozenset({
    "picture_id", "label", "org_name", "cc_email", "org_id", "last_name",
    "next_activity_id", "last_activity_id", "last_incoming_mail_time",
    "last_outgoing_mail_time",
})
# Counts (``derived``) copied from the record into the v1 person when present.
PERSON_COUNTS = (
    "open_deals_count", "related_open_deals_count", "closed_deals_count",
    "related_closed_deals_count", "participant_open_deals_count",
    "participant_closed_deals_count", "won_deals_count", "related_won_deals_count",
    "lost_deals_count", "related_lost_deals_count", "email_messages_count", "activities_count",
    "done_activities_count", "undone_activities_count", "files_count", "notes_count",
    "followers_count", "next_activity_id", "last_activity_id",
)


def person_v1(person: JSON, owner: JSON | None, org: JSON | None, company_id: int) -> JSON:
    """A v2 person as a v1 person object: owner and organization nested as objects, times in
    v1 form, ``visible_to`` as text, custom fields left out (none of the nesting schemas
    lists them)."""
    name = person.get("name") or ""
    label_ids = person.get("label_ids") or []
    view: JSON = {
        "id": person["id"], "company_id": company_id,
        # An object or nothing: the schema has no integer form of the owner here.
        "owner_id": None if owner is None else owner_object(owner),
        "org_id": None if org is None else org_object(org),
        "name": name, "first_name": person.get("first_name"),
        "last_name": person.get("last_name"),
        **{k: person[k] for k in PERSON_COUNTS if k in person},
        "active_flag": not person.get("is_deleted", False),
        "phone": _contacts(person.get("phones")), "email": _contacts(person.get("emails")),
        "first_char": name[:1].lower() or None,
        "add_time": v2_to_v1_time(person.get("add_time")),
        "update_time": v2_to_v1_time(person.get("update_time")),
        "visible_to": str(person.get("visible_to", 3)), "picture_id": None,
        "label": label_ids[0] if label_ids else None, "label_ids": label_ids,
        "org_name": None if org is None else org.get("name"),
        "owner_name": None if owner is None else owner.get("name"), "cc_email": None,
        "last_incoming_mail_time": None, "last_outgoing_mail_time": None,
    }
    return drop_none(view, _PERSON_NULLABLE)


# ---------------------------------------------------------------------- v1 custom field input


def _v1_to_v2(field: JSON, key: str, body: JSON, old: Any) -> Any:
    """One custom value written the v1 way (flat keys) in the v2 form ``check_value`` takes."""
    ftype = field["field_type"]
    if key in body and body[key] is None:
        return None
    value = body.get(key, old)
    if ftype == "monetary":
        if isinstance(value, dict):  # the stored (or v2-style) form
            amount, currency = value.get("value"), value.get("currency")
        else:
            amount, currency = value, (old or {}).get("currency")
        return {"value": _number(amount), "currency": body.get(f"{key}_currency", currency)}
    if ftype in ("daterange", "timerange"):
        start = value.get("start") if isinstance(value, dict) else value
        end = value.get("end") if isinstance(value, dict) else None
        return {"start": start, "end": body.get(f"{key}_until", end)}
    if ftype == "set" and isinstance(value, str):
        return [_number(v.strip()) for v in value.split(",") if v.strip()]
    if ftype in ("enum", "user", "org", "people", "double") and isinstance(value, str):
        return _number(value)
    return value


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    return value


def custom_values_from_v1(
    store: Store, fields: Mapping[str, JSON], body: JSON, current: JSON
) -> JSON:
    """Custom field values sent at the root of a v1 body (``<key>``, ``<key>_currency``,
    ``<key>_until``), validated; returns the changed keys in stored (v2) form, None to clear.
    """
    touched: dict[str, None] = {}
    for name in body:
        base = name
        for suffix in ("_currency", "_until"):
            if name.endswith(suffix) and CUSTOM_KEY.match(name[: -len(suffix)]):
                base = name[: -len(suffix)]
        if not CUSTOM_KEY.match(base):
            continue
        if base not in fields:
            raise bad_request(
                f"Unknown custom field '{base}'",
                "Custom field keys must be keys of existing deal fields (see GET /v1/leadFields).",
            )
        touched[base] = None
    changed: JSON = {}
    for key in touched:
        field = fields[key]
        changed[key] = check_value(store, field, _v1_to_v2(field, key, body, current.get(key)))
    return changed


def flat_custom_values(values: JSON, fields: Mapping[str, JSON]) -> JSON:
    """Stored custom values as v1 flat keys; unset fields are left out, as leads show them."""
    present = {k: fields[k] for k, v in values.items() if v is not None and k in fields}
    return {k: v for k, v in flatten_custom(values, present).items() if v is not None}
