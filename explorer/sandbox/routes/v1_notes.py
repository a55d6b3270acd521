"""v1 notes (/api/v1 and /v1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from explorer.sandbox.http import (
    JSON,
    Query,
    bad_request,
    ok,
    shown,
    v1_time,
    v2_to_v1_time,
)
from explorer.sandbox.routing import Router, Sandbox, record_or_404, sandbox
from explorer.sandbox.store import Store, Where
from explorer.sandbox.v1render import (
    fetch_page,
    ids_of,
    is_uuid,
    order_from_sort,
    page_params,
    pagination,
    user_summary,
)
from explorer.sandbox.validation import require, validated_body

router = Router("v1")

MAX_CONTENT = 3_000_000  # characters (seed changelog: "approximately 3,000,000 characters")

# Attachment key → (collection, label, the pinned flag that goes with it).
_TARGETS = {
    "deal_id": ("deals", "Deal", "pinned_to_deal_flag"),
    "person_id": ("persons", "Person", "pinned_to_person_flag"),
    "org_id": ("organizations", "Organization", "pinned_to_organization_flag"),
    "lead_id": ("leads", "Lead", "pinned_to_lead_flag"),
    "project_id": (None, "Project", "pinned_to_project_flag"),
    "task_id": (None, "Task", "pinned_to_task_flag"),
}
_FLAGS = tuple(flag for _, _, flag in _TARGETS.values())

_SORTABLE = {"id": "id", "user_id": "user_id", "deal_id": "deal_id", "person_id": "person_id",
             "org_id": "org_id", "content": "json_extract(data, '$.content')",
             "add_time": "add_time", "update_time": "update_time"}

_ORDER = ("id", "active_flag", "add_time", "content", "deal", "lead_id", "deal_id",
          "last_update_user_id", "org_id", "organization", "person", "person_id",
          "pinned_to_lead_flag", "pinned_to_deal_flag", "pinned_to_organization_flag",
          "pinned_to_person_flag", "pinned_to_project_flag", "pinned_to_task_flag",
          "update_time", "user", "user_id")


# ---------------------------------------------------------------------- rendering


def render_notes(store: Store, notes: list[JSON], me: int) -> list[JSON]:
    """Notes with their nested deal/person/organization/user summaries (one query per type)."""
    deals = store.get_many("deals", ids_of(notes, "deal_id"))
    persons = store.get_many("persons", ids_of(notes, "person_id"))
    orgs = store.get_many("organizations", ids_of(notes, "org_id"))
    users = store.get_many("users", ids_of(notes, "user_id"))
    out = []
    for note in notes:
        rec: JSON = {"active_flag": True, **dict.fromkeys(_FLAGS, False), **note}
        if note.get("deal_id") in deals:
            rec["deal"] = {"title": deals[note["deal_id"]].get("title", "")}
        if note.get("person_id") in persons:
            rec["person"] = {"name": persons[note["person_id"]].get("name", "")}
        if note.get("org_id") in orgs:
            rec["organization"] = {"name": orgs[note["org_id"]].get("name", "")}
        if note.get("user_id") in users:
            rec["user"] = user_summary(users[note["user_id"]], me)
        view = {k: rec[k] for k in _ORDER if rec.get(k) is not None}
        view.update({k: v for k, v in rec.items() if k not in view and v is not None})
        out.append(view)
    return out


# ---------------------------------------------------------------------- list


def _date_param(q: Query, name: str) -> str | None:
    raw = q.str(name)
    if raw is None:
        return None
    try:
        datetime.strptime(raw, "%Y-%m-%d")
    except ValueError:
        raise bad_request(f"Parameter '{name}' must be a date YYYY-MM-DD; got '{raw}'") from None
    return raw


def _list_where(q: Query) -> Where:
    where: Where = []
    for param in ("user_id", "deal_id", "person_id", "org_id"):
        value = q.int(param)
        if value is not None:
            where.append((f"{param} = ?", (value,)))
    lead = q.str("lead_id")
    if lead is not None:
        if not is_uuid(lead):  # the spec's format: uuid; a lead id is never anything else
            raise bad_request(f"Parameter 'lead_id' must be a lead's UUID, got '{shown(lead)}'",
                              "Lead ids look like adf21080-0e10-11eb-879b-05d71fb426ec.")
        where.append(("lead_id = ?", (lead,)))
    if q.int("project_id") is not None or q.int("task_id") is not None:
        where.append(("0", ()))  # the sandbox has no projects or tasks
    for flag in _FLAGS:
        pinned = q.choice(flag, ("0", "1"))
        if pinned is not None:
            where.append((f"COALESCE(json_extract(data, '$.{flag}'), 0) = ?", (int(pinned),)))
    start_date, end_date = _date_param(q, "start_date"), _date_param(q, "end_date")
    if start_date:
        where.append(("add_time >= ?", (f"{start_date} 00:00:00",)))
    if end_date:
        where.append(("add_time <= ?", (f"{end_date} 23:59:59",)))
    since = q.rfc3339("updated_since")
    if since:
        where.append(("update_time >= ?", (v2_to_v1_time(since),)))
    return where


@router.route("GET", "/notes", "getNotes")
async def get_notes(request: Request) -> Response:
    sb = sandbox(request)
    q = Query(request.query_params)
    start, limit = page_params(q)
    order = order_from_sort(q.str("sort"), _SORTABLE)
    rows, more = fetch_page(sb.store, "notes", _list_where(q), order, start, limit)
    return ok(render_notes(sb.store, rows, sb.me(request)), pagination(start, limit, more))


# ---------------------------------------------------------------------- one note


@router.route("GET", "/notes/{id}", "getNote")
async def get_note(request: Request) -> Response:
    sb = sandbox(request)
    return ok(render_notes(sb.store, [record_or_404(request, "notes", "Note")], sb.me(request))[0])


def _apply(sb: Sandbox, body: JSON, note: JSON) -> None:
    """Validate ``body`` and write it into ``note``."""
    if "content" in body:
        require(body, "content")
        content = body["content"]
        if not isinstance(content, str):
            raise bad_request("Parameter 'content' must be a string")
        if len(content) > MAX_CONTENT:
            raise bad_request(
                "Note content is too large",
                f"A note can hold at most {MAX_CONTENT:,} characters; this one has "
                f"{len(content):,}.",
            )
        note["content"] = content
    for key, (coll, label, _) in _TARGETS.items():
        if key not in body:
            continue
        value = _target_id(key, body[key])
        if value is not None and (coll is None or sb.store.get(coll, value) is None):
            raise bad_request(f"{label} with id {value} not found",
                              f"'{key}' must be the id of an existing {label.lower()}.")
        note[key] = value
    if "user_id" in body:
        user_id = _target_id("user_id", body["user_id"])
        if user_id is None or sb.store.get("users", user_id) is None:
            raise bad_request(f"User with id {body['user_id']} not found",
                              "'user_id' must be the id of an existing user.")
        note["user_id"] = user_id
    if "add_time" in body:
        note["add_time"] = _add_time(body["add_time"])
    for key, (_, _, flag) in _TARGETS.items():
        if flag in body and body[flag] is not None:
            pinned = bool(int(body[flag]))
            if pinned and note.get(key) is None:
                raise bad_request(f"'{flag}' needs '{key}'",
                                  f"A note can only be pinned to a {key[:-3]} it is attached to.")
            note[flag] = pinned
        elif note.get(key) is None and note.get(flag):
            note[flag] = False
    if all(note.get(key) is None for key in _TARGETS):
        raise bad_request(
            "The note must be attached to a deal, person, organization or lead",
            "Send at least one of deal_id, person_id, org_id or lead_id.",
        )


def _target_id(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key == "lead_id":
        if not isinstance(value, str) or not is_uuid(value):
            raise bad_request(f"Invalid lead_id '{value}'", "'lead_id' must be a lead's UUID.")
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"Parameter '{key}' must be an integer") from None


def _add_time(value: Any) -> str:
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise bad_request(f"Invalid add_time '{value}'",
                          "Use the format YYYY-MM-DD HH:MM:SS (UTC).") from None


@router.route("POST", "/notes", "addNote")
async def add_note(request: Request) -> Response:
    sb = sandbox(request)
    body = await validated_body(request, strict=False)
    require(body, "content")
    me = sb.me(request)
    now = v1_time(sb.clock.now())
    note: JSON = {"id": None, "user_id": me, "content": "", "deal_id": None, "person_id": None,
                  "org_id": None, "lead_id": None, "add_time": now, "update_time": now,
                  "active_flag": True, "last_update_user_id": me,
                  **dict.fromkeys(_FLAGS, False)}
    _apply(sb, body, note)
    with sb.store.transaction():
        sb.store.insert("notes", note, commit=False)
        sb.store.log_changes("notes", note["id"], [("add_time", None, note["add_time"])],
                             actor_user_id=me, time=now)
    return ok(render_notes(sb.store, [note], me)[0])


@router.route("PUT", "/notes/{id}", "updateNote")
async def update_note(request: Request) -> Response:
    sb = sandbox(request)
    old = record_or_404(request, "notes", "Note")
    body = await validated_body(request, strict=False)
    me = sb.me(request)
    note = dict(old)
    _apply(sb, body, note)
    changes = [(k, old.get(k), note.get(k)) for k in sorted(set(old) | set(note))
               if old.get(k) != note.get(k)]
    if changes:
        note["update_time"] = v1_time(sb.clock.now())
        note["last_update_user_id"] = me
        with sb.store.transaction():
            sb.store.replace("notes", note)
            sb.store.log_changes("notes", note["id"], changes, actor_user_id=me,
                                 time=note["update_time"])
    return ok(render_notes(sb.store, [note], me)[0])


@router.route("DELETE", "/notes/{id}", "deleteNote")
async def delete_note(request: Request) -> Response:
    sb = sandbox(request)
    note = record_or_404(request, "notes", "Note")
    now = v1_time(sb.clock.now())
    note.update(active_flag=False, update_time=now)
    with sb.store.transaction():
        sb.store.replace("notes", note, deleted=True)
        sb.store.log_changes("notes", note["id"], [("active_flag", True, False)],
                             actor_user_id=sb.me(request), time=now)
    return ok(True)
