"""The database the CLI serves: a sandbox's own file, a new one, or memory.

The CLI refuses, with one line naming the file and what to do, anything it cannot use: a
folder, a missing folder, a file that is no SQLite database, or another program's SQLite
database (the sandbox would add its tables and demo data to it). A file whose demo data
generation was interrupted (Ctrl-C during a large generation) holds only part of the data and
was never served, so it is started afresh rather than refused forever.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import urllib.parse

from explorer.sandbox.collections import COLLECTIONS
from explorer.sandbox.demo import generate
from explorer.sandbox.store import Store


class UnusableDatabase(Exception):
    """The ``--db`` file cannot be used; the message names it and says what to give."""


def open_store(db: str | None, size: str, seed: int) -> tuple[Store, str]:
    """The store to serve, seeded with demo data if new; also a line saying what it holds.

    Raises:
        UnusableDatabase: the file cannot be opened, written, or is not the sandbox's.
    """
    try:
        return _open_store(db, size, seed)
    except sqlite3.Error as exc:
        raise UnusableDatabase(
            f"Cannot use the database {db or ':memory:'}: {_advice(db or '', exc)}") from None


def _advice(db: str, exc: sqlite3.Error) -> str:
    if os.path.isdir(db):
        return (f"{db} is a folder. Give --db a file path, e.g. "
                f"{os.path.join(db, 'sandbox.sqlite')}.")
    folder = os.path.dirname(os.path.abspath(db))
    if not os.path.isdir(folder):
        return f"the folder {folder} does not exist. Create it, or give --db another path."
    return f"{exc}. Give --db a new file path, or the file of an earlier sandbox run."


def _foreign_tables(db: str) -> list[str]:
    """The tables of ``db`` when it is another program's SQLite database; empty for a new
    file or a sandbox's database. Read-only, so a refused file is left exactly as it was."""
    if not os.path.isfile(db) or os.path.getsize(db) == 0:
        return []
    uri = f"file:{urllib.parse.quote(os.path.abspath(db))}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
        tables = [str(row[0]) for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        if not tables:
            return []
        try:
            versioned = conn.execute(
                "SELECT 1 FROM meta WHERE key = 'schema_version'").fetchone() is not None
        except sqlite3.Error:  # no meta table, or another program's
            versioned = False
    return [] if versioned else tables


def _interrupted(store: Store) -> bool:
    """Whether an unseeded store holds records: a generation that did not finish."""
    return any(store.count(name, include_deleted=True) for name in COLLECTIONS)


def _remove(db: str) -> None:
    for path in (db, f"{db}-wal", f"{db}-shm", f"{db}-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _open_store(db: str | None, size: str, seed: int) -> tuple[Store, str]:
    foreign = _foreign_tables(db) if db else []
    if foreign:
        shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
        raise UnusableDatabase(
            f"Cannot use the database {db}: it is another program's SQLite database (tables "
            f"{shown}), not a sandbox's. Give --db a new file path, or the file of an earlier "
            "sandbox run.")
    store = Store(db)
    if not store.is_empty():
        return store, (f"using existing data in {db} "
                       f"({store.get_meta('size')}, seed {store.get_meta('seed')})")
    again = ""
    if db and _interrupted(store):
        # Never seeded, so never served: nothing in it but part of a demo data set.
        store.close()
        _remove(db)
        store = Store(db)
        again = f"; the earlier generation into {db} was interrupted, so it started afresh"
    started = time.perf_counter()
    generate(store, size=size, seed=seed)
    took = time.perf_counter() - started
    return store, f"generated {size} demo data (seed {seed}) in {took:.1f} s{again}"
