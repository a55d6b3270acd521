"""v1 users, filters, currencies and activity types (/api/v1 and /v1)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from explorer.sandbox.http import JSON, Query, drop_none, not_found, ok
from explorer.sandbox.routing import Router, Sandbox, record_or_404, sandbox
from explorer.sandbox.store import Store, Where
from explorer.sandbox.v1render import as_rfc3339

router = Router("v1")

# ---------------------------------------------------------------------- users

_USER_NULLABLE = frozenset({"phone", "modified", "icon_url"})

# Company facts for /users/me: meta key → (response key, default).
_COMPANY = (
    ("company_id", "company_id", 1),
    ("company_name", "company_name", "Sandbox Company"),
    ("company_domain", "company_domain", "sandbox"),
    ("company_country", "company_country", "US"),
    ("company_industry", "company_industry", "Software"),
)


def default_currency(store: Store) -> str:
    return store.get_meta("default_currency") or "EUR"


def render_user(store: Store, user: JSON, me: int) -> JSON:
    admin = bool(user.get("is_admin"))
    base: JSON = {
        "id": user["id"], "name": user.get("name"), "default_currency": default_currency(store),
        "locale": "en_US", "lang": 1, "email": user.get("email"), "phone": None,
        "activated": True, "last_login": None, "created": None, "modified": None,
        "has_created_company": False,
        "access": [{"app": "sales", "admin": admin}, {"app": "global", "admin": admin}],
        "active_flag": True, "timezone_name": "UTC", "timezone_offset": "+00:00",
        "role_id": 1, "icon_url": None, "is_you": False, "is_deleted": False,
    }
    base.update(user)
    base["is_you"] = user["id"] == me
    return drop_none(base, _USER_NULLABLE)


@router.route("GET", "/users", "getUsers")
async def get_users(request: Request) -> Response:
    sb = sandbox(request)
    me = sb.me(request)
    return ok([render_user(sb.store, u, me) for u in sb.store.select("users")])


@router.route("GET", "/users/me", "getCurrentUser")
async def get_current_user(request: Request) -> Response:
    sb = sandbox(request)
    me = sb.me(request)
    user = sb.store.get("users", me)
    if user is None:
        raise not_found("User")
    data = render_user(sb.store, user, me)
    for meta_key, key, default in _COMPANY:
        raw = sb.store.get_meta(meta_key)
        data[key] = default if raw is None else (int(raw) if isinstance(default, int) else raw)
    locale = str(data.get("locale") or "en_US")
    lang, _, country = locale.partition("_")
    data["language"] = {"language_code": lang, "country_code": country or "US"}
    return ok(data)


@router.route("GET", "/users/{id}", "getUser")
async def get_user(request: Request) -> Response:
    sb = sandbox(request)
    user = record_or_404(request, "users", "User")
    return ok(render_user(sb.store, user, sb.me(request)))


# ---------------------------------------------------------------------- filters

_FILTER_TYPES = ("deals", "leads", "org", "people", "products", "activity", "projects")
_FILTER_NULLABLE = frozenset({"filter_code", "temporary_flag", "update_time", "last_used_time",
                              "custom_view_id"})


def render_filter(record: JSON, *, conditions: bool) -> JSON:
    base: JSON = {
        "id": record["id"], "name": record.get("name"), "filter_code": None, "is_editable": True,
        "active_flag": True, "type": record.get("type"), "temporary_flag": None,
        "user_id": record.get("user_id"), "add_time": record.get("add_time"),
        "update_time": None, "visible_to": "7", "last_used_time": None, "custom_view_id": None,
    }
    base.update({k: v for k, v in record.items() if k != "conditions"})
    if isinstance(base["visible_to"], int):
        base["visible_to"] = str(base["visible_to"])
    if conditions:
        base["conditions"] = record.get("conditions") or {"glue": "and", "conditions": []}
    return drop_none(base, _FILTER_NULLABLE)


@router.route("GET", "/filters", "getFilters")
async def get_filters(request: Request) -> Response:
    sb = sandbox(request)
    kind = Query(request.query_params).choice("type", _FILTER_TYPES)
    where: Where = [] if kind is None else [("type = ?", (kind,))]
    return ok([render_filter(f, conditions=False) for f in sb.store.select("filters", where)])


def _with_field_codes(sb: Sandbox, data: JSON) -> None:
    groups = data["conditions"].get("conditions") or []
    conds = [c for g in groups for c in g.get("conditions") or ()]
    ids = []
    for cond in conds:
        try:
            ids.append(int(cond.get("field_id")))
        except (TypeError, ValueError):
            continue
    fields = sb.store.get_many("fields", ids)
    for cond in conds:
        try:
            field = fields.get(int(cond.get("field_id")))
        except (TypeError, ValueError):
            field = None
        cond["field_code"] = None if field is None else field["key"]


@router.route("GET", "/filters/{id}", "getFilter")
async def get_filter(request: Request) -> Response:
    sb = sandbox(request)
    record = record_or_404(request, "filters", "Filter")
    data = render_filter(record, conditions=True)
    if Query(request.query_params).bool("include_field_code"):
        _with_field_codes(sb, data)
    return ok(data)


# ---------------------------------------------------------------------- currencies, activity types


def render_currency(record: JSON) -> JSON:
    return {
        "id": record["id"], "code": record["code"], "name": record.get("name", record["code"]),
        "decimal_points": record.get("decimal_points", 2),
        "symbol": record.get("symbol") or record["code"],
        "active_flag": record.get("active_flag", True),
        "is_custom_flag": bool(record.get("is_custom_flag", False)),
    }


@router.route("GET", "/currencies", "getCurrencies")
async def get_currencies(request: Request) -> Response:
    sb = sandbox(request)
    term = (Query(request.query_params).str("term") or "").strip().lower()
    rows = [render_currency(c) for c in sb.store.select("currencies")]
    if term:
        rows = [c for c in rows if term in c["code"].lower() or term in c["name"].lower()]
    return ok(rows)


@router.route("GET", "/activityTypes", "getActivityTypes")
async def get_activity_types(request: Request) -> Response:
    sb = sandbox(request)
    rows = sb.store.select("activity_types")
    rows.sort(key=lambda t: (t.get("order_nr", 0), t["id"]))
    out = []
    for row in rows:
        base: JSON = {"id": row["id"], "order_nr": row.get("order_nr", 0),
                      "name": row.get("name"), "key_string": row.get("key_string"),
                      "icon_key": row.get("icon_key", "task"), "active_flag": True,
                      "color": row.get("color", "FFFFFF"), "is_custom_flag": False}
        base.update(row)
        # The schema declares these ``format: date-time``.
        base["add_time"] = as_rfc3339(row.get("add_time"))
        base["update_time"] = as_rfc3339(row.get("update_time"))
        out.append(drop_none(base))
    return ok(out)
