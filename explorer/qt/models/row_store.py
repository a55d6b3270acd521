"""Compact rows: a list's records kept as tuples under one key schema, not as dicts.

100,000 deals parsed as JSON dicts take about 3 KB each (a dict of 30 keys, a nested
``custom_fields`` dict, every string its own object); as tuples under one schema, with the
values that repeat (statuses, currencies, owner and person ids) shared, about a third of
that. ``RowStore.view(row)`` reads one record as a ``Mapping`` without rebuilding it (what a
cell needs); ``RowStore.record(row)`` gives the full record back as the API sent it (what the
detail pane needs). Pure Python: no Qt here.
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


class _Missing:
    """The key is absent from this record (None is a value)."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()
EMPTY_LIST: Any = type("_EmptyList", (), {"__repr__": lambda self: "[]"})()


class _Nested(tuple[Any, ...]):
    """A packed object (``custom_fields``, an address), told apart from a wrapped number."""

    __slots__ = ()


class _Schema:
    """Keys in first-seen order, and the values worth sharing per key."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.index: dict[str, int] = {}
        self.shared: dict[str, dict[Any, Any] | None] = {}
        self.times: set[int] = set()  # columns whose ints are timestamps (see _to_time)
        self.plain: set[int] = set()  # columns that had a real int before any timestamp
        self.subs: dict[int, _Schema] = {}  # column → the schema of its objects

    def pack(self, record: Mapping[str, Any]) -> tuple[Any, ...]:
        # The hot loop of loading a page (500 records): one pass, no calls per value.
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
            if kind is int and i in self.times:
                values[i] = (value,)  # a real number in a column of timestamps, wrapped
                continue
            if kind is int:
                self.plain.add(i)
            if kind is str or kind is int:
                table = shared[key]
                if table is None:
                    if kind is str:
                        # Unique text (titles): UTF-8 bytes are smaller than a str, by half
                        # where one character is not Latin-1 (an en dash makes a str UCS-2).
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
                    value = EMPTY_LIST
            elif kind is dict:
                # custom_fields, an address: packed too, under a schema of this column's own
                sub = self.subs.get(i)
                if sub is None:
                    sub = self.subs[i] = _Schema()
                value = _Nested(sub.pack(value))
            values[i] = value
        return tuple(values)


_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _to_time(text: str) -> int | None:
    """``text`` as seconds since the epoch if it reads back as exactly the same text."""
    try:
        stamp = int(datetime.fromisoformat(text).timestamp())  # "Z": aware, UTC
    except (ValueError, OverflowError, OSError):
        return None
    return stamp if time.strftime(_TIME_FORMAT, time.gmtime(stamp)) == text else None


def _unpack(value: Any, schema: _Schema, i: int, full: bool) -> Any:
    if value is EMPTY_LIST:
        return []
    if type(value) is bytes:
        return value.decode()
    if i in schema.times:
        if type(value) is int:
            return time.strftime(_TIME_FORMAT, time.gmtime(value))
        if type(value) is tuple:
            return value[0]
    if type(value) is _Nested:
        view = PackedRecord(value, schema.subs[i])
        return view.as_dict() if full else view
    return value


class PackedRecord(Mapping[str, Any]):
    """A read-only view of one packed record (nested custom fields are views too)."""

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
