"""Turns httpx responses and exceptions into envelopes and the error tree."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from explorer.api.errors import (
    ApiError,
    Blocked,
    Forbidden,
    NetworkError,
    NotFound,
    RateLimited,
    ServerError,
    Timeout,
    TransportError,
    Unauthorized,
    ValidationFailed,
)
from explorer.api.ratelimit import RateSnapshot, RequestKind

JSON = dict[str, Any]

# httpx errors raised before any byte of the request left.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
             httpx.UnsupportedProtocol, httpx.LocalProtocolError)


@dataclass(frozen=True)
class Envelope:
    """A successful answer: Pipedrive's ``data``, ``additional_data`` and (v1)
    ``related_objects``, with the status and the rate-limit snapshot it carried."""

    data: Any
    additional_data: JSON
    related_objects: JSON
    status: int
    snapshot: RateSnapshot


def transport_error(exc: httpx.RequestError, method: str, path: str) -> TransportError:
    arrived = not isinstance(exc, _NOT_SENT)
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return Timeout(method, path, detail, may_have_arrived=arrived)
    return NetworkError(method, path, detail, may_have_arrived=arrived)


def is_json(response: httpx.Response) -> bool:
    ctype: str = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return ctype == "application/json" or ctype.endswith("+json")


def is_block_page(response: httpx.Response) -> bool:
    """Pipedrive's block: a 403 answered with a (Cloudflare) HTML page instead of its JSON
    envelope. The one definition the client, the error mapping and the governor share."""
    return response.status_code == 403 and not is_json(response)


def _json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def envelope(response: httpx.Response, snapshot: RateSnapshot, method: str,
              path: str) -> Envelope:
    body = _json(response) if response.content else {}
    if not isinstance(body, dict):
        raise ApiError(response.status_code, method, path,
                       "the answer is not Pipedrive's JSON envelope")
    if body.get("success") is False:
        raise ApiError(response.status_code, method, path, str(body.get("error") or "failed"),
                       body.get("error_info"), body.get("code"))
    return Envelope(
        data=body.get("data"),
        additional_data=body.get("additional_data") or {},
        related_objects=body.get("related_objects") or {},
        status=response.status_code,
        snapshot=snapshot,
    )


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


_IN_SECONDS = re.compile(r"\bin (\d+(?:\.\d+)?) ?s(?:ec(?:ond)?s?)?\b")


def daily_resets_at(retry_after: float | None, error_info: str | None,
                    now: datetime) -> datetime:
    """When a spent daily token budget comes back: after ``Retry-After`` if sent, else after
    the "in N s" of the error text (the sandbox's, Pipedrive's), else at the next midnight
    UTC (Pipedrive resets the budget at midnight server time, assumed UTC)."""
    seconds = retry_after
    if seconds is None and error_info:
        found = _IN_SECONDS.search(error_info)
        seconds = float(found.group(1)) if found else None
    if seconds is not None:
        return now + timedelta(seconds=seconds)
    day = now.astimezone(UTC)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)


def _rate_limited(response: httpx.Response, snapshot: RateSnapshot, kind: RequestKind,
                  cost: int, fields: tuple[int, str, str, str, str | None, str | None]
                  ) -> RateLimited:
    daily_left = snapshot.daily_token_remaining
    # A 429 while the window still has room, or with fewer tokens left than the request
    # costs, is the daily budget; Pipedrive's clients key on daily remaining 0.
    daily = (daily_left is not None and (daily_left == 0 or daily_left < cost)) or (
        snapshot.remaining is not None and snapshot.remaining > 0)
    retry_after = _retry_after(response.headers.get("retry-after"))
    now = datetime.now(UTC)
    if daily:
        return RateLimited(*fields, scope="daily", retry_after=retry_after,
                           resets_at=daily_resets_at(retry_after, fields[4], now))
    if retry_after is None:
        retry_after = snapshot.reset_seconds
    resets_at = None if retry_after is None else now + timedelta(seconds=retry_after)
    return RateLimited(*fields, scope=kind, retry_after=retry_after, resets_at=resets_at)


def api_error(response: httpx.Response, snapshot: RateSnapshot, method: str, path: str,
               kind: RequestKind, cost: int) -> ApiError:
    status = response.status_code
    body = _json(response) if is_json(response) else None
    if isinstance(body, dict):
        error = str(body.get("error") or f"HTTP {status}")
        info, code = body.get("error_info"), body.get("code")
    else:
        shape = "not JSON" if body is None else "not Pipedrive's JSON envelope"
        error, info, code = f"HTTP {status} {response.reason_phrase} ({shape})", None, None
    fields = (status, method, path, error, info, code)
    if status == 401:
        return Unauthorized(*fields)
    if status == 403:
        if snapshot.blocked:
            return Blocked(status, method, path,
                           "blocked: Pipedrive answered with an HTML page instead of JSON, "
                           "which it does for a token that kept sending after 429s",
                           "All requests of this session are stopped; wait for the cool-down "
                           "(minutes), then resume.")
        return Forbidden(*fields)
    if status == 404:
        return NotFound(*fields)
    if status in (400, 422):
        return ValidationFailed(*fields)
    if status == 429:
        return _rate_limited(response, snapshot, kind, cost, fields)
    if status >= 500:
        return ServerError(*fields)
    return ApiError(*fields)
