"""The generic v2 entity engine: list (cursor paging), get, create, PATCH and delete.

Deals, persons, organizations, products and activities share one implementation; an
``EntityKind`` says what differs (filters, required keys, per-entity rules, derived fields).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from explorer.sandbox.fields import validate_custom_values
from explorer.sandbox.filtering import where_for_filter
from explorer.sandbox.http import (
    JSON,
    ApiProblem,
    Query,
    bad_request,
    drop_none,
    is_int64,
    not_found,
    ok,
    shown,
    v2_time,
)
from explorer.sandbox.paging import keyset_page
from explorer.sandbox.routing import Handler, Router, Sandbox, sandbox
from explorer.sandbox.store import Store, Where
from explorer.sandbox.validation import check_include_fields, require, validated_body

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
VISIBLE_TO = (1, 3, 5, 7)


Rule = Callable[[Sandbox, JSON, JSON | None], None]
Derive = Callable[[Store, list[JSON], set[str]], None]
QueryFilter = Callable[[Query], Where]


@dataclass(frozen=True)
class EntityKind:
    """What one v2 entity needs beyond the shared CRUD.

    Attributes:
        collection: store collection (``"deals"``).
        path: URL segment (``"deals"``).
        label: the word used in messages (``"Deal"``).
        field_entity: the *Fields entity whose custom fields it carries, or None.
        filters: list query parameter → indexed column it filters on.
        sort_by: allowed ``sort_by`` values besides ``id``.
        required: body keys a create must have.
        rules: checks run on create (old is None) and update, may raise ``ApiProblem``.
        defaults: factory of a new record's defaults, given the sandbox and acting user.
        derive: adds ``include_fields`` values to rendered records.
        keep_null: keys sent as null instead of omitted (the spec marks them nullable).
        status_filter: whether the list takes ``status`` (deals).
        on_write: last say over a record before it is stored (create: old is None); may
            normalise it or raise ``ApiProblem``.
        id_filters: further list conditions, ignored with ``filter_id`` like ``filters``.
        flag_filters: list conditions applied even with ``filter_id`` (activities' ``done``).
        optional_keys: stored keys a list or get shows only when ``include_fields`` names them.
        created_status: the HTTP status of a create (201 for products, as the spec says).
        archivable: whether records can be archived (deals): the list shows only records
            that are not, and ``GET /{path}/archived`` lists those that are.
        followed_as: the followers' ``entity`` of records users can follow; a new record's
            owner becomes its first follower.
    """

    collection: str
    path: str
    label: str
    field_entity: str | None
    filters: dict[str, str] = field(default_factory=dict)
    sort_by: tuple[str, ...] = ("update_time", "add_time")
    required: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    defaults: Callable[[Sandbox, int], JSON] = lambda sb, user: {}
    derive: Derive | None = None
    keep_null: frozenset[str] = frozenset()
    status_filter: bool = False
    on_write: Callable[[Sandbox, JSON, JSON | None], None] | None = None
    id_filters: QueryFilter | None = None
    flag_filters: QueryFilter | None = None
    optional_keys: frozenset[str] = frozenset()
    created_status: int = 200
    archivable: bool = False
    followed_as: str | None = None


# ---------------------------------------------------------------------- rendering


def render(kind: EntityKind, record: JSON, custom_keys: list[str] | None = None) -> JSON:
    """A stored record as the v2 API returns it."""
    out = drop_none(record, kind.keep_null)
    if custom_keys is not None and "custom_fields" in out:
        out["custom_fields"] = {k: out["custom_fields"].get(k) for k in custom_keys}
    return out


# ---------------------------------------------------------------------- shared checks


def _normalise_add_time(record: JSON) -> None:
    """A create may backdate ``add_time``; keep it RFC 3339 in UTC like every stored time."""
    raw = record.get("add_time")
    if not isinstance(raw, str):
        return
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        record["add_time"] = v2_time(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    except (ValueError, OverflowError):  # OverflowError: out of range once moved to UTC
        raise bad_request(f"Invalid add_time '{shown(raw)}'",
                          "Send add_time as RFC 3339, e.g. 2024-01-31T09:00:00Z.") from None


def check_visible_to(sb: Sandbox, body: JSON, old: JSON | None) -> None:
    value = body.get("visible_to")
    if value is not None and value not in VISIBLE_TO:
        raise ApiProblem(
            403,
            f"You are not allowed to set visible_to to {value}",
            f"Allowed visibility groups: {', '.join(map(str, VISIBLE_TO))}.",
        )


def check_refs(sb: Sandbox, body: JSON, old: JSON | None) -> None:
    """Referenced owners, persons and organizations must exist."""
    refs = (("owner_id", "users", "User"), ("person_id", "persons", "Person"),
            ("org_id", "organizations", "Organization"), ("deal_id", "deals", "Deal"))
    for key, coll, label in refs:
        value = body.get(key)
        if value is not None and sb.store.get(coll, value) is None:
            raise ApiProblem(400, f"{label} with id {value} not found",
                             f"'{key}' must be the id of an existing {label.lower()}.")


# ---------------------------------------------------------------------- list


def _page_where(kind: EntityKind, sb: Sandbox, q: Query) -> Where:
    where: Where = []
    filter_id = q.int("filter_id")
    if filter_id is not None:
        # As the spec says: with filter_id, ids and the id filters are ignored.
        return where_for_filter(sb.store, filter_id, kind.collection)
    ids = q.int_csv("ids", maximum=100)
    if ids:
        where.append((f"id IN ({','.join('?' * len(ids))})", ids))
    for param, column in kind.filters.items():
        value = q.int(param)
        if value is not None:
            where.append((f"{column} = ?", (value,)))
    if kind.id_filters is not None:
        where += kind.id_filters(q)
    if kind.status_filter:
        status = q.choice("status", ("open", "won", "lost", "deleted"))
        if status is not None and status != "deleted":
            where.append(("status = ?", (status,)))
    return where


def page_limit(q: Query) -> int:
    """A v2 list's ``limit``: 1 to 500, 100 when not given."""
    return q.int("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT) or DEFAULT_LIMIT


def page_params(q: Query, sort: tuple[str, ...]) -> tuple[int, str, str]:
    """A v2 list's ``limit``, ``sort_by`` (``id`` or one of ``sort``) and upper-case
    ``sort_direction``, checked, with the defaults."""
    limit = page_limit(q)
    sort_by = q.choice("sort_by", ("id", *sort), "id") or "id"
    direction = (q.choice("sort_direction", ("asc", "desc"), "asc") or "asc").upper()
    return limit, sort_by, direction


def list_page(
    kind: EntityKind, request: Request, *, archived: bool = False
) -> tuple[list[JSON], str | None]:
    """One cursor page of ``kind``; of archivable kinds, only the archived records or only
    the others (``archived``), as Pipedrive lists them apart."""
    sb = sandbox(request)
    check_include_fields(request)
    q = Query(request.query_params)
    limit, sort_by, direction = page_params(q, kind.sort_by)
    where = _page_where(kind, sb, q)
    if kind.archivable:
        where.append(("COALESCE(is_archived, 0) = ?", (int(archived),)))
    if kind.flag_filters is not None:
        where += kind.flag_filters(q)
    since, until = q.rfc3339("updated_since"), q.rfc3339("updated_until")
    if since:
        where.append(("update_time >= ?", (since,)))
    if until:
        where.append(("update_time < ?", (until,)))
    deleted_only = kind.status_filter and q.str("status") == "deleted"
    if deleted_only:
        where.append(("deleted = 1", ()))
    return keyset_page(sb.store, kind.collection, where, q, limit=limit, sort_by=sort_by,
                       direction=direction, include_deleted=deleted_only)


def _custom_keys(q: Query) -> list[str] | None:
    keys = q.csv("custom_fields")
    if len(keys) > 15:
        raise bad_request("Parameter 'custom_fields' takes at most 15 keys")
    return keys or None


def _include(kind: EntityKind, q: Query) -> set[str]:
    return set(q.csv("include_fields"))


def _rendered(kind: EntityKind, sb: Sandbox, q: Query, rows: list[JSON]) -> list[JSON]:
    include = _include(kind, q)
    if include and kind.derive is not None:
        kind.derive(sb.store, rows, include)
    keys = _custom_keys(q)
    labels = q.bool("include_option_labels")
    hidden = kind.optional_keys - include
    out = [render(kind, r, keys) for r in rows]
    if hidden:
        for rec in out:
            for key in hidden:
                rec.pop(key, None)
    if labels and kind.field_entity:
        _label_options(sb.store, kind.field_entity, out)
    if kind.field_entity and q.bool("include_labels"):
        _labels(sb.store, kind.field_entity, out)
    return out


def _labels(store: Store, entity: str, records: list[JSON]) -> None:
    """``include_labels=true``: the record's ``label_ids`` also as ``[{id, label}]``."""
    rows = store.select("fields", [("entity = ? AND key = ?", (entity, "label_ids"))], limit=1)
    names = {o["id"]: o["label"] for o in (rows[0].get("options") or ())} if rows else {}
    for rec in records:
        rec["labels"] = [{"id": i, "label": names.get(i)} for i in rec.get("label_ids") or ()]


def _label_options(store: Store, entity: str, records: list[JSON]) -> None:
    from explorer.sandbox.fields import custom_fields_of

    fields = {k: f for k, f in custom_fields_of(store, entity).items()
              if f["field_type"] in ("enum", "set")}
    for rec in records:
        values = rec.get("custom_fields") or {}
        for key, f in fields.items():
            value = values.get(key)
            if value is None:
                continue
            labels = {o["id"]: o["label"] for o in f.get("options") or ()}
            if isinstance(value, list):
                values[key] = [{"id": v, "label": labels.get(v)} for v in value]
            else:
                values[key] = {"id": value, "label": labels.get(value)}


# ---------------------------------------------------------------------- handlers


def path_int(request: Request, name: str, label: str) -> int:
    """The integer id in the path parameter ``name``: 400 when it is not an integer, and
    Pipedrive's 404 for ``label`` when it is out of range (no record has it, and sqlite
    could not even look it up)."""
    raw = request.path_params[name]
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"Invalid {name} '{shown(raw)}'",
                          f"The {name} must be an integer.") from None
    if not is_int64(value):
        raise not_found(label)
    return value


def load_record(sb: Sandbox, collection: str, item_id: int, label: str) -> JSON:
    """A live record of ``collection``, or Pipedrive's 404 for ``label``."""
    record = sb.store.get(collection, item_id)
    if record is None:
        raise not_found(label)
    return record


def _diff(old: JSON, new: JSON) -> list[tuple[str, Any, Any]]:
    changes: list[tuple[str, Any, Any]] = []
    for key in sorted(set(old) | set(new)):
        if key in ("update_time",):
            continue
        if key == "custom_fields":
            o, n = old.get(key) or {}, new.get(key) or {}
            changes += [(k, o.get(k), n.get(k)) for k in sorted(set(o) | set(n))
                        if o.get(k) != n.get(k)]
        elif old.get(key) != new.get(key):
            changes.append((key, old.get(key), new.get(key)))
    return changes


def _apply(kind: EntityKind, sb: Sandbox, record: JSON, body: JSON) -> None:
    for key, value in body.items():
        if key == "custom_fields":
            if kind.field_entity is None:
                raise bad_request("custom_fields are not supported here")
            checked = validate_custom_values(sb.store, kind.field_entity, value)
            merged = dict(record.get("custom_fields") or {})
            merged.update(checked)
            record["custom_fields"] = merged
        else:
            record[key] = value


def register(router: Router, kind: EntityKind, singular: str, plural: str) -> None:
    """Declare list/get/create/update/delete for ``kind`` with the spec's operation ids."""
    base, item = f"/{kind.path}", f"/{kind.path}/{{id}}"

    def lister(archived: bool) -> Handler:
        async def list_items(request: Request) -> Response:
            sb = sandbox(request)
            rows, next_cursor = list_page(kind, request, archived=archived)
            data = _rendered(kind, sb, Query(request.query_params), rows)
            return ok(data, {"next_cursor": next_cursor})

        return list_items

    async def get_item(request: Request) -> Response:
        sb = sandbox(request)
        check_include_fields(request)
        record = load_record(sb, kind.collection, path_int(request, "id", kind.label), kind.label)
        return ok(_rendered(kind, sb, Query(request.query_params), [record])[0])

    async def add_item(request: Request) -> Response:
        sb = sandbox(request)
        body = await validated_body(request, strict=True)
        require(body, *kind.required)
        for rule in kind.rules:
            rule(sb, body, None)
        user = sb.me(request)
        now = v2_time(sb.clock.now())
        record: JSON = {"id": None, **kind.defaults(sb, user)}
        if kind.field_entity is not None:
            record.setdefault("custom_fields", {})
        _apply(kind, sb, record, body)
        record.setdefault("owner_id", user)
        _normalise_add_time(record)
        record["add_time"] = record.get("add_time") or now
        record["update_time"] = now
        if kind.on_write is not None:
            kind.on_write(sb, record, None)
        with sb.store.transaction():
            sb.store.insert(kind.collection, record, commit=False)
            sb.store.log_changes(kind.collection, record["id"], [("add_time", None, now)],
                                 actor_user_id=user, time=now)
            if kind.followed_as is not None and record.get("owner_id") is not None:
                # Pipedrive makes a record's owner its first follower.
                sb.store.insert("followers", {
                    "id": None, "entity": kind.followed_as, "item_id": record["id"],
                    "user_id": record["owner_id"], "add_time": now}, commit=False)
        return ok(_rendered(kind, sb, Query(request.query_params), [record])[0],
                  status=kind.created_status)

    async def update_item(request: Request) -> Response:
        sb = sandbox(request)
        item_id = path_int(request, "id", kind.label)
        body = await validated_body(request, strict=True)
        old = load_record(sb, kind.collection, item_id, kind.label)
        for rule in kind.rules:
            rule(sb, body, old)
        for key in kind.required:
            if key in body:
                require(body, key)
        record = {**old, "custom_fields": dict(old.get("custom_fields") or {})}
        if kind.field_entity is None:
            record.pop("custom_fields")
        _apply(kind, sb, record, body)
        if kind.on_write is not None:
            kind.on_write(sb, record, old)
        record["update_time"] = v2_time(sb.clock.now())
        changes = _diff(old, record)
        with sb.store.transaction():
            sb.store.replace(kind.collection, record)
            sb.store.log_changes(kind.collection, item_id, changes,
                                 actor_user_id=sb.me(request), time=record["update_time"])
        return ok(_rendered(kind, sb, Query(request.query_params), [record])[0])

    async def delete_item(request: Request) -> Response:
        sb = sandbox(request)
        item_id = path_int(request, "id", kind.label)
        record = load_record(sb, kind.collection, item_id, kind.label)
        now = v2_time(sb.clock.now())
        record["is_deleted"] = True
        if kind.status_filter:
            record["status"] = "deleted"
        record["update_time"] = now
        with sb.store.transaction():
            sb.store.replace(kind.collection, record, deleted=True)
            sb.store.log_changes(kind.collection, item_id, [("is_deleted", False, True)],
                                 actor_user_id=sb.me(request), time=now)
        return ok({"id": item_id})

    router.route("GET", base, f"get{plural}")(lister(archived=False))
    if kind.archivable:
        router.route("GET", f"{base}/archived", f"getArchived{plural}")(lister(archived=True))
    router.route("POST", base, f"add{singular}")(add_item)
    router.route("GET", item, f"get{singular}")(get_item)
    router.route("PATCH", item, f"update{singular}")(update_item)
    router.route("DELETE", item, f"delete{singular}")(delete_item)
