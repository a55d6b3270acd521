"""The search engine behind itemSearch and the per-entity searches: a text index and its query.

Every searchable value (deal and lead titles, names, emails, phones, addresses, product codes,
searchable custom field values, note texts) is kept lower-cased in the store's ``search_text``
table, one row per ``(collection, field, item, source)``. ``build_search_index`` fills it from
demo data; a store write hook keeps it fresh on every later single-record write. A search scans
the index tier by tier (titles and names, then contact fields, custom fields, notes), maps note
hits to the items they are attached to, keeps live records that pass the filters, and ranks by
``(score, type, id)``, which is also the keyset its cursor carries.
"""

from __future__ import annotations

import html
import json
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from explorer.sandbox.fields import SEARCHABLE_TYPES, custom_fields_of
from explorer.sandbox.store import Record, Store

# item type → (collection, fields it can be searched by, field entity of its custom fields)
TYPES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "deal": ("deals", ("title", "notes", "custom_fields"), "deal"),
    "person": ("persons", ("name", "email", "phone", "notes", "custom_fields"), "person"),
    "organization": ("organizations", ("name", "address", "notes", "custom_fields"),
                     "organization"),
    "product": ("products", ("name", "code", "custom_fields"), "product"),
    "lead": ("leads", ("title", "notes", "custom_fields"), "lead"),
}
# Types Pipedrive searches that the sandbox has no records of: accepted, never found.
EMPTY_TYPES: dict[str, tuple[str, ...]] = {
    "file": ("name",),
    "mail_attachment": ("name",),
    "project": ("title", "notes", "custom_fields", "description"),
}
ALL_TYPES = (*TYPES, *EMPTY_TYPES)
TYPE_RANK = {name: i for i, name in enumerate(TYPES)}

# The column of ``c_notes`` that links a note to an item of each collection.
NOTE_LINK = {"deals": "deal_id", "persons": "person_id", "organizations": "org_id",
             "leads": "lead_id"}
_COLLECTION_TYPE = {coll: name for name, (coll, _, _) in TYPES.items()}
_INDEXED = {**{coll: fields for coll, fields, _ in TYPES.values()}, "notes": ("notes",)}

# Relevance: primary fields rank above custom fields and notes; within a field an exact value
# beats a prefix of the value, which beats a prefix of a word, which beats a mere substring.
_TIER = {"title": 3, "name": 3, "custom_fields": 1, "notes": 0}  # others (email, phone…): 2
_KIND_SQL = ("(CASE WHEN text = :t THEN 4 WHEN substr(text, 1, :n) = :t THEN 3 "
             "WHEN instr(text, ' ' || :t) > 0 THEN 2 ELSE 1 END)")
SCORE_SCALE = 10.0

_TAG = re.compile(r"<[^>]*>")


# ---------------------------------------------------------------------- normalising


def norm(value: Any) -> str | None:
    """The searchable form of a value: lower-cased text with collapsed whitespace."""
    if value is None or isinstance(value, bool):
        return None
    text = " ".join(display(value).split()).lower()
    return text or None


def display(value: Any) -> str:
    """A value as Pipedrive shows it in search results (numbers without a trailing ``.0``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def note_text(content: Any) -> str:
    """A note's HTML content as plain text."""
    if not isinstance(content, str):
        return ""
    if "<" in content:
        content = _TAG.sub(" ", content)
    if "&" in content:
        content = html.unescape(content)
    return " ".join(content.split())


def custom_text(value: Any) -> str | None:
    """The searchable text of a custom field value (monetary and address objects by value)."""
    if isinstance(value, dict):
        value = value.get("value")
    if value is None or isinstance(value, bool | dict | list):
        return None
    return display(value)


# ---------------------------------------------------------------------- index maintenance

_READY: weakref.WeakKeyDictionary[Store, bool] = weakref.WeakKeyDictionary()


def _prepare(store: Store) -> None:
    if store not in _READY:
        conn = store.conn
        conn.create_function("s_norm", 1, norm, deterministic=True)
        conn.create_function("s_note", 1, lambda c: note_text(c).lower() or None,
                             deterministic=True)
        _READY[store] = True


def searchable_keys(store: Store, entity: str) -> list[str]:
    return [k for k, f in custom_fields_of(store, entity).items()
            if f["field_type"] in SEARCHABLE_TYPES]


