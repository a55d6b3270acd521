"""Compact rows: a list's records kept as tuples under one key schema, not as dicts.

100,000 deals parsed as JSON dicts take about 3 KB each (a dict of 30 keys, a nested
``custom_fields`` dict, every string its own object); as tuples under one schema, with the
values that repeat (statuses, currencies, owner and person ids) shared, about a third of
that. ``RowStore.view(row)`` reads one record as a ``Mapping`` without rebuilding it (what a
cell needs); ``RowStore.record(row)`` gives the full record back as the API sent it (what the
detail pane needs). Pure Python: no Qt here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

JSON = dict[str, Any]
NESTED = "custom_fields"  # v2 records nest custom values under this key
# A key seen with more distinct values than this stops being shared (timestamps, titles:
# sharing unique values only costs the lookup table).
SHARE_LIMIT = 4096


class _Missing:
    """The key is absent from this record (None is a value)."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()
EMPTY_LIST: Any = type("_EmptyList", (), {"__repr__": lambda self: "[]"})()


class _Nested(tuple[Any, ...]):
    """A packed ``custom_fields`` object (told apart from a plain tuple value)."""

    __slots__ = ()


class _Schema:
    """Keys in first-seen order, and the values worth sharing per key."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.index: dict[str, int] = {}
        self.shared: dict[str, dict[Any, Any] | None] = {}

    def pack(self, record: Mapping[str, Any], nested: _Schema | None) -> tuple[Any, ...]:
        for key in record:
            if key not in self.index:
                self.index[key] = len(self.keys)
                self.keys.append(key)
                self.shared[key] = {}
        values: list[Any] = [MISSING] * len(self.keys)
        for key, value in record.items():
            if nested is not None and key == NESTED and isinstance(value, dict):
                packed: Any = _Nested(nested.pack(value, None))
            else:
                packed = self._share(key, value)
            values[self.index[key]] = packed
        return tuple(values)

    def _share(self, key: str, value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, list):
            return value if value else EMPTY_LIST
        if not isinstance(value, str | int):
            return value
        table = self.shared[key]
        if table is None:
            return value
        found = table.setdefault(value, value)
        if len(table) > SHARE_LIMIT:
            self.shared[key] = None  # too many distinct values: stop sharing this key
        return found


def _unpack(value: Any, nested: _Schema, full: bool) -> Any:
    if value is EMPTY_LIST:
        return []
    if isinstance(value, _Nested):
        view = PackedRecord(value, nested, nested)
        return view.as_dict() if full else view
    return value


class PackedRecord(Mapping[str, Any]):
    """A read-only view of one packed record (nested custom fields are views too)."""

    __slots__ = ("_nested", "_schema", "_values")

    def __init__(self, values: tuple[Any, ...], schema: _Schema, nested: _Schema) -> None:
        self._values = values
        self._schema = schema
        self._nested = nested

    def __getitem__(self, key: str) -> Any:
        i = self._schema.index.get(key)
        if i is None or i >= len(self._values) or self._values[i] is MISSING:
            raise KeyError(key)
        return _unpack(self._values[i], self._nested, False)

    def __iter__(self) -> Iterator[str]:
        keys = self._schema.keys
        return (keys[i] for i, v in enumerate(self._values) if v is not MISSING)

    def __len__(self) -> int:
        return sum(1 for v in self._values if v is not MISSING)

    def as_dict(self) -> JSON:
        keys = self._schema.keys
        return {keys[i]: _unpack(v, self._nested, True)
                for i, v in enumerate(self._values) if v is not MISSING}


class RowStore:
    """The records of one list, packed (see the module docstring).

    Attributes:
        ids: the record ids in row order.
    """

    def __init__(self) -> None:
        self._schema = _Schema()
        self._nested = _Schema()
        self._rows: list[tuple[Any, ...]] = []
        self.ids: list[Any] = []

    def __len__(self) -> int:
        return len(self._rows)

    def extend(self, records: Iterable[Mapping[str, Any]]) -> None:
        for record in records:
            self._rows.append(self._schema.pack(record, self._nested))
            self.ids.append(record.get("id"))

    def view(self, row: int) -> PackedRecord:
        return PackedRecord(self._rows[row], self._schema, self._nested)

    def record(self, row: int) -> JSON:
        """The full record of ``row`` as the API sent it (a new dict each call)."""
        return self.view(row).as_dict()
