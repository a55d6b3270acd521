"""Pipedrive's envelopes, errors, query parameters and cursors, shared by every route."""

from __future__ import annotations

import base64
import binascii
import builtins
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

JSON = dict[str, Any]


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
    """The request's JSON object body; a 400 for a wrong content type or malformed JSON."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if ctype in ("application/x-www-form-urlencoded", "multipart/form-data") and raw:
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    if ctype and ctype != "application/json" and not ctype.endswith("+json"):
        raise ApiProblem(
            400,
            f"Unsupported content type '{ctype}'",
            "Send the body as JSON with 'Content-Type: application/json'.",
        )
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("Malformed JSON in request body", str(exc)) from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    return body


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
            raise bad_request(f"Parameter '{name}' must be an integer, got '{raw}'") from None
        if minimum is not None and value < minimum:
            raise bad_request(f"Parameter '{name}' must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise bad_request(f"Parameter '{name}' must be at most {maximum}")
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
        return values

    def rfc3339(self, name: builtins.str) -> builtins.str | None:
        """An RFC 3339 timestamp, normalised to the stored ``YYYY-MM-DDTHH:MM:SSZ`` form."""
        raw = self.str(name)
        if raw is None:
            return None
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise bad_request(
                f"Parameter '{name}' must be an RFC 3339 timestamp such as "
                f"2024-01-31T09:00:00Z; got '{raw}'"
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return v2_time(parsed)


# ---------------------------------------------------------------------- cursors


def encode_cursor(payload: JSON) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> JSON:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_request("Invalid cursor", "Pass the next_cursor of a previous page.") from None
    if not isinstance(payload, dict):
        raise bad_request("Invalid cursor", "Pass the next_cursor of a previous page.")
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