def _statements(store: Store, coll: str, one: bool) -> list[str]:
    """INSERT … SELECT statements that index ``coll`` (one record when ``one``: id = :id).

    Values the normalising functions turn into NULL (empty text) are skipped by OR IGNORE.
    """
    only = " AND r.id = :id" if one else ""
    ins = "INSERT OR IGNORE INTO search_text (coll, field, item_id, src, text) "
    if coll == "notes":
        return [f"{ins}SELECT 'notes', 'notes', r.id, '', s_note(json_extract(r.data, "
                f"'$.content')) FROM c_notes r WHERE r.deleted = 0{only}"]
    out: list[str] = []
    for fld in _INDEXED[coll]:
        if fld in ("title", "name", "code"):
            out.append(f"{ins}SELECT '{coll}', '{fld}', r.id, '', s_norm(r.{fld}) "
                       f"FROM c_{coll} r WHERE r.deleted = 0{only}")
        elif fld == "address":
            out.append(f"{ins}SELECT '{coll}', 'address', r.id, '', "
                       f"s_norm(json_extract(r.data, '$.address.value')) "
                       f"FROM c_{coll} r WHERE r.deleted = 0{only}")
        elif fld != "notes":  # notes are indexed once, as the notes collection
            # Arrays of {value, …} (emails, phones) and custom fields, scalars or objects
            # (monetary, address) searched by their value.
            path, key_filter = f"$.{fld}s", ""
            if fld == "custom_fields":
                keys = [k for k in searchable_keys(store, TYPES[_COLLECTION_TYPE[coll]][2])
                        if re.fullmatch(r"\w+", k)]
                if not keys:
                    continue
                path, key_filter = "$.custom_fields", (
                    f" AND e.key IN ({', '.join(repr(k) for k in keys)})")
            out.append(
                f"{ins}SELECT '{coll}', '{fld}', r.id, e.key, s_norm(CASE e.type WHEN 'object' "
                f"THEN json_extract(e.value, '$.value') ELSE e.atom END) "
                f"FROM c_{coll} r, json_each(r.data, '{path}') e "
                f"WHERE r.deleted = 0{only}{key_filter}"
            )
    return out


def index_record(store: Store, coll: str, item_id: int | str, deleted: bool) -> None:
    """Re-index one record of ``coll`` from what is stored now."""
    fields = _INDEXED.get(coll)
    if fields is None:
        return
    _prepare(store)
    marks = ", ".join("?" * len(fields))
    store.conn.execute(
        f"DELETE FROM search_text WHERE coll = ? AND field IN ({marks}) AND item_id = ?",
        (coll, *fields, item_id),
    )
    if not deleted:
        for sql in _statements(store, coll, one=True):
            store.conn.execute(sql, {"id": item_id})


def _on_write(store: Store, coll: str, record: Record, deleted: bool) -> None:
    if coll in _INDEXED:
        index_record(store, coll, record["id"], deleted)


def keep_fresh(store: Store) -> None:
    """Re-index each record ``store`` writes from now on (idempotent)."""
    if _on_write not in store.write_hooks:
        store.write_hooks.append(_on_write)


def build_search_index(store: Store) -> None:
    """(Re)build the whole index; demo generation calls it after its bulk inserts."""
    _prepare(store)
    with store.transaction():
        store.conn.execute("DELETE FROM search_text")
        for coll in _INDEXED:
            for sql in _statements(store, coll, one=False):
                store.conn.execute(sql)


# ---------------------------------------------------------------------- query


Key = tuple[int, int, "int | str"]


@dataclass
class Search:
    """One search request, already validated.

    Attributes:
        term: the search term as given (trimmed).
        exact: whole-value match instead of substring.
        fields: item type → index fields to search (types absent are not searched).
        filters: item type → ``(sql on the collection's row ``t``, params)`` conditions.
        limit: page size.
        after: the keyset ``(score, type rank, id)`` of the last item of the previous page.
    """

    term: str
    exact: bool
    fields: dict[str, tuple[str, ...]]
    filters: dict[str, list[tuple[str, Sequence[Any]]]] = field(default_factory=dict)
    limit: int = 100
    after: Key | None = None

    @property
    def needle(self) -> str:
        return norm(self.term) or ""


@dataclass(frozen=True)
class Hit:
    """One ranked result: its type, id and score."""

    type: str
    id: int | str
    score: int

    @property
    def key(self) -> Key:
        return (self.score, TYPE_RANK[self.type], self.id)


def run(store: Store, search: Search) -> tuple[list[Hit], Key | None]:
    """The page of hits and the keyset of the last one when more follow (else None).

    An item's score is the best of its matching fields, and a field's tier dominates the
    score, so tiers are ranked one after another: a page of common-term results is usually
    filled from titles and names alone, without touching notes or custom fields.
    """
    hits: list[Hit] = []
    for tier in sorted(set(_TIER.values()) | {2}, reverse=True):
        if search.after is not None and search.after[0] <= tier * 10:
            continue  # the previous page already went below this tier
        hits += _tier_hits(store, search, tier, search.limit + 1 - len(hits))
        if len(hits) > search.limit:
            hits = hits[: search.limit]
            return hits, hits[-1].key
    return hits, None


