"""Query strings in the format each parameter's spec asks for.

Pipedrive's parameters disagree on how a flag or a time is written: v1 takes some flags as the
numbers ``0``/``1`` (``pinned_to_deal_flag``, ``done``) and others as ``true``/``false``
(``exact_match``); v2 times are RFC 3339 (``2025-01-01T10:20:00Z``), dates ``YYYY-MM-DD``,
and v1 ``/recents`` wants ``YYYY-MM-DD HH:MM:SS``. ``data/query_types.json`` records, per
operation, every query parameter whose spec type is one of these, and which parameters a saved
filter (``filter_id``) silently overrides, per the spec's "If filter_id is provided, this is
ignored". A Python ``bool``, ``datetime`` or ``date`` is written the way its parameter wants
(and an int ``0``/``1`` for a spec boolean as ``false``/``true``); a parameter the table does
not know gets ``true``/``false`` and RFC 3339 in UTC. The table is compiled from the official
specs by ``compile_query_types``, which ``python -m explorer.sandbox.specdata
resources/openapi`` runs with the other compiled tables (``tests/api`` checks it matches them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources as package_files
from pathlib import Path
from typing import Any, Literal

Kind = Literal["flag01", "bool", "date", "datetime", "v1time"]


@cache
def _table() -> Mapping[str, Any]:
    text = package_files.files("explorer.api").joinpath("data", "query_types.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def query_types() -> Mapping[str, Mapping[str, Kind]]:
    """``"v1 GET /notes"`` → ``{"pinned_to_deal_flag": "flag01", "start_date": "date", …}``."""
    types: dict[str, dict[str, Kind]] = _table()["types"]
    return types


def overridden_by_filter_id(operation: str) -> frozenset[str]:
    """The parameters of ``operation`` that its spec says ``filter_id`` overrides."""
    return frozenset(_table()["overridden_by_filter_id"].get(operation, ()))


def encode_query(params: Mapping[str, Any] | None, operation: str = "") -> dict[str, str]:
    """The query of ``operation`` (``"v1 GET /notes"``) as strings; None values are left out,
    lists joined with commas. Credentials never travel in a query."""
    kinds = query_types().get(operation, {})
    out: dict[str, str] = {}
    for key, value in (params or {}).items():
        if key == "api_token":
            raise ValueError("pass credentials through the token provider, not as api_token")
        if value is None:
            continue
        if isinstance(value, list | tuple | set | frozenset):
            out[key] = ",".join(encode_value(v, kinds.get(key), key) for v in value)
        else:
            out[key] = encode_value(value, kinds.get(key), key)
    return out


def encode_value(value: Any, kind: Kind | None, name: str = "value") -> str:
    """One value in its parameter's format (``kind`` from ``query_types``; None: unknown)."""
    if isinstance(value, bool):
        if kind == "flag01":
            return "1" if value else "0"
        return "true" if value else "false"
    if isinstance(value, datetime):
        if kind == "date":
            return value.date().isoformat()
        return _time(value, kind, name)
    if isinstance(value, date):
        if kind in ("datetime", "v1time"):
            return _time(datetime(value.year, value.month, value.day, tzinfo=UTC), kind, name)
        return value.isoformat()
    if kind == "flag01" and isinstance(value, int) and value not in (0, 1):
        raise ValueError(f"{name} takes 0 or 1 (or a bool), got {value!r}")
    if kind == "bool" and isinstance(value, int):
        # A spec boolean (v2 ``done``) is written true/false: 0/1 means the same to the
        # caller, but is not the type the parameter takes.
        if value not in (0, 1):
            raise ValueError(f"{name} takes true or false (a bool, or 0/1), got {value!r}")
        return "true" if value else "false"
    return str(value)


def _time(value: datetime, kind: Kind | None, name: str) -> str:
    if value.tzinfo is None:
        raise ValueError(f"{name}: {value!r} has no time zone; Pipedrive reads times as UTC, so "
                         "pass an aware datetime (datetime.now(UTC), or .replace(tzinfo=UTC))")
    utc = value.astimezone(UTC).replace(microsecond=0)
    if kind == "v1time":
        return utc.strftime("%Y-%m-%d %H:%M:%S")
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------- compiling from the specs

_V1_TIME = re.compile(r"YYYY-MM-DD HH:MM:SS")
_RFC_TIME = re.compile(r"RFC ?3339|ISO ?8601")
_OVERRIDDEN = re.compile(r"filter_id.{0,30}(ignored|precedence)", re.IGNORECASE | re.DOTALL)


def parameter_kind(schema: Mapping[str, Any], description: str) -> Kind | None:
    """What a query parameter's spec says it takes, if it is a flag, a date or a time."""
    if schema.get("type") == "boolean":
        return "bool"
    enum = schema.get("enum")
    if enum and {str(v) for v in enum} <= {"0", "1"} and schema.get("type") != "string":
        return "flag01"
    if schema.get("format") == "date":
        return "date"
    if schema.get("format") == "date-time" or _RFC_TIME.search(description):
        return "datetime"
    if _V1_TIME.search(description):
        return "v1time"
    return None


def compile_query_types(spec_dir: Path) -> dict[str, Any]:
    """The tables ``data/query_types.json`` holds, from the official specs in ``spec_dir``."""
    import yaml  # a build-time dependency only

    out: dict[str, dict[str, Kind]] = {}
    overridden: dict[str, list[str]] = {}
    for version in ("v1", "v2"):
        with (spec_dir / f"openapi-{version}.yaml").open(encoding="utf-8") as fh:
            doc = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))

        def deref(node: Any, doc: Any = doc) -> Any:
            while isinstance(node, dict) and "$ref" in node:
                target = doc
                for part in node["$ref"][2:].split("/"):
                    target = target[part]
                node = target
            return node

        for path, item in doc["paths"].items():
            for method, op in item.items():
                if not isinstance(op, dict) or "parameters" not in op:
                    continue
                key = f"{version} {method.upper()} {path}"
                kinds: dict[str, Kind] = {}
                for param in map(deref, op["parameters"]):
                    if param.get("in") != "query":
                        continue
                    description = str(param.get("description") or "")
                    kind = parameter_kind(deref(param.get("schema") or {}), description)
                    if kind is not None:
                        kinds[param["name"]] = kind
                    if _OVERRIDDEN.search(description):
                        overridden.setdefault(key, []).append(param["name"])
                if kinds:
                    out[key] = dict(sorted(kinds.items()))
    return {"types": dict(sorted(out.items())),
            "overridden_by_filter_id": {k: sorted(v) for k, v in sorted(overridden.items())}}

