"""Request-body validation against the official spec's request schema (``specdata``)."""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request

from explorer.sandbox.http import (
    INT64_MAX,
    INT64_MIN,
    INT64_RANGE,
    JSON,
    ApiProblem,
    Query,
    bad_request,
    json_body,
    schema_error,
    shown,
)
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


_NOT_COERCIBLE = object()


def _out_of_range(body: JSON) -> str | None:
    """The path of the first number in ``body`` beyond ±2**63 (sqlite's integers), if any.

    Floats are held to the same bound: Pipedrive's numbers are money and counts, and sums of
    values near float's maximum would overflow to infinity, which JSON cannot carry.
    """
    stack: list[tuple[str, Any]] = [(key, value) for key, value in body.items()]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            stack += [(f"{path}.{k}", v) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(f"{path}[{i}]", v) for i, v in enumerate(value)]
        elif (isinstance(value, int | float) and not isinstance(value, bool)
              and not INT64_MIN <= value <= INT64_MAX):
            return path
    return None


async def validated_body(request: Request, *, strict: bool) -> JSON:
    """The JSON body of the current operation, checked against the spec's request schema.

    ``strict`` (v2) rejects unknown keys and values of the wrong JSON type with
    ``ERR_SCHEMA_VALIDATION_FAILED``, as v2 does; v1 only rejects wrong types of known keys
    and turns numeric strings (and form values) into the numbers they spell.
    """
    op: Operation = request.scope["state"]["operation"]
    body = await json_body(request)
    fail = schema_error if strict else bad_request
    schema = operation(op.version, op.method, op.path).get("body")
    props: JSON = schema["properties"] if schema is not None else {}
    for key, value in body.items():
        info = props.get(key)
        if info is None:
            if strict and schema is not None:
                raise schema_error(f"{key}: Parameter '{key}' is not allowed for this request")
            continue
        if not _type_ok(value, info) and (strict or value is not None):
            coerced = _NOT_COERCIBLE if strict else _coerced(value, info)
            if coerced is _NOT_COERCIBLE:
                prefix = f"{key}: " if strict else ""
                raise fail(f"{prefix}Parameter '{key}' must be of type {info.get('type')}")
            body[key] = value = coerced  # v1 stores what the string meant: "1" → 1
        enum = info.get("enum")
        if enum is not None and value is not None and value not in enum:
            raise fail(f"{key}: Parameter '{key}' must be one of {enum}")
    path = _out_of_range(body)
    if path is not None:
        prefix = f"{path}: " if strict else ""
        raise fail(f"{prefix}Parameter '{path}' is out of range: numbers must be {INT64_RANGE}")
    return body


# ---------------------------------------------------------------------- include_fields

_DEAL_INCLUDE = (
    "next_activity_id", "last_activity_id", "first_won_time", "products_count", "files_count",
    "notes_count", "followers_count", "email_messages_count", "activities_count",
    "done_activities_count", "undone_activities_count", "participants_count",
    "last_incoming_mail_time", "last_outgoing_mail_time", "smart_bcc_email", "source_lead_id",
)
_PERSON_INCLUDE = (
    "next_activity_id", "last_activity_id", "open_deals_count", "related_open_deals_count",
    "closed_deals_count", "related_closed_deals_count", "participant_open_deals_count",
    "participant_closed_deals_count", "email_messages_count", "activities_count",
    "done_activities_count", "undone_activities_count", "files_count", "notes_count",
    "followers_count", "won_deals_count", "related_won_deals_count", "lost_deals_count",
    "related_lost_deals_count", "last_incoming_mail_time", "last_outgoing_mail_time",
    "marketing_status", "doi_status", "smart_bcc_email",
)
_ORG_INCLUDE = (
    "next_activity_id", "last_activity_id", "open_deals_count", "related_open_deals_count",
    "closed_deals_count", "related_closed_deals_count", "email_messages_count", "people_count",
    "activities_count", "done_activities_count", "undone_activities_count", "files_count",
    "notes_count", "followers_count", "won_deals_count", "related_won_deals_count",
    "lost_deals_count", "related_lost_deals_count", "smart_bcc_email",
)
# The values each v2 entity list and get accepts in ``include_fields``: the enum of that
# operation's ``include_fields`` parameter in the v2 spec (a test holds this table to
# ``resources/openapi/``). Operations whose spec has no such parameter (products) are absent:
# there it is an unknown query parameter, ignored like any other.
INCLUDE_FIELDS: dict[str, tuple[str, ...]] = {
    "getDeals": _DEAL_INCLUDE, "getArchivedDeals": _DEAL_INCLUDE, "getDeal": _DEAL_INCLUDE,
    "getPersons": _PERSON_INCLUDE, "getPerson": _PERSON_INCLUDE,
    "getOrganizations": _ORG_INCLUDE, "getOrganization": _ORG_INCLUDE,
    "getActivities": ("attendees",), "getActivity": ("attendees",),
}