def _tier_of(name: str) -> int:
    return _TIER.get(name, 2)


def _tier_hits(store: Store, search: Search, tier: int, limit: int) -> list[Hit]:
    """Up to ``limit`` hits whose best matching field is of ``tier``, after the cursor."""
    types = [t for t in TYPES if any(_tier_of(f) == tier for f in search.fields.get(t, ()))]
    if not types:
        return []
    params: dict[str, Any] = {"t": search.needle, "n": len(search.needle), "limit": limit}
    match = "text = :t" if search.exact else "instr(text, :t) > 0"
    score = f"{tier * 10} + {_KIND_SQL}"
    branches = []
    for t in types:
        coll = TYPES[t][0]
        own = [f for f in search.fields[t] if _tier_of(f) == tier and f != "notes"]
        # One primary-key range scan per (collection, field): an OR would make sqlite build a
        # rowset of the whole table first.
        sources = [f"SELECT item_id, {score} AS score FROM search_text WHERE coll = '{coll}' "
                   f"AND field = '{f}' AND {match}" for f in own]
        if "notes" in search.fields[t] and tier == 0:
            link = NOTE_LINK[coll]
            sources.append(f"SELECT {link} AS item_id, score FROM nh WHERE {link} IS NOT NULL")
        if not sources:
            continue
        higher = [f for f in search.fields[t] if _tier_of(f) > tier]
        better = "" if not higher else (
            f" AND NOT EXISTS (SELECT 1 FROM search_text WHERE coll = '{coll}' AND field IN "
            f"({', '.join(repr(f) for f in higher)}) AND item_id = g.id AND {match})")
        conds = ""
        for i, (sql, values) in enumerate(search.filters.get(t, ())):
            for j, value in enumerate(values):
                name = f"f_{t}_{i}_{j}"
                sql = sql.replace("?", f":{name}", 1)
                params[name] = value
            conds += f" AND ({sql})"
        branches.append(
            f"SELECT '{t}' AS type, {TYPE_RANK[t]} AS rank, g.id AS id, g.score AS score "
            f"FROM (SELECT item_id AS id, MAX(score) AS score FROM "
            f"({' UNION ALL '.join(sources)}) GROUP BY item_id) g "
            f"JOIN c_{coll} t ON t.id = g.id AND t.deleted = 0{conds} WHERE 1{better}"
        )
    if not branches:
        return []
    where = ""
    if search.after is not None:
        params.update(zip(("as", "ar", "aq"), search.after, strict=True))
        where = ("WHERE score < :as OR (score = :as AND (rank > :ar OR "
                 "(rank = :ar AND id > :aq)))")
    notes = ""
    if tier == 0:
        # The items each matching note is attached to, looked up once for every type.
        notes = (f"WITH nh AS MATERIALIZED (SELECT n.deal_id, n.person_id, n.org_id, n.lead_id, "
                 f"{score} AS score FROM search_text s JOIN c_notes n ON n.id = s.item_id AND "
                 f"n.deleted = 0 WHERE s.coll = 'notes' AND s.field = 'notes' AND {match}) ")
    sql = (f"{notes}SELECT type, id, score FROM ({' UNION ALL '.join(branches)}) {where} "
           f"ORDER BY score DESC, rank ASC, id ASC LIMIT :limit")
    return [Hit(*row) for row in store.conn.execute(sql, params)]


def matched_notes(store: Store, search: Search, coll: str, ids: list[Any]) -> dict[Any, list[str]]:
    """The texts of the notes of each item in ``ids`` that match the term."""
    if not ids:
        return {}
    link = NOTE_LINK[coll]
    match = "s.text = ?" if search.exact else "instr(s.text, ?) > 0"
    out: dict[Any, list[str]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        rows = store.conn.execute(
            f"SELECT n.{link}, n.data FROM c_notes n JOIN search_text s ON s.coll = 'notes' "
            f"AND s.field = 'notes' AND s.item_id = n.id WHERE n.deleted = 0 AND n.{link} IN "
            f"({','.join('?' * len(chunk))}) AND {match} ORDER BY n.seq",
            (*chunk, search.needle),
        )
        for owner, data in rows:
            out.setdefault(owner, []).append(note_text(json.loads(data).get("content")))
    return out


def matches(search: Search, text: str | None) -> bool:
    value = norm(text)
    if value is None:
        return False
    return value == search.needle if search.exact else search.needle in value
