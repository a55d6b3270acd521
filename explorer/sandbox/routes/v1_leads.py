"""v1 leads, lead labels, lead sources and lead fields (/api/v1 and /v1)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from explorer.sandbox.fields import check_currency, custom_fields_of, render_v1
from explorer.sandbox.filtering import where_for_filter
from explorer.sandbox.http import (
    JSON,
    Query,
    bad_request,
    lead_time,
    ok,
)
from explorer.sandbox.routing import Router, Sandbox, record_or_404, sandbox
from explorer.sandbox.store import Store, Where
from explorer.sandbox.v1render import (
    as_rfc3339,
    custom_values_from_v1,
    fetch_page,
    flat_custom_values,
    in_clause,
    is_uuid,
    order_from_sort,
    page_params,
    pagination,
)
from explorer.sandbox.validation import require, validated_body

router = Router("v1")

LABEL_COLORS = ("blue", "brown", "dark-gray", "gray", "green", "orange", "pink", "purple", "red",
                "yellow")

# GET /leadSources: a fixed list in Pipedrive ("Manually created" since June 2021).
LEAD_SOURCES = ("Manually created", "Deal", "Web forms", "Prospector", "Leadbooster", "Live chat",
                "Import", "Website visitors", "Workflow automation", "API")

# The lead keys in the spec's order; the nullable ones are sent as null rather than omitted.
_KEYS = ("id", "title", "owner_id", "creator_id", "label_ids", "person_id", "organization_id",
         "source_name", "origin", "origin_id", "channel", "channel_id", "source_deal_id",
         "is_archived", "was_seen", "value", "expected_close_date", "next_activity_id",
         "add_time", "update_time", "visible_to", "cc_email")
_NULLABLE = frozenset({"person_id", "organization_id", "origin_id", "channel", "channel_id",
                       "source_deal_id", "value", "expected_close_date", "next_activity_id"})

_SORTABLE = {"id": "id", "title": "title", "owner_id": "owner_id", "add_time": "add_time",
             "update_time": "update_time",
             **{k: f"json_extract(data, '$.{k}')"
                for k in ("creator_id", "was_seen", "expected_close_date", "next_activity_id")}}


# ---------------------------------------------------------------------- rendering


def _next_activities(store: Store, leads: list[JSON]) -> dict[str, int]:
    """Each lead's earliest undone activity, for all ``leads`` in one query."""
    ids = [lead["id"] for lead in leads]
    if not ids:
        return {}
    rows = store.select("activities", [in_clause("lead_id", ids), ("done = 0", ())],
                        order_by=(("due_date", "ASC"), ("seq", "ASC")))
    out: dict[str, int] = {}
    for act in rows:
        out.setdefault(act["lead_id"], act["id"])
    return out


def render_leads(store: Store, leads: list[JSON]) -> list[JSON]:
    fields = custom_fields_of(store, "deal")
    next_ids = _next_activities(store, leads)
    out = []
    for lead in leads:
        rec = {**lead, "next_activity_id": next_ids.get(lead["id"])}
        view: JSON = {}
        for key in _KEYS:
            value = rec.get(key)
            if value is not None or key in _NULLABLE:
                view[key] = value
        for key, value in rec.items():
            if key not in view and key != "custom_fields" and value is not None:
                view[key] = value
        view.update(flat_custom_values(rec.get("custom_fields") or {}, fields))
        out.append(view)
    return out


# ---------------------------------------------------------------------- lists


def _list_where(sb: Sandbox, q: Query, archived: bool) -> Where:
    where: Where = [("COALESCE(is_archived, 0) = ?", (int(archived),))]
    filter_id = q.int("filter_id")
    if filter_id is not None:
        # The spec: filter_id takes precedence over owner_id, person_id and organization_id.
        where += where_for_filter(sb.store, filter_id, "leads")
    else:
        for param in ("owner_id", "person_id", "organization_id"):
            value = q.int(param)
            if value is not None:
                where.append((f"{param} = ?", (value,)))
    since = q.rfc3339("updated_since")
    if since is not None:
        # Stored lead times carry milliseconds: compare in the same form.
        where.append(("update_time >= ?", (since[:19] + ".000Z",)))
    return where


async def _list(request: Request, archived: bool) -> Response:
    sb = sandbox(request)
    q = Query(request.query_params)
    start, limit = page_params(q)
    sort = q.str("sort")
    # The spec: "sorted by the time they were created, from oldest to newest".
    order = order_from_sort(sort, _SORTABLE) if sort else [("add_time", "ASC"), ("seq", "ASC")]
    rows, more = fetch_page(sb.store, "leads", _list_where(sb, q, archived), order, start, limit)
    return ok(render_leads(sb.store, rows), pagination(start, limit, more, flat=True))


@router.route("GET", "/leads", "getLeads")
async def get_leads(request: Request) -> Response:
    return await _list(request, archived=False)


