"""v2 activities (``/api/v2``)."""

from __future__ import annotations

import re

from explorer.sandbox.entities import EntityKind, check_refs, register
from explorer.sandbox.http import JSON, ApiProblem, Query, bad_request, is_date, v2_time
from explorer.sandbox.routing import Router, Sandbox
from explorer.sandbox.store import Store, Where

router = Router("v2")

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")



def _activity_type(store: Store, key: str) -> JSON | None:
    rows = store.select("activity_types", [("key_string = ?", (key,))], limit=1)
    return rows[0] if rows else None


def _check_activity(sb: Sandbox, body: JSON, old: JSON | None) -> None:
    store = sb.store
    kind = body.get("type")
    if kind is not None and _activity_type(store, kind) is None:
        keys = [t["key_string"] for t in store.select("activity_types")]
        raise bad_request(f"Activity type '{kind}' does not exist",
                          f"Use the key_string of an activity type: {', '.join(keys)}.")
    due_date = body.get("due_date")
    if due_date is not None and not is_date(due_date):
        raise bad_request(f"Invalid due_date '{due_date}'", "Use the format YYYY-MM-DD.")
    for key in ("due_time", "duration"):
        value = body.get(key)
        if value is not None and not _TIME.match(value):
            raise bad_request(f"Invalid {key} '{value}'", "Use the format HH:MM or HH:MM:SS.")
    lead_id = body.get("lead_id")
    if lead_id is not None and store.get("leads", lead_id) is None:
        raise ApiProblem(400, f"Lead with id {lead_id} not found",
                         "'lead_id' must be the UUID of an existing lead.")
    for i, part in enumerate(body.get("participants") or ()):
        if not isinstance(part, dict) or not isinstance(part.get("person_id"), int):
            raise bad_request(f"participants[{i}] must be an object with an integer 'person_id'")
        if store.get("persons", part["person_id"]) is None:
            raise ApiProblem(400, f"Person with id {part['person_id']} not found",
                             f"participants[{i}].person_id must be an existing person.")
    for i, att in enumerate(body.get("attendees") or ()):
        if not isinstance(att, dict) or not (att.get("email") or att.get("person_id")
                                             or att.get("user_id")):
            raise bad_request(f"attendees[{i}] needs an email, person_id or user_id")


def _activity_defaults(sb: Sandbox, user: int) -> JSON:
    types = sb.store.select("activity_types", [("key_string = ?", ("call",))], limit=1) or (
        sb.store.select("activity_types", limit=1)
    )
    return {
        "subject": None, "type": types[0]["key_string"] if types else "call", "owner_id": user,
        "creator_user_id": user, "is_deleted": False, "deal_id": None, "lead_id": None,
        "person_id": None, "org_id": None, "project_id": None, "due_date": None,
        "due_time": None, "duration": None, "busy": False, "done": False,
        "marked_as_done_time": None, "location": None, "participants": [], "attendees": [],
        "public_description": None, "priority": None, "note": None,
    }


def _activity_written(sb: Sandbox, act: JSON, old: JSON | None) -> None:
    before = old or {}
    if not act.get("subject"):
        found = _activity_type(sb.store, act["type"])
        act["subject"] = found["name"] if found else str(act["type"]).capitalize()
    if bool(act.get("done")) != bool(before.get("done")):
        act["marked_as_done_time"] = v2_time(sb.clock.now()) if act.get("done") else None
    # person_id is the primary participant; keep the two views of it in step.
    if act.get("participants") != before.get("participants") and act.get("participants"):
        primary = [p for p in act["participants"] if p.get("primary")] or act["participants"][:1]
        act["person_id"] = primary[0]["person_id"]
        act["participants"] = [{"person_id": p["person_id"],
                                "primary": p["person_id"] == act["person_id"]}
                               for p in act["participants"]]
    elif act.get("person_id") != before.get("person_id"):
        others = [p for p in act.get("participants") or ()
                  if p["person_id"] not in (act.get("person_id"), before.get("person_id"))]
        mine = [{"person_id": act["person_id"], "primary": True}] if act.get("person_id") else []
        act["participants"] = mine + [{**p, "primary": False} for p in others]


def _activity_flags(q: Query) -> Where:
    done = q.params.get("done")
    return [] if done in (None, "") else [("done = ?", (int(q.bool("done")),))]


def _activity_filters(q: Query) -> Where:
    lead_id = q.str("lead_id")
    return [] if lead_id is None else [("lead_id = ?", (lead_id,))]


ACTIVITIES = EntityKind(
    collection="activities",
    path="activities",
    label="Activity",
    field_entity=None,
    filters={"owner_id": "owner_id", "deal_id": "deal_id", "person_id": "person_id",
             "org_id": "org_id"},
    id_filters=_activity_filters,
    flag_filters=_activity_flags,
    sort_by=("update_time", "add_time", "due_date"),
    rules=(check_refs, _check_activity),
    defaults=_activity_defaults,
    on_write=_activity_written,
    optional_keys=frozenset({"attendees"}),
)


register(router, ACTIVITIES, "Activity", "Activities")
