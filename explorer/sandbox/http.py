"""Pipedrive's envelopes, errors, query parameters and cursors, shared by every route."""

from __future__ import annotations

import base64
import binascii
import builtins
import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeGuard
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

JSON = dict[str, Any]

# sqlite stores integers in 64 bits; a larger Python int fails when bound (OverflowError).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT64_RANGE = f"between {INT64_MIN} and {INT64_MAX}"
MAX_BODY_DEPTH = 32  # Pipedrive's bodies nest 3 levels; deeper is abuse, not data
MAX_FORM_FIELDS = 1000
SEND_JSON = "Send the body as JSON with 'Content-Type: application/json'."


def is_int64(value: Any) -> TypeGuard[int]:
    """Whether ``value`` is a JSON integer (not a boolean) that fits sqlite's 64 bits."""
    return (isinstance(value, int) and not isinstance(value, builtins.bool)
            and INT64_MIN <= value <= INT64_MAX)


def shown(value: Any, limit: int = 60) -> builtins.str:
    """``value`` for an error message, shortened so a huge input is not echoed whole."""
    text = builtins.str(value)
    return text if len(text) <= limit else text[:limit] + "…"


class ApiProblem(Exception):
    """An error answered in Pipedrive's error envelope.

    Attributes:
        status: HTTP status code.
        error: the ``error`` text.
        error_info: the ``error_info`` text, when Pipedrive sends one.
        code: a machine-readable ``code`` (``ERR_SCHEMA_VALIDATION_FAILED``), when it sends one.
    """

    def __init__(
        self, status: int, error: str, error_info: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.error_info = error_info
        self.code = code

    def body(self) -> JSON:
        body: JSON = {"success": False, "error": self.error}
        if self.code is not None:
            body["code"] = self.code
        body["error_info"] = self.error_info or _DEFAULT_INFO.get(
            self.status, "Please check developers.pipedrive.com"
        )
        body["data"] = None
        body["additional_data"] = None
        return body

    def response(self) -> Response:
        return JSONResponse(self.body(), status_code=self.status)


_DEFAULT_INFO = {
    400: "Please check developers.pipedrive.com",
    403: "You do not have the permission to perform this action.",
    404: "Object was not found.",
    405: "Please check developers.pipedrive.com",
}


def not_found(what: str) -> ApiProblem:
    return ApiProblem(404, f"{what} not found", "Object was not found.")


def bad_request(error: str, info: str | None = None) -> ApiProblem:
    return ApiProblem(400, error, info)


def schema_error(message: str) -> ApiProblem:
    """v2's strict-validation failure (``ERR_SCHEMA_VALIDATION_FAILED``)."""
    return ApiProblem(400, f"Validation failed: {message}", None, "ERR_SCHEMA_VALIDATION_FAILED")


def unauthorized() -> Response:
    return JSONResponse(
        {
            "success": False,
            "error": "unauthorized access",
            "errorCode": 401,
            "error_info": "Please check developers.pipedrive.com",
        },
        status_code=401,
    )


# ---------------------------------------------------------------------- responses


def ok(
    data: Any,
    additional_data: JSON | None = None,
    *,
    status: int = 200,
    related_objects: JSON | None = None,
) -> Response:
    body: JSON = {"success": True, "data": data}
    if additional_data is not None:
        body["additional_data"] = additional_data
    if related_objects is not None:
        body["related_objects"] = related_objects
    return JSONResponse(body, status_code=status)


def v1_pagination(start: int, limit: int, more: bool) -> JSON:
    page: JSON = {"start": start, "limit": limit, "more_items_in_collection": more}
    if more:
        page["next_start"] = start + limit
    return {"pagination": page}


# ---------------------------------------------------------------------- request bodies


async def json_body(request: Request) -> JSON:
    """The request's JSON object body; a 400 for a wrong content type or malformed JSON.

    v1 operations also take ``application/x-www-form-urlencoded`` bodies, as Pipedrive's v1
    always has (values arrive as strings; the v1 validator coerces numeric ones). v2 and the
    admin endpoints take JSON only.
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if ctype == "multipart/form-data":
        raise ApiProblem(400, "multipart/form-data bodies are not supported", SEND_JSON)
    if ctype == "application/x-www-form-urlencoded":
        operation = request.scope.get("state", {}).get("operation")
        if getattr(operation, "version", None) == "v1":
            return form_body(raw)
        raise ApiProblem(400, "Form-encoded bodies are not supported here: this endpoint "
                              "takes JSON only", SEND_JSON)
    if ctype and ctype != "application/json" and not ctype.endswith("+json"):
        raise ApiProblem(400, f"Unsupported content type '{shown(ctype)}'", SEND_JSON)
    if not raw.strip():
        return {}
    try:
        body = loads(raw)
    except ValueError as exc:
        raise bad_request("Malformed JSON in request body", shown(exc, 200)) from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    return body


def form_body(raw: bytes) -> JSON:
    """A urlencoded body as a dict of strings; ``key[]=a&key[]=b`` gives a list."""
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict",
                          max_num_fields=MAX_FORM_FIELDS)
    except UnicodeDecodeError:
        raise bad_request("Malformed form body: it is not UTF-8",
                          "Percent-encode the values as UTF-8, or send JSON.") from None
    except ValueError:
        raise bad_request(f"Malformed form body: more than {MAX_FORM_FIELDS} fields",
                          SEND_JSON) from None
    body: JSON = {}
    for key, value in pairs:
        if key.endswith("[]"):
            items = body.get(key[:-2])
            if not isinstance(items, list):
                items = body[key[:-2]] = []
            items.append(value)
        else:
            body[key] = value
    return body


def _finite(text: builtins.str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {shown(text)} is out of range")
    return value


def _no_constant(name: builtins.str) -> Any:
    raise ValueError(f"{name} is not a JSON number; send finite numbers only")


def _too_deep(value: Any) -> builtins.bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(
            item, list) else None
        if children is None:
            continue
        if depth > MAX_BODY_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def loads(raw: bytes | builtins.str) -> Any:
    """Strict JSON: NaN, Infinity, numbers that overflow to infinity and nesting deeper than
    ``MAX_BODY_DEPTH`` raise ValueError (Python's json accepts the first three, which sqlite's
    JSON functions then reject, and deep nesting exhausts the stack)."""
    too_deep = ValueError(f"the JSON is nested more than {MAX_BODY_DEPTH} levels deep")
    try:
        value = json.loads(raw, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise too_deep from None
    if _too_deep(value):
        raise too_deep
    return value


# ---------------------------------------------------------------------- query parameters


class Query:
    """Typed access to query parameters, answering 400 for values of the wrong type."""

    def __init__(self, params: Mapping[builtins.str, builtins.str]) -> None:
        self.params = params

    def str(self, name: builtins.str, default: builtins.str | None = None) -> builtins.str | None:
        value = self.params.get(name)
        return default if value is None or value == "" else value

    def int(
        self,
        name: builtins.str,
        default: builtins.int | None = None,
        *,
        minimum: builtins.int | None = None,
        maximum: builtins.int | None = None,
    ) -> builtins.int | None:
        raw = self.params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise bad_request(
                f"Parameter '{name}' must be an integer, got '{shown(raw)}'") from None
        if minimum is not None and value < minimum:
            raise bad_request(f"Parameter '{name}' must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise bad_request(f"Parameter '{name}' must be at most {maximum}")
        if not is_int64(value):
            raise bad_request(f"Parameter '{name}' is out of range: it must be an integer "
                              f"{INT64_RANGE}, got '{shown(raw)}'")
        return value

    def bool(self, name: builtins.str, default: bool = False) -> bool:
        raw = self.params.get(name)
        if raw is None or raw == "":
            return default
        low = raw.lower()
        if low in ("true", "1"):
            return True
        if low in ("false", "0"):
            return False
        raise bad_request(f"Parameter '{name}' must be true or false, got '{raw}'")

    def choice(
        self,
        name: builtins.str,
        choices: tuple[builtins.str, ...],
        default: builtins.str | None = None,
    ) -> builtins.str | None:
        value = self.str(name, default)
        if value is not None and value not in choices:
            raise bad_request(
                f"Parameter '{name}' must be one of {', '.join(choices)}; got '{value}'"
            )
        return value

    def csv(self, name: builtins.str) -> list[builtins.str]:
        raw = self.params.get(name) or ""
        return [part.strip() for part in raw.split(",") if part.strip()]

    def int_csv(
        self, name: builtins.str, *, maximum: builtins.int | None = None
    ) -> list[builtins.int]:
        parts = self.csv(name)
        try:
            values = [int(p) for p in parts]
        except ValueError:
            raise bad_request(f"Parameter '{name}' must be comma-separated integers") from None
        if maximum is not None and len(values) > maximum:
            raise bad_request(f"Parameter '{name}' takes at most {maximum} values")
        for value in values:
            if not is_int64(value):
                raise bad_request(f"Parameter '{name}' is out of range: each id must be an "
                                  f"integer {INT64_RANGE}, got '{shown(value)}'")
        return values

    def rfc3339(self, name: builtins.str) -> builtins.str | None:
        """An RFC 3339 timestamp, normalised to the stored ``YYYY-MM-DDTHH:MM:SSZ`` form."""
        raw = self.str(name)
        if raw is None:
            return None
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            # Converting e.g. 0001-01-01T00:00:00+05:00 to UTC leaves datetime's range.
            return v2_time(parsed)
        except (ValueError, OverflowError):
            raise bad_request(
                f"Parameter '{name}' must be an RFC 3339 timestamp between years 0001 and "
                f"9999 in UTC, such as 2024-01-31T09:00:00Z; got '{shown(raw)}'"
            ) from None


# ---------------------------------------------------------------------- cursors


def encode_cursor(payload: JSON) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def invalid_cursor() -> ApiProblem:
    return bad_request("Invalid cursor", "Pass the next_cursor of a previous page.")


def _cursor_scalar(value: Any) -> builtins.bool:
    if isinstance(value, int) and not isinstance(value, builtins.bool):
        return is_int64(value)
    return value is None or isinstance(value, builtins.str | builtins.bool | float)


def decode_cursor(cursor: str) -> JSON:
    """A cursor's payload: a JSON object of scalars (64-bit integers, finite numbers).

    Cursors are opaque but a client can forge one; anything the sandbox could not have
    written is a 400, so a forged value never reaches sqlite. Callers check their own keys.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_cursor() from None
    if not isinstance(payload, dict) or not all(map(_cursor_scalar, payload.values())):
        raise invalid_cursor()
    return payload


# ---------------------------------------------------------------------- time formats


def v2_time(moment: datetime) -> str:
    """RFC 3339 in UTC with second precision: ``2024-05-01T09:30:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def v1_time(moment: datetime) -> str:
    """v1's ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def lead_time(moment: datetime) -> str:
    """ISO with milliseconds, as Pipedrive dates leads: ``2020-10-14T11:30:36.551Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def v2_to_v1_time(value: str | None) -> str | None:
    """``2024-05-01T09:30:00Z`` → ``2024-05-01 09:30:00``."""
    if not value:
        return value
    return value[:19].replace("T", " ")


def is_date(value: Any) -> bool:
    """Whether ``value`` is a real calendar date written ``YYYY-MM-DD``."""
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def drop_none(record: JSON, keep: frozenset[str] = frozenset()) -> JSON:
    """The record without keys whose value is None (except ``keep``).

    Pipedrive's specs declare most fields non-nullable; where a record has no value for such a
    field the sandbox omits the key, which the specs allow, instead of sending null.
    """
    return {k: v for k, v in record.items() if v is not None or k in keep}