@router.route("GET", "/leads/archived", "getArchivedLeads")
async def get_archived_leads(request: Request) -> Response:
    return await _list(request, archived=True)


# ---------------------------------------------------------------------- one lead


@router.route("GET", "/leads/{id}", "getLead")
async def get_lead(request: Request) -> Response:
    sb = sandbox(request)
    return ok(render_leads(sb.store, [record_or_404(request, "leads", "Lead")])[0])


def _int(body: JSON, key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"Parameter '{key}' must be an integer") from None


def _check(sb: Sandbox, body: JSON, lead: JSON) -> None:
    """Validate the lead keys of ``body`` and write them into ``lead``."""
    store = sb.store
    for key, coll, label in (("owner_id", "users", "User"), ("person_id", "persons", "Person"),
                             ("organization_id", "organizations", "Organization")):
        if key not in body:
            continue
        value = _int(body, key)
        if value is None and key == "owner_id":
            raise bad_request("Parameter 'owner_id' cannot be null")
        if value is not None and store.get(coll, value) is None:
            raise bad_request(f"{label} with id {value} not found",
                              f"'{key}' must be the id of an existing {label.lower()}.")
        lead[key] = value
    if "title" in body:
        require(body, "title")
        lead["title"] = body["title"]
    if "value" in body:
        lead["value"] = _value(store, body["value"])
    if "label_ids" in body:
        lead["label_ids"] = _label_ids(store, body["label_ids"])
    if "expected_close_date" in body:
        lead["expected_close_date"] = _date(body["expected_close_date"])
    for key in ("visible_to", "was_seen", "channel", "channel_id", "origin_id", "is_archived"):
        if key in body:
            lead[key] = body[key]
    if lead.get("person_id") is None and lead.get("organization_id") is None:
        raise bad_request(
            "A lead must be linked to a person or an organization",
            "Send 'person_id' or 'organization_id' (or both) with the id of an existing "
            "person or organization.",
        )


def _value(store: Store, value: Any) -> JSON | None:
    if value is None:
        return None
    amount = value.get("amount") if isinstance(value, dict) else None
    currency = value.get("currency") if isinstance(value, dict) else None
    if isinstance(amount, bool) or not isinstance(amount, int | float) or (
        not isinstance(currency, str)
    ):
        raise bad_request("Invalid lead value",
                          'Send value as {"amount": 200, "currency": "EUR"}: both are required.')
    check_currency(store, currency)
    return {"amount": amount, "currency": currency}


