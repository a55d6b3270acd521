"""v2's cursor paging over any collection: keyset pages in a sort order, with an opaque
cursor holding the last row's sort value and insertion order (``seq``), so the next page
starts after the last row seen rather than at an offset."""

from __future__ import annotations

from typing import Any

from explorer.sandbox.http import (
    JSON,
    Query,
    bad_request,
    decode_cursor,
    encode_cursor,
    invalid_cursor,
    is_int64,
)
from explorer.sandbox.store import Store, Where

# Sort columns that are never NULL; others need NULL-aware keyset conditions.
_NOT_NULL_SORT = frozenset({"seq", "add_time", "update_time", "order_nr", "deal_id"})


def keyset_page(
    store: Store, collection: str, where: Where, q: Query, *, limit: int, sort_by: str,
    direction: str, include_deleted: bool = False,
) -> tuple[list[JSON], str | None]:
    """One page of ``collection`` in ``sort_by`` order after the request's ``cursor``, and
    the cursor of the next page (None at the end): v2's opaque cursor paging, for every list."""
    column = "seq" if sort_by == "id" else sort_by
    cursor = q.str("cursor")
    if cursor:
        c = decode_cursor(cursor)
        if not is_int64(c.get("q")) or isinstance(c.get("v"), bool):
            raise invalid_cursor()
        if c.get("s") != sort_by or c.get("d") != direction:
            raise bad_request("The cursor belongs to a different sort order",
                              "Start again without a cursor after changing sort_by/direction.")
        where = [*where, _after(column, direction, c.get("v"), c.get("q"))]
    order = [(column, direction)] if column == "seq" else [(column, direction), ("seq", direction)]
    rows = store.select(collection, where, order_by=order, limit=limit + 1,
                        include_deleted=include_deleted)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        seq = store.seq_of(collection, last["id"])
        next_cursor = encode_cursor({"s": sort_by, "d": direction,
                                     "v": last.get(sort_by), "q": seq})
    return rows, next_cursor


def _after(column: str, direction: str, value: Any, seq: Any) -> tuple[str, tuple[Any, ...]]:
    """The keyset condition for rows after the cursor's ``(value, seq)``.

    sqlite sorts NULL first ascending and last descending, and a row-value comparison with a
    NULL is never true, so nullable sort columns (``due_date``, ``name``) need the NULL rows
    spelled out or paging would skip them.
    """
    op = ">" if direction == "ASC" else "<"
    if column == "seq":
        return f"seq {op} ?", (seq,)
    if column in _NOT_NULL_SORT:
        return f"({column}, seq) {op} (?, ?)", (value, seq)
    if value is None:
        if direction == "ASC":
            return f"({column} IS NULL AND seq > ?) OR {column} IS NOT NULL", (seq,)
        return f"{column} IS NULL AND seq < ?", (seq,)
    if direction == "ASC":
        return f"({column}, seq) > (?, ?)", (value, seq)
    return f"({column}, seq) < (?, ?) OR {column} IS NULL", (value, seq)
