"""sqlite3 storage for the sandbox: one table per collection, records kept as JSON.

Each record is stored whole as JSON in ``data`` (in the shape the API returns it, see
``collections.py``), plus a few copied scalar columns that carry indexes for filtering, sorting
and keyset paging. The store is synchronous and single-threaded by design: the sandbox serves
from one event loop and every query is a local index lookup.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from explorer.sandbox.collections import COLLECTIONS, Collection

Record = dict[str, Any]
Where = list[tuple[str, Sequence[Any]]]

_SCHEMA_VERSION = 1

WriteHook = Callable[["Store", str, "Record", bool], None]


def _where_sql(where: Where | None, include_deleted: bool) -> tuple[str, list[Any]]:
    """`` WHERE …`` joining every ``(sql, params)`` condition (and the live-rows one) by AND."""
    clauses = [] if include_deleted else ["deleted = 0"]
    params: list[Any] = []
    for sql, p in where or ():
        clauses.append(f"({sql})")
        params.extend(p)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _column_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return value


class Store:
    """All sandbox data in one sqlite3 database (a file, or memory when ``path`` is None).

    Attributes:
        path: the database file, or None for an in-memory database.
        conn: the sqlite3 connection (autocommit off; writes go through ``transaction``).
        write_hooks: called as ``hook(store, collection, record, deleted)`` after every
            single-record write (``insert``, ``replace``, ``hard_delete``) in the same
            transaction; the search index stays fresh this way. ``insert_many`` (bulk demo
            data) does not call them.
    """

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self.write_hooks: list[WriteHook] = []
        self.conn = sqlite3.connect(path or ":memory:", check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode = WAL" if path else "PRAGMA journal_mode = MEMORY")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self._create_schema()

    def __repr__(self) -> str:
        return f"Store(path={self.path!r})"

    # ------------------------------------------------------------------ schema

    def _create_schema(self) -> None:
        c = self.conn
        c.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        for coll in COLLECTIONS.values():
            id_type = "TEXT" if coll.uuid_ids else "INTEGER"
            cols = "".join(f", {name}" for name in coll.columns)
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {coll.table} ("
                f"id {id_type} PRIMARY KEY, seq INTEGER NOT NULL, "
                f"deleted INTEGER NOT NULL DEFAULT 0{cols}, data TEXT NOT NULL)"
            )
            c.execute(f"CREATE INDEX IF NOT EXISTS {coll.table}_seq ON {coll.table}(seq)")
            for name in coll.indexed:
                c.execute(
                    f"CREATE INDEX IF NOT EXISTS {coll.table}_{name} ON {coll.table}({name}, seq)"
                )
            for i, names in enumerate(coll.covering):
                c.execute(f"CREATE INDEX IF NOT EXISTS {coll.table}_cover{i} "
                          f"ON {coll.table}({', '.join(names)})")
        c.execute(
            "CREATE TABLE IF NOT EXISTS changelog ("
            "id INTEGER PRIMARY KEY, collection TEXT NOT NULL, item_id TEXT NOT NULL, "
            "field_key TEXT NOT NULL, old_value TEXT, new_value TEXT, actor_user_id INTEGER, "
            "time TEXT NOT NULL, change_source TEXT NOT NULL)"
        )
        c.execute(
            "CREATE INDEX IF NOT EXISTS changelog_item ON changelog(collection, item_id, id)"
        )
        # Normalised searchable text per record and field, maintained by search.py.
        c.execute(
            "CREATE TABLE IF NOT EXISTS search_text (coll TEXT NOT NULL, field TEXT NOT NULL, "
            "item_id NOT NULL, src TEXT NOT NULL, text TEXT NOT NULL, "
            "PRIMARY KEY (coll, field, item_id, src)) WITHOUT ROWID"
        )
        c.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
            (str(_SCHEMA_VERSION),),
        )
        c.commit()

    # ------------------------------------------------------------------ meta

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
        self.conn.commit()

    def is_empty(self) -> bool:
        return self.get_meta("seeded") is None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self.conn.rollback()
            raise
        else:
            self.conn.commit()

    def close(self) -> None:
        self.conn.close()

    def clone(self) -> Store:
        """An independent in-memory copy (tests start each case from one seeded template)."""
        copy = Store(None)
        self.conn.commit()
        self.conn.backup(copy.conn)
        return copy

    # ------------------------------------------------------------------ records

    def _row(self, coll: Collection, record: Record, seq: int, deleted: bool) -> tuple[Any, ...]:
        cols = tuple(_column_value(record.get(name)) for name in coll.columns)
        return (record["id"], seq, int(deleted), *cols, json.dumps(record, separators=(",", ":")))

    def _insert_sql(self, coll: Collection) -> str:
        names = ", ".join(("id", "seq", "deleted", *coll.columns, "data"))
        marks = ", ".join("?" * (len(coll.columns) + 4))
        return f"INSERT INTO {coll.table} ({names}) VALUES ({marks})"

    def next_id(self, coll: Collection) -> int:
        row = self.conn.execute(f"SELECT COALESCE(MAX(seq), 0) + 1 FROM {coll.table}").fetchone()
        return int(row[0])

    def insert(self, name: str, record: Record, *, commit: bool = True) -> Record:
        """Insert ``record``; an integer id is assigned when the record has none."""
        coll = COLLECTIONS[name]
        seq = self.next_id(coll)
        if record.get("id") is None:
            if coll.uuid_ids:
                raise ValueError(f"{name} records need a UUID id")
            record["id"] = seq
        elif not coll.uuid_ids:
            seq = max(seq, int(record["id"]))
        self.conn.execute(self._insert_sql(coll), self._row(coll, record, seq, False))
        self._written(name, record, False)
        if commit:
            self.conn.commit()
        return record

    def _written(self, name: str, record: Record, deleted: bool) -> None:
        for hook in self.write_hooks:
            hook(self, name, record, deleted)

    def insert_many(self, name: str, records: Iterable[Record]) -> int:
        """Bulk insert for demo data; every record must already carry its id."""
        coll = COLLECTIONS[name]
        start = self.next_id(coll)
        rows = (self._row(coll, r, start + i, False) for i, r in enumerate(records))
        cur = self.conn.executemany(self._insert_sql(coll), rows)
        self.conn.commit()
        return cur.rowcount

    def get(self, name: str, item_id: int | str, *, include_deleted: bool = False) -> Record | None:
        coll = COLLECTIONS[name]
        sql = f"SELECT data FROM {coll.table} WHERE id = ?"
        if not include_deleted:
            sql += " AND deleted = 0"
        row = self.conn.execute(sql, (item_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def get_many(self, name: str, ids: Iterable[int | str]) -> dict[Any, Record]:
        """Records by id (deleted ones excluded); unknown ids are simply absent."""
        coll = COLLECTIONS[name]
        wanted = list(dict.fromkeys(ids))
        out: dict[Any, Record] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for (data,) in self.conn.execute(
                f"SELECT data FROM {coll.table} WHERE deleted = 0 AND id IN ({marks})", chunk
            ):
                rec = json.loads(data)
                out[rec["id"]] = rec
        return out

    def replace(self, name: str, record: Record, *, deleted: bool = False) -> None:
        """Write ``record`` over the stored one with the same id (keeps its insertion order)."""
        coll = COLLECTIONS[name]
        sets = ", ".join(f"{n} = ?" for n in coll.columns)
        cols = [_column_value(record.get(n)) for n in coll.columns]
        self.conn.execute(
            f"UPDATE {coll.table} SET deleted = ?, {sets}{', ' if sets else ''}data = ? "
            "WHERE id = ?",
            (int(deleted), *cols, json.dumps(record, separators=(",", ":")), record["id"]),
        )
        self._written(name, record, deleted)

    def hard_delete(self, name: str, item_id: int | str) -> None:
        coll = COLLECTIONS[name]
        self.conn.execute(f"DELETE FROM {coll.table} WHERE id = ?", (item_id,))
        self._written(name, {"id": item_id}, True)

    def select(
        self,
        name: str,
        where: Where | None = None,
        *,
        order_by: Sequence[tuple[str, str]] = (("seq", "ASC"),),
        limit: int | None = None,
        offset: int = 0,
        include_deleted: bool = False,
    ) -> list[Record]:
        """Records matching every ``(sql, params)`` condition, in ``order_by`` order."""
        coll = COLLECTIONS[name]
        clause, params = _where_sql(where, include_deleted)
        text = f"SELECT data FROM {coll.table}{clause}"
        text += " ORDER BY " + ", ".join(f"{c} {d}" for c, d in order_by)
        if limit is not None:
            text += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        return [json.loads(d) for (d,) in self.conn.execute(text, params)]

    def count(self, name: str, where: Where | None = None, *, include_deleted: bool = False) -> int:
        coll = COLLECTIONS[name]
        clause, params = _where_sql(where, include_deleted)
        return int(
            self.conn.execute(f"SELECT COUNT(*) FROM {coll.table}{clause}", params).fetchone()[0]
        )

    def aggregate(
        self, name: str, columns: Sequence[str], where: Where | None = None,
        *, group_by: Sequence[str] = (),
    ) -> list[tuple[Any, ...]]:
        """Rows of SQL ``columns`` (``"COUNT(*)"``, ``"TOTAL(value)"``) over the matching
        records, one per ``group_by`` group: summaries without decoding any record's JSON."""
        coll = COLLECTIONS[name]
        clause, params = _where_sql(where, False)
        text = f"SELECT {', '.join(columns)} FROM {coll.table}{clause}"
        if group_by:
            text += " GROUP BY " + ", ".join(group_by)
        return [tuple(row) for row in self.conn.execute(text, params)]

    def seq_of(self, name: str, item_id: int | str) -> int | None:
        coll = COLLECTIONS[name]
        row = self.conn.execute(f"SELECT seq FROM {coll.table} WHERE id = ?", (item_id,)).fetchone()
        return None if row is None else int(row[0])

    # ------------------------------------------------------------------ changelog

    def log_changes(
        self,
        name: str,
        item_id: int | str,
        changes: Iterable[tuple[str, Any, Any]],
        *,
        actor_user_id: int | None,
        time: str,
        change_source: str = "api",
    ) -> None:
        """Record ``(field_key, old, new)`` changes of one item (values stored as JSON)."""
        self.conn.executemany(
            "INSERT INTO changelog(collection, item_id, field_key, old_value, new_value, "
            "actor_user_id, time, change_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (name, str(item_id), key, json.dumps(old), json.dumps(new), actor_user_id, time,
                 change_source)
                for key, old, new in changes
            ],
        )

    def log_rows(
        self, rows: Iterable[tuple[str, int | str, str, Any, Any, int | None, str, str]]
    ) -> None:
        """Bulk ``(collection, item_id, field_key, old, new, actor, time, source)`` changes,
        for demo history (no commit; callers wrap it in ``transaction``)."""
        self.conn.executemany(
            "INSERT INTO changelog(collection, item_id, field_key, old_value, new_value, "
            "actor_user_id, time, change_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(c, str(i), k, json.dumps(o), json.dumps(n), a, t, src)
             for c, i, k, o, n, a, t, src in rows],
        )

    def changelog(
        self, name: str, item_id: int | str, *, after: int = 0, limit: int = 100
    ) -> list[Record]:
        """Changes of one item, oldest first, as dicts with decoded old/new values."""
        rows = self.conn.execute(
            "SELECT id, field_key, old_value, new_value, actor_user_id, time, change_source "
            "FROM changelog WHERE collection = ? AND item_id = ? AND id > ? ORDER BY id LIMIT ?",
            (name, str(item_id), after, limit),
        ).fetchall()
        return [
            {
                "id": r[0],
                "field_key": r[1],
                "old_value": json.loads(r[2]),
                "new_value": json.loads(r[3]),
                "actor_user_id": r[4],
                "time": r[5],
                "change_source": r[6],
            }
            for r in rows
        ]