def _label_ids(store: Store, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request("Parameter 'label_ids' must be an array of lead label ids")
    found = store.get_many("lead_labels", [v for v in value if is_uuid(v)])
    missing = [v for v in value if v not in found]
    if missing:
        raise bad_request(f"Lead labels not found: {', '.join(missing)}",
                          "Use ids from GET /v1/leadLabels.")
    return list(dict.fromkeys(value))


def _date(value: Any) -> str | None:
    if value is None:
        return None
    try:
        date.fromisoformat(str(value))
    except ValueError:
        raise bad_request(f"Invalid expected_close_date '{value}'",
                          "Use the date format YYYY-MM-DD.") from None
    return str(value)


def _write_custom(sb: Sandbox, body: JSON, lead: JSON) -> None:
    values = dict(lead.get("custom_fields") or {})
    changed = custom_values_from_v1(sb.store, custom_fields_of(sb.store, "deal"), body, values)
    for key, value in changed.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    lead["custom_fields"] = values


def _changes(old: JSON, new: JSON) -> list[tuple[str, Any, Any]]:
    out: list[tuple[str, Any, Any]] = []
    for key in sorted(set(old) | set(new)):
        if key == "update_time":
            continue
        if key == "custom_fields":
            o, n = old.get(key) or {}, new.get(key) or {}
            out += [(k, o.get(k), n.get(k)) for k in sorted(set(o) | set(n))
                    if o.get(k) != n.get(k)]
        elif old.get(key) != new.get(key):
            out.append((key, old.get(key), new.get(key)))
    return out


@router.route("POST", "/leads", "addLead")
async def add_lead(request: Request) -> Response:
    sb = sandbox(request)
    body = await validated_body(request, strict=False)
    require(body, "title")
    me = sb.me(request)
    now = lead_time(sb.clock.now())
    lead_id = str(uuid.uuid4())
    lead: JSON = {
        "id": lead_id, "title": None, "owner_id": me, "creator_id": me, "label_ids": [],
        "person_id": None, "organization_id": None, "source_name": "API", "origin": "API",
        "origin_id": None, "channel": None, "channel_id": None, "source_deal_id": None,
        "is_archived": False, "was_seen": False, "value": None, "expected_close_date": None,
        "next_activity_id": None, "add_time": now, "update_time": now, "visible_to": "3",
        "cc_email": _cc_email(sb, lead_id), "custom_fields": {},
    }
    _check(sb, {k: v for k, v in body.items() if k != "is_archived"}, lead)
    _write_custom(sb, body, lead)
    with sb.store.transaction():
        sb.store.insert("leads", lead, commit=False)
        sb.store.log_changes("leads", lead_id, [("add_time", None, now)], actor_user_id=me,
                             time=now)
    return ok(render_leads(sb.store, [lead])[0], status=201)


def _cc_email(sb: Sandbox, lead_id: str) -> str:
    domain = sb.store.get_meta("company_domain") or "sandbox"
    return f"{domain}+lead{lead_id.replace('-', '')[:20]}@pipedrivemail.com"


@router.route("PATCH", "/leads/{id}", "updateLead")
async def update_lead(request: Request) -> Response:
    sb = sandbox(request)
    old = record_or_404(request, "leads", "Lead")
    body = await validated_body(request, strict=False)
    lead = {**old, "custom_fields": dict(old.get("custom_fields") or {})}
    _check(sb, body, lead)
    _write_custom(sb, body, lead)
    changes = _changes(old, lead)
    if changes:
        lead["update_time"] = lead_time(sb.clock.now())
        with sb.store.transaction():
            sb.store.replace("leads", lead)
            sb.store.log_changes("leads", lead["id"], changes, actor_user_id=sb.me(request),
                                 time=lead["update_time"])
    return ok(render_leads(sb.store, [lead])[0])


@router.route("DELETE", "/leads/{id}", "deleteLead")
async def delete_lead(request: Request) -> Response:
    sb = sandbox(request)
    lead = record_or_404(request, "leads", "Lead")
    now = lead_time(sb.clock.now())
    lead["update_time"] = now
    with sb.store.transaction():
        sb.store.replace("leads", lead, deleted=True)
        sb.store.log_changes("leads", lead["id"], [("is_deleted", False, True)],
                             actor_user_id=sb.me(request), time=now)
    return ok({"id": lead["id"]})


# ---------------------------------------------------------------------- labels, sources, fields


def _label_view(label: JSON) -> JSON:
    return {k: label.get(k) for k in ("id", "name", "color", "add_time", "update_time")}


@router.route("GET", "/leadLabels", "getLeadLabels")
async def get_lead_labels(request: Request) -> Response:
    labels = sandbox(request).store.select("lead_labels")
    return ok([_label_view(label) for label in labels])


@router.route("POST", "/leadLabels", "addLeadLabel")
async def add_lead_label(request: Request) -> Response:
    sb = sandbox(request)
    body = await validated_body(request, strict=False)
    require(body, "name")
    color = body.get("color")
    if color not in LABEL_COLORS:
        raise bad_request(f"Invalid color '{color}'" if color else "Color is required",
                          f"Send 'color' as one of {', '.join(LABEL_COLORS)}.")
    now = lead_time(sb.clock.now())
    label = {"id": str(uuid.uuid4()), "name": body["name"], "color": color, "add_time": now,
             "update_time": now}
    with sb.store.transaction():
        sb.store.insert("lead_labels", label, commit=False)
        sb.store.log_changes("lead_labels", label["id"], [("add_time", None, now)],
                             actor_user_id=sb.me(request), time=now)
    return ok(_label_view(label))


@router.route("GET", "/leadSources", "getLeadSources")
async def get_lead_sources(request: Request) -> Response:
    return ok([{"name": name} for name in LEAD_SOURCES])


# The v1 leadFields schema allows only these field types (its two allOf enums overlap here).
_V1_FIELD_TYPES = frozenset({
    "address", "date", "daterange", "double", "enum", "monetary", "org", "people", "phone", "set",
    "text", "time", "timerange", "user", "varchar", "varchar_auto", "visible_to"})


def lead_fields(store: Store) -> list[JSON]:
    """Lead built-in fields, then the deal custom fields leads inherit, as v1 field objects."""
    own = store.select("fields", [("entity = ?", ("lead",))])
    own.sort(key=lambda f: (f.get("order_nr", 0), f["id"]))
    custom = list(custom_fields_of(store, "deal").values())
    return [_field_view(f) for f in (*own, *custom) if f["field_type"] in _V1_FIELD_TYPES]


def _field_view(field: JSON) -> JSON:
    view = render_v1(field)
    # This schema declares the times ``format: date-time`` (unlike other v1 field lists).
    view["add_time"] = as_rfc3339(field.get("add_time"))
    view["update_time"] = as_rfc3339(field.get("update_time"))
    if view["add_time"] is None:  # non-nullable: omitted when unknown
        del view["add_time"]
    return view


@router.route("GET", "/leadFields", "getLeadFields")
async def get_lead_fields(request: Request) -> Response:
    q = Query(request.query_params)
    start, limit = page_params(q)
    fields = lead_fields(sandbox(request).store)
    page = fields[start: start + limit]
    more = start + limit < len(fields)
    return ok(page, pagination(start, limit, more, flat=True))
