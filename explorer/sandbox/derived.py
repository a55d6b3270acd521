"""``include_fields`` values of v2 entities, counted for a whole page in a few grouped queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from explorer.sandbox.collections import COLLECTIONS
from explorer.sandbox.http import JSON
from explorer.sandbox.store import Store

# Counts Pipedrive reports for things the sandbox does not keep (mail).
ZERO_COUNTS = ("email_messages_count", "participants_count")


def _marks(ids: list[Any]) -> str:
    return ",".join("?" * len(ids))


def _grouped(store: Store, sql: str, params: Iterable[Any]) -> dict[Any, dict[Any, int]]:
    """``SELECT owner, bucket, COUNT(*)`` rows as ``{owner: {bucket: count}}``."""
    out: dict[Any, dict[Any, int]] = defaultdict(dict)
    for owner, bucket, n in store.conn.execute(sql, list(params)):
        out[owner][bucket] = int(n)
    return out


def activity_counts(store: Store, rows: list[JSON], include: set[str], column: str) -> None:
    """Activity counts and next/last activity ids of records linked through ``column``."""
    wanted = {"activities_count", "done_activities_count", "undone_activities_count",
              "next_activity_id", "last_activity_id"} & include
    if not wanted or not rows:
        return
    ids = [r["id"] for r in rows]
    table = COLLECTIONS["activities"].table
    where = f"deleted = 0 AND {column} IN ({_marks(ids)})"
    counts = _grouped(
        store, f"SELECT {column}, done, COUNT(*) FROM {table} WHERE {where} GROUP BY 1, 2", ids
    )
    nxt: dict[Any, int] = {}
    last: dict[Any, int] = {}
    if "next_activity_id" in wanted:
        # The earliest undone activity; undated ones come after every dated one.
        for owner, act in store.conn.execute(
            f"SELECT {column}, id FROM {table} WHERE {where} AND done = 0 "
            "ORDER BY due_date IS NULL, due_date, seq", ids
        ):
            nxt.setdefault(owner, act)
    if "last_activity_id" in wanted:
        for owner, act in store.conn.execute(
            f"SELECT {column}, id FROM {table} WHERE {where} AND done = 1 "
            "ORDER BY due_date IS NULL, due_date DESC, seq DESC", ids
        ):
            last.setdefault(owner, act)
    for row in rows:
        c = counts.get(row["id"], {})
        done, undone = c.get(1, 0), c.get(0, 0)
        values = {"activities_count": done + undone, "done_activities_count": done,
                  "undone_activities_count": undone, "next_activity_id": nxt.get(row["id"]),
                  "last_activity_id": last.get(row["id"])}
        for key in wanted:
            row[key] = values[key]


def notes_count(store: Store, rows: list[JSON], include: set[str], column: str) -> None:
    _child_count(store, rows, include, "notes_count", "notes", column)


def _child_count(store: Store, rows: list[JSON], include: set[str], key: str,
                 collection: str, column: str, entity: str | None = None) -> None:
    """``key`` = how many live ``collection`` records point at each row through ``column``
    (only those of ``entity`` when given, for tables shared by several entities)."""
    if key not in include or not rows:
        return
    ids = [r["id"] for r in rows]
    table = COLLECTIONS[collection].table
    of_entity = "" if entity is None else "AND entity = ? "
    counts = _grouped(
        store,
        f"SELECT {column}, 0, COUNT(*) FROM {table} WHERE deleted = 0 {of_entity}"
        f"AND {column} IN ({_marks(ids)}) GROUP BY 1",
        ids if entity is None else [entity, *ids],
    )
    for row in rows:
        row[key] = counts.get(row["id"], {}).get(0, 0)


def _deal_counts_into(row: JSON, include: set[str], by_status: dict[Any, int],
                      prefix: str = "") -> None:
    won, lost, open_ = by_status.get("won", 0), by_status.get("lost", 0), by_status.get("open", 0)
    values = {"open_deals_count": open_, "closed_deals_count": won + lost,
              "won_deals_count": won, "lost_deals_count": lost}
    for key, value in values.items():
        if prefix + key in include:
            row[prefix + key] = value


def deal_counts(store: Store, rows: list[JSON], include: set[str], column: str) -> None:
    """open/closed/won/lost deal counts (and ``related_``/``participant_`` variants)."""
    if not rows or not any("deals_count" in key for key in include):
        return
    ids = [r["id"] for r in rows]
    deals = COLLECTIONS["deals"].table
    direct = _grouped(
        store,
        f"SELECT {column}, status, COUNT(*) FROM {deals} WHERE deleted = 0 "
        f"AND {column} IN ({_marks(ids)}) GROUP BY 1, 2",
        ids,
    )
    related = direct
    if column == "org_id" and any(k.startswith("related_") for k in include):
        related = _org_related_deals(store, ids)
    for row in rows:
        _deal_counts_into(row, include, direct.get(row["id"], {}))
        _deal_counts_into(row, include, related.get(row["id"], {}), "related_")
        _deal_counts_into(row, include, direct.get(row["id"], {}), "participant_")


def _org_related_deals(store: Store, ids: list[Any]) -> dict[Any, dict[Any, int]]:
    """Deals related to each organization: its own and those of its people, each once."""
    deals, persons = COLLECTIONS["deals"].table, COLLECTIONS["persons"].table
    org_of = dict(store.conn.execute(
        f"SELECT id, org_id FROM {persons} WHERE deleted = 0 AND org_id IN ({_marks(ids)})", ids))
    links: dict[Any, set[Any]] = defaultdict(set)  # deal id → related org ids
    status: dict[Any, str] = {}
    people = list(org_of)
    for column, keys in (("org_id", ids), ("person_id", people)):
        for i in range(0, len(keys), 900):
            chunk = keys[i:i + 900]
            for deal_id, state, org_id, person_id in store.conn.execute(
                f"SELECT id, status, org_id, person_id FROM {deals} WHERE deleted = 0 "
                f"AND {column} IN ({_marks(chunk)})", chunk
            ):
                status[deal_id] = state
                links[deal_id].add(org_id if column == "org_id" else org_of[person_id])
    out: dict[Any, dict[Any, int]] = defaultdict(dict)
    for deal_id, orgs in links.items():
        for org_id in orgs:
            counts = out[org_id]
            counts[status[deal_id]] = counts.get(status[deal_id], 0) + 1
    return out


def people_count(store: Store, rows: list[JSON], include: set[str]) -> None:
    _child_count(store, rows, include, "people_count", "persons", "org_id")


def deal_product_sum(item: JSON) -> float:
    """A deal product's ``sum``: quantity × price, less the discount (a percentage or an
    amount), plus the tax when it is charged on top (``exclusive``)."""
    gross = float(item.get("quantity") or 0) * float(item.get("item_price") or 0)
    discount = float(item.get("discount") or 0)
    net = gross - discount if item.get("discount_type") == "amount" else (
        gross * (1 - discount / 100))
    if item.get("tax_method") == "exclusive":
        net *= 1 + float(item.get("tax") or 0) / 100
    return round(net, 2)


def products_count(store: Store, rows: list[JSON], include: set[str]) -> None:
    _child_count(store, rows, include, "products_count", "deal_products", "deal_id")


def files_count(store: Store, rows: list[JSON], include: set[str], column: str) -> None:
    _child_count(store, rows, include, "files_count", "files", column)


def followers_count(store: Store, rows: list[JSON], include: set[str], entity: str) -> None:
    """How many users follow each row (``entity``: deal, person, organization, product)."""
    _child_count(store, rows, include, "followers_count", "followers", "item_id", entity)


def related_counts(store: Store, rows: list[JSON], include: set[str], entity: str,
                   column: str) -> None:
    """files_count and followers_count of rows of ``entity`` (files linked by ``column``)."""
    files_count(store, rows, include, column)
    followers_count(store, rows, include, entity)


def zero_counts(rows: list[JSON], include: set[str]) -> None:
    for key in ZERO_COUNTS:
        if key in include:
            for row in rows:
                row[key] = 0
