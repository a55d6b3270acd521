"""Request-body validation against the official spec's request schema (``specdata``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from explorer.sandbox.http import JSON, ApiProblem, bad_request, json_body, schema_error
from explorer.sandbox.routing import Operation
from explorer.sandbox.specdata import operation

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def _type_ok(value: Any, info: JSON) -> bool:
    expected = info.get("type")
    if value is None:
        return bool(info.get("nullable", True))
    if expected is None:
        return True
    if expected in ("integer", "number") and isinstance(value, bool):
        return False
    if expected == "integer" and isinstance(value, float) and value.is_integer():
        return True
    return isinstance(value, _PY_TYPES.get(expected, (object,)))


async def validated_body(request: Request, *, strict: bool) -> JSON:
    """The JSON body of the current operation, checked against the spec's request schema.

    ``strict`` (v2) rejects unknown keys and values of the wrong JSON type with
    ``ERR_SCHEMA_VALIDATION_FAILED``, as v2 does; v1 only rejects wrong types of known keys.
    """
    op: Operation = request.scope["state"]["operation"]
    body = await json_body(request)
    schema = operation(op.version, op.method, op.path).get("body")
    if schema is None:
        return body
    props: JSON = schema["properties"]
    for key, value in body.items():
        info = props.get(key)
        if info is None:
            if strict:
                raise schema_error(f"{key}: Parameter '{key}' is not allowed for this request")
            continue
        if not _type_ok(value, info) and (strict or value is not None):
            if not strict and _coercible(value, info):
                continue
            raise schema_error(
                f"{key}: Parameter '{key}' must be of type {info.get('type')}"
            ) if strict else bad_request(f"Parameter '{key}' must be of type {info.get('type')}")
        enum = info.get("enum")
        if enum is not None and value is not None and value not in enum:
            raise (schema_error if strict else bad_request)(
                f"{key}: Parameter '{key}' must be one of {enum}"
            )
    return body


def require(body: JSON, *names: str) -> None:
    """400 for a missing or empty required body parameter."""
    for name in names:
        value = body.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ApiProblem(400, f"{name.capitalize()} is required",
                             f"Send a non-empty '{name}' in the request body.")


def _coercible(value: Any, info: JSON) -> bool:
    """v1 accepts numbers sent as strings, 0/1 for booleans and booleans for 0/1 flags."""
    expected = info.get("type")
    if isinstance(value, bool) and expected == "number" and info.get("enum") == [0, 1]:
        return True
    if isinstance(value, str) and expected in ("integer", "number"):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return expected == "boolean" and value in (0, 1)
