"""Facts the sandbox takes from Pipedrive's official OpenAPI specs, compiled to package data.

``explorer/sandbox/data/operations.json`` holds, for every operation of both specs: the token
cost (``x-token-cost``), and for JSON request bodies the allowed top-level properties with their
types and which are required. The sandbox validates v2 bodies against it and (with the limits)
charges by it, so neither drifts from the spec. ``tests/sandbox/test_specdata.py`` checks the
file equals what this module compiles from ``resources/openapi/``.

``main`` also writes the client's share of these facts into ``explorer/api/data/`` (the client
must not import the sandbox): ``token_costs.json`` (``{"v2 GET /deals": 10, …}``) and
``body_types.json`` (each JSON-body operation's allowed top-level keys with their JSON types:
the client's "is it editable" and write validation); ``tests/api/test_resources.py`` and
``test_validation_shapes.py`` check them. It also writes ``query_types.json`` with the client's
own compiler (``explorer.api.query.compile_query_types``; the sandbox may import the client,
not the other way round), so one command regenerates every compiled table.

Regenerate with ``python -m explorer.sandbox.specdata resources/openapi``.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

JSON = dict[str, Any]

DATA_FILE = "operations.json"
SPEC_FILES = {"v1": "openapi-v1.yaml", "v2": "openapi-v2.yaml"}
_METHODS = ("get", "post", "put", "patch", "delete")


def _resolve(spec: JSON, node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def _merged_properties(spec: JSON, schema: Any) -> tuple[JSON, list[str]]:
    """Top-level properties and required names of a schema, following allOf."""
    schema = _resolve(spec, schema)
    props: JSON = {}
    required: list[str] = []
    if not isinstance(schema, dict):
        return props, required
    for part in schema.get("allOf", ()):
        p, r = _merged_properties(spec, part)
        props.update(p)
        required += r
    for name, prop in (schema.get("properties") or {}).items():
        prop = _resolve(spec, prop)
        info: JSON = {}
        for part in [prop, *prop.get("allOf", ())]:
            part = _resolve(spec, part)
            for key in ("type", "format", "enum", "nullable"):
                if key in part and key not in info:
                    info[key] = part[key]
        props[name] = info
    required += list(schema.get("required", ()))
    return props, required


def compile_specs(folder: Path) -> JSON:
    import yaml  # only needed to regenerate the data, never at run time

    out: JSON = {}
    for version, filename in SPEC_FILES.items():
        with (folder / filename).open(encoding="utf-8") as fh:
            spec = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        for path, item in spec["paths"].items():
            for method in _METHODS:
                op = item.get(method)
                if op is None:
                    continue
                entry: JSON = {
                    "operation_id": op.get("operationId"),
                    "token_cost": op.get("x-token-cost"),
                }
                body = _resolve(spec, op.get("requestBody") or {})
                content = (body.get("content") or {}).get("application/json")
                if content:
                    props, required = _merged_properties(spec, content.get("schema"))
                    entry["body"] = {"properties": props, "required": sorted(set(required))}
                out[f"{version} {method.upper()} {path}"] = entry
    return out


@cache
def operations() -> JSON:
    """``"v2 PATCH /deals/{id}"`` → ``{operation_id, token_cost, body?}``."""
    text = resources.files("explorer.sandbox").joinpath("data", DATA_FILE).read_text("utf-8")
    data: JSON = json.loads(text)
    return data


def operation(version: str, method: str, path: str) -> JSON:
    return dict(operations()[f"{version} {method.upper()} {path}"])


def token_costs(compiled: JSON) -> dict[str, int]:
    """``"v2 GET /deals"`` → its ``x-token-cost``, for every operation (the client's table)."""
    return {key: op["token_cost"] for key, op in compiled.items()}


def body_keys(compiled: JSON) -> dict[str, list[str]]:
    """Each JSON-body operation's allowed top-level keys (the client's "is it editable"; it
    reads them from ``body_types.json``)."""
    return {key: sorted(op["body"]["properties"]) for key, op in compiled.items() if "body" in op}


def body_types(compiled: JSON) -> dict[str, dict[str, str]]:
    """Each JSON-body operation's top-level keys with their JSON type (``any`` if the spec
    gives none): the shapes the client's write validation checks values against."""
    return {key: {name: str(info.get("type", "any"))
                  for name, info in sorted(op["body"]["properties"].items())}
            for key, op in compiled.items() if "body" in op}


def _write(target: Path, data: Any) -> None:
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {target}")  # noqa: T201 - a command-line tool


def main(argv: list[str]) -> int:
    from explorer.api.query import compile_query_types  # the client's own compiler

    folder = Path(argv[0]) if argv else Path("resources/openapi")
    compiled = compile_specs(folder)
    _write(Path(__file__).with_name("data") / DATA_FILE, compiled)
    api_data = Path(__file__).parents[1] / "api" / "data"
    _write(api_data / "token_costs.json", token_costs(compiled))
    _write(api_data / "body_types.json", body_types(compiled))
    _write(api_data / "query_types.json", compile_query_types(folder))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
