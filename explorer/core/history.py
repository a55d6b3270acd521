"""A record's changelog as readable rows: who changed which field, from what to what, when.

Pure. Changelog entries (``GET /v1/deals/{id}/changelog`` and the persons' and
organizations') carry the field's key and its old and new values as text (``"3"`` for stage
3, ``"12"`` for option 12, JSON for structured values). ``change_rows`` names the field from
the catalog and turns each value back into what the field holds, so the caller's formatter
shows option labels, stage and user names and money as the fields pane does; ``references``
lists the ids to load names for first. Rows are newest first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from explorer.api import Field
from explorer.api.display import ID_KEYS, REFERENCE_KINDS
from explorer.core.detail_fields import synthetic

Formatter = Callable[[Field, Any], str]
_NUMERIC = {"monetary", "double", "int", "decimal"}


@dataclass(frozen=True)
class ChangeRow:
    """One change.

    Attributes:
        time: the raw time (UTC) as the API gave it, for sorting.
        when: the time as shown.
        who: the user who made it (name, or ``#id``; ``""`` when the API did not say).
        field: the field's name.
        old, new: the values before and after, as shown (``""``: empty).
        source: where it came from (``app``, ``api``, …).
    """

    time: str
    when: str
    who: str
    field: str
    old: str
    new: str
    source: str


def _field(resource: str, key: str, fields: Mapping[str, Field]) -> Field:
    found = fields.get(key)
    if found is None and key.endswith("_id"):
        found = fields.get(key[:-3])
    return found or synthetic(resource, key, None)


def value_of(field: Field, text: Any) -> Any:
    """A changelog value (text) as the field holds it."""
    if not isinstance(text, str) or text == "":
        return text
    stripped = text.strip()
    if stripped[:1] in "{[":
        try:
            return json.loads(stripped)
        except ValueError:
            return text
    reference = (REFERENCE_KINDS.get(field.type) if field.is_custom
                 else ID_KEYS.get(field.key) or REFERENCE_KINDS.get(field.type))
    if (reference or field.type in ("enum", "status")) and stripped.lstrip("-").isdigit():
        return int(stripped)
    if field.type in _NUMERIC:
        try:
            number = float(stripped)
        except ValueError:
            return text
        return int(number) if number.is_integer() else number
    return text


def references(resource: str, entries: Iterable[Mapping[str, Any]],
               fields: Mapping[str, Field]) -> dict[str, set[Any]]:
    """``{kind: ids}`` to load names for (``NameCache.prefetch``): the users who made the
    changes and the ids the changed values refer to."""
    out: dict[str, set[Any]] = {}
    for entry in entries:
        actor = entry.get("actor_user_id")
        if isinstance(actor, int):
            out.setdefault("user", set()).add(actor)
        field = _field(resource, str(entry.get("field_key", "")), fields)
        kind = (REFERENCE_KINDS.get(field.type) if field.is_custom
                else ID_KEYS.get(field.key) or REFERENCE_KINDS.get(field.type))
        if kind in ("user", "person", "organization", "pipeline", "stage"):
            for side in ("old_value", "new_value"):
                value = value_of(field, entry.get(side))
                if isinstance(value, int):
                    out.setdefault(kind, set()).add(value)
    return out


def change_rows(resource: str, entries: Iterable[Mapping[str, Any]],
                fields: Mapping[str, Field], formatter: Formatter,
                user_name: Callable[[int], str | None]) -> list[ChangeRow]:
    """Readable rows of changelog ``entries``, newest first. ``fields``: key → field of the
    resource; ``formatter(field, value)``: a value as the pane shows it;
    ``user_name(id)``: a user's name if known."""
    when_field = Field(resource, "time", "When", "date", False, False)
    rows: list[ChangeRow] = []
    for entry in entries:
        key = str(entry.get("field_key", ""))
        field = _field(resource, key, fields)
        actor = entry.get("actor_user_id")
        who = ""
        if isinstance(actor, int):
            who = user_name(actor) or f"#{actor}"
        time = str(entry.get("time") or "")
        rows.append(ChangeRow(
            time=time,
            when=formatter(when_field, time) if time else "",
            who=who,
            field=field.name,
            old=formatter(field, value_of(field, entry.get("old_value"))),
            new=formatter(field, value_of(field, entry.get("new_value"))),
            source=str(entry.get("change_source") or ""),
        ))
    # The API lists newest first; sorting again (stable) keeps that for equal times.
    rows.sort(key=lambda row: row.time, reverse=True)
    return rows
