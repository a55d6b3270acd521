"""Deterministic demo data: a sales team's Pipedrive account, generated into an empty store.

Everything is drawn from one ``random.Random(seed)`` and timestamps are spread over the two
years before a fixed anchor (``demo_values.ANCHOR``, not the wall clock), so a seed and a size
always give the same rows. Records are bulk-inserted in their API shapes (``collections.py``).
"""

from __future__ import annotations

import gc
import random
from itertools import accumulate
from typing import Any

from explorer.sandbox import demo_pools as P
from explorer.sandbox.collections import COLLECTIONS
from explorer.sandbox.demo_fields import filters
from explorer.sandbox.demo_records import Builder, new_uuid, working_hours
from explorer.sandbox.demo_related import generate_related
from explorer.sandbox.demo_values import DAY, SPAN
from explorer.sandbox.search import build_search_index
from explorer.sandbox.store import Store

JSON = dict[str, Any]

SIZES = {"small": 1_000, "medium": 10_000, "large": 100_000}
"""Deals per size; the other entities follow in proportion."""

_USERS = {"small": 10, "medium": 14, "large": 20}
_PRODUCTS = {"small": 60, "medium": 200, "large": 500}
_TIMED = frozenset({"call", "meeting", "lunch", "product_demo"})
_ACTIVITY_WEIGHTS = (("call", 30), ("meeting", 15), ("task", 20), ("email", 15),
                     ("deadline", 7), ("lunch", 4), ("product_demo", 9))


def generate(store: Store, *, size: str = "small", seed: int = 1) -> None:
    """Fill an empty ``store`` with the demo account for ``size`` and ``seed``.

    Raises:
        ValueError: for an unknown size or a store that already holds data.
    """
    if size not in SIZES:
        raise ValueError(f"Unknown demo size {size!r}; use one of {', '.join(SIZES)}")
    if not store.is_empty():
        raise ValueError("The store already holds data; demo data needs an empty store")
    # Hundreds of thousands of live dicts make every cyclic-GC pass slower, and the passes
    # come more often as they grow: generation would turn quadratic. Nothing here is cyclic.
    enabled = gc.isenabled()
    gc.disable()
    try:
        _generate(store, size, seed)
    finally:
        if enabled:
            gc.enable()