def check_include_fields(request: Request) -> None:
    """400 for an ``include_fields`` value the current operation does not offer.

    Pipedrive refuses unknown values on the *Fields endpoints and the searches; a list or get
    that silently dropped a misspelt ``include_fields`` would leave a client wondering why the
    count it asked for never arrives.
    """
    op: Operation = request.scope["state"]["operation"]
    allowed = INCLUDE_FIELDS.get(op.operation_id)
    if allowed is None:
        return
    wanted = Query(request.query_params).csv("include_fields")
    unknown = [shown(v) for v in dict.fromkeys(wanted) if v not in allowed]
    if unknown:
        raise bad_request(
            f"Parameter 'include_fields' has unknown values: {', '.join(unknown)}",
            f"Allowed values (comma-separated): {', '.join(allowed)}.",
        )


def require(body: JSON, *names: str) -> None:
    """400 for a missing or empty required body parameter."""
    for name in names:
        value = body.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ApiProblem(400, f"{name.capitalize()} is required",
                             f"Send a non-empty '{name}' in the request body.")


def _coerced(value: Any, info: JSON) -> Any:
    """What v1 makes of a value of the wrong JSON type, or ``_NOT_COERCIBLE``.

    v1 accepts numbers sent as strings (as every form-encoded value is), 0/1 and "true"/"false"
    for booleans and booleans for 0/1 flags.
    """
    expected = info.get("type")
    if isinstance(value, bool) and expected == "number" and info.get("enum") == [0, 1]:
        return int(value)
    if isinstance(value, str) and expected in ("integer", "number"):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return _NOT_COERCIBLE
        if not math.isfinite(number):
            return _NOT_COERCIBLE
        if expected == "integer":
            return int(number) if number.is_integer() else _NOT_COERCIBLE
        return number
    if expected == "boolean":
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "false", "0", "1"):
            return value.lower() in ("true", "1")
    return _NOT_COERCIBLE


def check_billing(body: JSON, old: JSON | None) -> Any:
    """The billing frequency a product or a deal's product will have after ``body``
    (``old``: the record before, None on create), its billing cycles checked as the spec
    states: a one-time product has none, a weekly one needs them, and they are 1–208."""
    before = old or {}
    frequency = body.get("billing_frequency", before.get("billing_frequency", "one-time"))
    cycles = body.get("billing_frequency_cycles", before.get("billing_frequency_cycles"))
    if frequency == "one-time" and cycles is not None:
        raise bad_request("billing_frequency_cycles must be null for a one-time product",
                          "Send billing_frequency_cycles: null or another billing_frequency.")
    if frequency == "weekly" and cycles is None:
        raise bad_request("billing_frequency_cycles is required for weekly billing",
                          "Send a number of cycles between 1 and 208.")
    if cycles is not None and not 1 <= cycles <= 208:
        raise bad_request("billing_frequency_cycles must be between 1 and 208")
    return frequency
