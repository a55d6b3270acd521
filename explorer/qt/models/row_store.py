"""Compact rows: a list's records kept as tuples under one key schema, not as dicts.

100,000 deals parsed as JSON dicts take about 3 KB each (a dict of 30 keys, a nested
``custom_fields`` dict, every string its own object). Here a record is one tuple in the order
of its list's key schema, and its values are made smaller where that is safe to undo:

- values that repeat (statuses, currencies, owner and stage ids) are shared, per key, until a
  key shows more than ``SHARE_LIMIT`` distinct values;
- other text (titles) is kept as UTF-8 bytes (half the size of a str with an en dash in it);
- ``YYYY-MM-DDTHH:MM:SSZ`` timestamps as ints (seconds), when they read back the same;
- objects (``custom_fields``, an address) as tuples under a schema of their column, lists of
  plain values as tuples too.

Every container made here is a tuple of plain values, so Python's cycle collector stops
tracking the rows: a full collection does not walk 100,000 records (it did, in a 0.3 s
pause). JSON never gives a tuple, so a tuple is always one of ours, told apart by its first
item (a marker object). ``RowStore.view(row)`` reads a record as a ``Mapping`` without
rebuilding it (what a cell needs); ``RowStore.record(row)`` gives back the record as the API
sent it (what the detail pane needs). Pure Python: no Qt here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

JSON = dict[str, Any]
# A key seen with more distinct values than this stops being shared (timestamps, titles:
# sharing unique values only costs the lookup table).
SHARE_LIMIT = 1000
MISSING: Any = ...  # the key is absent from the record (None is a value); JSON has no Ellipsis
# Markers: the first item of the tuples this module makes (compared by identity).
_OBJECT = "\x00object"
_LIST = "\x00list"
_NUMBER = "\x00number"  # a real int in a column of timestamps
_EMPTY_LIST = (_LIST,)
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_PLAIN = (str, int, float, bool, type(None))


class _Schema:
    """Keys in first-seen order, the values worth sharing per key, and which columns hold
    timestamps or objects."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.index: dict[str, int] = {}
        self.shared: dict[str, dict[Any, Any] | None] = {}
        self.times: set[int] = set()  # columns whose ints are timestamps (see _to_time)
        self.plain: set[int] = set()  # columns that had a real int before any timestamp
        self.subs: dict[int, _Schema] = {}  # column → the schema of its objects

    def pack(self, record: Mapping[str, Any]) -> tuple[Any, ...]:
        # The hot loop of loading a page (500 records): one pass, few calls per value.
        index, shared = self.index, self.shared
        values: list[Any] = [MISSING] * len(self.keys)
        for key, value in record.items():
            i = index.get(key)
            if i is None:  # a key no record had before: a new column of the schema
                i = index[key] = len(self.keys)
                self.keys.append(key)
                shared[key] = {}
                values.append(MISSING)
            kind = type(value)
            if kind is str and len(value) == 20 and value[10] == "T" and value[19] == "Z":
                # A timestamp, unique per record: an int of 32 bytes instead of a str of 69.
                stamp = _to_time(value)
                if stamp is not None and i not in self.plain:
                    self.times.add(i)
                    values[i] = stamp
                    continue
            if kind is int:
                if i in self.times:
                    values[i] = (_NUMBER, value)
                    continue
                self.plain.add(i)
            if kind is str or kind is int:
                table = shared[key]
                if table is None:
                    if kind is str:
                        value = value.encode()
                else:
                    found = table.get(value)
                    if found is None:
                        table[value] = value
                        if len(table) > SHARE_LIMIT:
                            shared[key] = None  # too many distinct values: stop sharing
                    else:
                        value = found
            elif kind is list:
                if not value:
                    value = _EMPTY_LIST
                elif all(type(v) in _PLAIN for v in value):
                    value = (_LIST, *value)
                # else: a list of objects (a person's emails) stays a list
            elif kind is dict:
                sub = self.subs.get(i)
                if sub is None:
                    sub = self.subs[i] = _Schema()
                value = (_OBJECT, *sub.pack(value))
            values[i] = value
        return tuple(values)


def _to_time(text: str) -> int | None:
    """``text`` as seconds since the epoch if it reads back as exactly the same text."""
    try:
        stamp = int(datetime.fromisoformat(text).timestamp())  # "Z": aware, UTC
    except (ValueError, OverflowError, OSError):
        return None
    return stamp if time.strftime(_TIME_FORMAT, time.gmtime(stamp)) == text else None


def _unpack(value: Any, schema: _Schema, i: int, full: bool) -> Any:
    kind = type(value)
    if kind is bytes:
        return value.decode()
    if kind is int and i in schema.times:
        return time.strftime(_TIME_FORMAT, time.gmtime(value))
    if kind is tuple:
        marker = value[0]
        if marker is _OBJECT:
            view = PackedRecord(value[1:], schema.subs[i])
            return view.as_dict() if full else view
        if marker is _LIST:
            return list(value[1:])
        if marker is _NUMBER:
            return value[1]
    return value


class PackedRecord(Mapping[str, Any]):
    """A read-only view of one packed record (its objects are views too)."""

    __slots__ = ("_schema", "_values")

    def __init__(self, values: tuple[Any, ...], schema: _Schema) -> None:
        self._values = values
        self._schema = schema

    def __getitem__(self, key: str) -> Any:
        i = self._schema.index.get(key)
        if i is None or i >= len(self._values) or self._values[i] is MISSING:
            raise KeyError(key)
        return _unpack(self._values[i], self._schema, i, False)

    def __iter__(self) -> Iterator[str]:
        keys = self._schema.keys
        return (keys[i] for i, v in enumerate(self._values) if v is not MISSING)

    def __len__(self) -> int:
        return sum(1 for v in self._values if v is not MISSING)

    def as_dict(self) -> JSON:
        keys = self._schema.keys
        return {keys[i]: _unpack(v, self._schema, i, True)
                for i, v in enumerate(self._values) if v is not MISSING}


class RowStore:
    """The records of one list, packed (see the module docstring).

    Attributes:
        ids: the record ids in row order.
    """

    def __init__(self) -> None:
        self._schema = _Schema()
        self._rows: list[tuple[Any, ...]] = []
        self.ids: list[Any] = []

    def __len__(self) -> int:
        return len(self._rows)

    def extend(self, records: Iterable[Mapping[str, Any]]) -> None:
        for record in records:
            self._rows.append(self._schema.pack(record))
            self.ids.append(record.get("id"))

    def view(self, row: int) -> PackedRecord:
        return PackedRecord(self._rows[row], self._schema)

    def record(self, row: int) -> JSON:
        """The full record of ``row`` as the API sent it (a new dict each call)."""
        return self.view(row).as_dict()