def _generate(store: Store, size: str, seed: int) -> None:
    b = Builder(random.Random(seed), SIZES[size], _USERS[size], _PRODUCTS[size])
    _account(b, store)
    b.values.specs = b.fields.custom
    b.values.counts = {"users": b.n_users, "organizations": b.n_deals // 4,
                       "persons": b.n_deals * 3 // 5}
    b.organizations()
    b.persons_()
    b.products_()
    b.deals_()
    b.leads_(P.COMPANY["company_domain"])
    activities = _activities(b)
    notes = _notes(b)
    related = generate_related(b, seed)
    bulk = (("organizations", b.orgs), ("persons", b.persons), ("products", b.products),
            ("deals", b.deals), ("leads", b.leads), ("activities", activities),
            ("notes", notes))
    # Building an index once over sorted data is about three times cheaper than updating it
    # row by row; the store's own schema step puts the indexes back.
    tables = [COLLECTIONS[name].table for name, _ in bulk]
    indexes = store.conn.execute(
        f"SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({','.join('?' * len(tables))})", tables).fetchall()
    for (index,) in indexes:
        store.conn.execute(f'DROP INDEX "{index}"')
    for name, rows in bulk:
        store.insert_many(name, rows)
    store._create_schema()
    related.store(store)
    store.insert_many("filters", filters(b.fields, b.t.v1(-SPAN + 30 * DAY + 36_000),
                                         b.t.v1(-2 * DAY + 5 * 3600)))
    build_search_index(store)
    for key, value in {"me_user_id": "1", "default_currency": "EUR", **P.COMPANY,
                       "seed": str(seed), "size": size, "seeded": "1"}.items():
        store.set_meta(key, value)


# ---------------------------------------------------------------------- account


def _account(b: Builder, store: Store) -> None:
    """Users, currencies, activity types, lead labels, pipelines, stages and fields."""
    rng, t = b.rng, b.t
    for i in range(b.n_users):
        name, tz, offset, locale = P.USERS[i]
        uid, admin = i + 1, i == 0
        created = -SPAN - (40 - i) * DAY + rng.randrange(8 * 3600, 17 * 3600)
        first, last = name.lower().split()
        perm = new_uuid(rng)
        b.users.append({
            "id": uid, "name": name, "default_currency": "EUR", "locale": locale, "lang": 1,
            "email": f"{first}.{last}@{P.COMPANY['company_domain']}.com",
            "phone": f"+49 30 {rng.randrange(1000000, 9999999)}" if i % 3 == 0 else None,
            "activated": True, "last_login": t.v1(-rng.randrange(3600, 6 * DAY)),
            "created": t.v1(created), "modified": t.v1(b.after(created, SPAN)),
            "has_created_company": admin,
            "access": [{"app": "sales", "admin": admin, "permission_set_id": perm},
                       {"app": "global", "admin": admin, "permission_set_id": perm}],
            # The last user has left the company: deactivated but still owning records.
            "active_flag": uid != b.n_users, "timezone_name": tz, "timezone_offset": offset,
            "role_id": 1 if admin else 2, "icon_url": None, "is_you": admin,
            "is_deleted": False, "is_admin": 1 if admin else 0,
        })
    store.insert_many("users", b.users)
    currencies = [{"id": i, "code": code, "name": name, "decimal_points": dp, "symbol": sym,
                   "active_flag": True, "is_custom_flag": False}
                  for i, (code, name, dp, sym) in enumerate(P.CURRENCIES, start=1)]
    code, name, dp, sym = P.CUSTOM_CURRENCY
    currencies.append({"id": len(currencies) + 1, "code": code, "name": name,
                       "decimal_points": dp, "symbol": sym, "active_flag": True,
                       "is_custom_flag": True})
    store.insert_many("currencies", currencies)
    t0 = t.v1(-SPAN - 40 * DAY)
    store.insert_many("activity_types", [
        {"id": i, "name": name, "icon_key": icon, "color": color, "order_nr": i,
         "key_string": key, "active_flag": True, "is_custom_flag": custom, "add_time": t0,
         "update_time": t0}
        for i, (name, key, icon, custom, color) in enumerate(P.ACTIVITY_TYPES, start=1)
    ])
    lt = t.lead(-SPAN - 30 * DAY, 0)
    b.lead_labels = [{"id": new_uuid(rng), "name": name, "color": color, "add_time": lt,
                      "update_time": lt} for name, color in P.LEAD_LABELS]
    store.insert_many("lead_labels", b.lead_labels)
    pipelines: list[JSON] = []
    stages: list[JSON] = []
    pt = t.v2(-SPAN - 30 * DAY)
    for pid, (pname, probability, pstages) in enumerate(P.PIPELINES, start=1):
        pipelines.append({"id": pid, "name": pname, "order_nr": pid, "is_deleted": False,
                          "is_deal_probability_enabled": probability, "add_time": pt,
                          "update_time": pt})
        for order, (sname, chance, rot) in enumerate(pstages, start=1):
            stages.append({"id": len(stages) + 1, "order_nr": order, "name": sname,
                           "is_deleted": False, "deal_probability": chance,
                           "pipeline_id": pid, "is_deal_rot_enabled": rot is not None,
                           "days_to_rotten": rot, "add_time": pt, "update_time": pt})
            b.stages.setdefault(pid, []).append(stages[-1])
    store.insert_many("pipelines", pipelines)
    store.insert_many("stages", stages)
    names = {p["id"]: p["name"] for p in pipelines}
    b.fields.stages = [(st["id"], f"{names[st['pipeline_id']]}: {st['name']}") for st in stages]
    store.insert_many("fields", b.fields.build())


# ---------------------------------------------------------------------- activities and notes


def _activities(b: Builder) -> list[JSON]:
    rng, t = b.rng, b.t
    keys = [k for k, _ in _ACTIVITY_WEIGHTS]
    weights = list(accumulate(w for _, w in _ACTIVITY_WEIGHTS))
    priorities = b.fields.option_ids("activity", "priority")
    lead_next: dict[str, tuple[int, int]] = {}
    out: list[JSON] = []
    for aid in range(1, b.n_deals * 3 // 2 + 1):
        r = rng.random()
        deal_id = lead_id = person_id = org_id = None
        end = 45 * DAY
        if r < 0.6:
            i = rng.randrange(len(b.deals))
            deal = b.deals[i]
            deal_id, person_id, org_id, owner = (deal["id"], deal["person_id"], deal["org_id"],
                                                 deal["owner_id"])
            start, closed = b.deal_meta[i]
            end = end if closed is None else closed
        elif r < 0.75:
            i = rng.randrange(len(b.leads))
            lead = b.leads[i]
            lead_id, person_id, org_id, owner = (lead["id"], lead["person_id"],
                                                 lead["organization_id"], lead["owner_id"])
            start = b.lead_add[i]
        elif r < 0.9:
            i = rng.randrange(len(b.persons))
            person = b.persons[i]
            person_id, org_id, owner = person["id"], person["org_id"], person["owner_id"]
            start = b.person_add[i]
        else:
            i = rng.randrange(len(b.orgs))
            org_id, owner, start = b.orgs[i]["id"], b.orgs[i]["owner_id"], b.org_meta[i][2]
        if rng.random() < 0.2:
            owner = b.owner()
        kind = rng.choices(keys, cum_weights=weights)[0]
        due = start + int((end - start) * rng.random())
        add = min(max(start, working_hours(due - rng.randrange(0, 14 * DAY))),
                  -rng.randrange(3600, DAY))
        done = rng.random() < (0.88 if due < 0 else 0.03)
        done_at = (max(add, min(working_hours(due + rng.randrange(0, 2 * DAY)), -60))
                   if done else None)
        timed = kind in _TIMED or rng.random() < 0.3
        contact = b.persons[person_id - 1] if person_id is not None else None
        user = b.users[owner - 1]
        meeting = kind in ("meeting", "lunch", "product_demo")
        location = None
        if kind in ("meeting", "lunch") and rng.random() < 0.7:
            address = b.orgs[org_id - 1]["address"] if org_id is not None else None
            location = address or b.places.address(b.places.country())
        attendees: list[JSON] = []
        if meeting and contact is not None:
            attendees = [
                {"email": contact["emails"][0]["value"], "name": contact["name"],
                 "status": rng.choice(("accepted", "accepted", "tentative", "noreply")),
                 "is_organizer": False, "person_id": contact["id"]},
                {"email": user["email"], "name": user["name"], "status": "accepted",
                 "is_organizer": True, "user_id": owner},
            ]
        video = kind == "product_demo" or (kind == "meeting" and location is None)
        record: JSON = {
            "id": aid, "subject": rng.choice(P.ACTIVITY_SUBJECTS[kind]), "type": kind,
            "owner_id": owner, "creator_user_id": owner if rng.random() < 0.8 else 1,
            "is_deleted": False, "add_time": t.v2(add),
            "update_time": t.v2(done_at if done_at is not None else add),
            "deal_id": deal_id, "lead_id": lead_id, "person_id": person_id, "org_id": org_id,
            "due_date": t.date(due),
            "due_time": f"{rng.randrange(8, 18):02d}:{rng.choice((0, 15, 30, 45)):02d}"
            if timed else None,
            "duration": rng.choice(("00:15", "00:30", "00:30", "01:00", "01:30"))
            if timed else None,
            "busy": kind in _TIMED, "done": done,
            "marked_as_done_time": None if done_at is None else t.v2(done_at),
            "location": location,
            "participants": [] if person_id is None else [
                {"person_id": person_id, "primary": True}],
            "attendees": attendees,
            "conference_meeting_client": "zoom" if video else None,
            "conference_meeting_url": (f"https://zoom.us/j/{8_100_000_000 + aid}"
                                       if video else None),
            "conference_meeting_id": str(8_100_000_000 + aid) if video else None,
            "public_description": ("Agenda: introductions, requirements, next steps."
                                   if meeting and rng.random() < 0.3 else None),
            "priority": (rng.choice(priorities) if kind == "task" and rng.random() < 0.25
                         else None),
            "note": ("<p>Prepare the latest figures before the call.</p>"
                     if rng.random() < 0.15 else None),
        }
        out.append(record)
        if lead_id is not None and not done:
            best = lead_next.get(lead_id)
            if best is None or due < best[0]:
                lead_next[lead_id] = (due, aid)
    for lead in b.leads:
        nxt = lead_next.get(lead["id"])
        lead["next_activity_id"] = None if nxt is None else nxt[1]
    return out


def _notes(b: Builder) -> list[JSON]:
    rng, t = b.rng, b.t
    out: list[JSON] = []
    products = [p[0] for p in P.PRODUCTS]
    for nid in range(1, b.n_deals * 6 // 5 + 1):
        r = rng.random()
        deal_id = lead_id = person_id = org_id = None
        pinned = rng.random() < 0.05
        flags = {"pinned_to_deal_flag": False, "pinned_to_person_flag": False,
                 "pinned_to_organization_flag": False, "pinned_to_lead_flag": False,
                 "pinned_to_project_flag": False, "pinned_to_task_flag": False}
        if r < 0.45:
            i = rng.randrange(len(b.deals))
            deal = b.deals[i]
            deal_id, person_id, org_id, owner = (deal["id"], deal["person_id"], deal["org_id"],
                                                 deal["owner_id"])
            start, target = b.deal_meta[i][0], "deal"
        elif r < 0.7:
            i = rng.randrange(len(b.persons))
            person_id, org_id = b.persons[i]["id"], b.persons[i]["org_id"]
            owner, start, target = b.persons[i]["owner_id"], b.person_add[i], "person"
        elif r < 0.85:
            i = rng.randrange(len(b.orgs))
            org_id, owner = b.orgs[i]["id"], b.orgs[i]["owner_id"]
            start, target = b.org_meta[i][2], "organization"
        else:
            i = rng.randrange(len(b.leads))
            lead_id, owner = b.leads[i]["id"], b.leads[i]["owner_id"]
            person_id = org_id = None
            start, target = b.lead_add[i], "lead"
        flags[f"pinned_to_{target}_flag"] = pinned
        user_id = owner if rng.random() < 0.7 else b.owner()
        add = b.after(start, 300 * DAY)
        update = b.after(add, 20 * DAY) if rng.random() < 0.2 else add
        content = rng.choice(P.NOTE_TEMPLATES).format(
            person=b.persons[person_id - 1]["name"] if person_id is not None else "the client",
            org=b.org_meta[org_id - 1][3] if org_id is not None else "The client",
            q=rng.randrange(1, 5), pct=rng.choice((5, 10, 15, 20)),
            weeks=rng.randrange(2, 7), product=rng.choice(products))
        out.append({
            "id": nid, "active_flag": True, "add_time": t.v1(add), "content": content,
            "deal_id": deal_id, "lead_id": lead_id, "person_id": person_id, "org_id": org_id,
            "user_id": user_id, "last_update_user_id": user_id, "update_time": t.v1(update),
            **flags,
        })
    return out
