"""Turns httpx responses and exceptions into envelopes and the error tree."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
from explorer.api.ratelimit import SEARCH_LIMIT, RateSnapshot, RequestKind

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


_BLOCK_MARKS = (b"cloudflare", b"you have been blocked")

DEFAULT_BLOCK_COOLDOWN_S = 300.0
"""How long a 403 block lasts when the answer does not say (no ``Retry-After``): Pipedrive
documents the block but not its length, and an early request during a block may prolong it,
so the default errs long (5 minutes; the sandbox's own default block is 60 s)."""


def is_block_page(response: httpx.Response) -> bool:
    """Pipedrive's abuse block: a 403 answered with Cloudflare's HTML page instead of the JSON
    envelope. Another non-JSON 403 (a company proxy or firewall on the way refusing the
    request) is not a block: it concerns that request only. Cloudflare's page is told by its
    headers (``cf-ray``, ``server: cloudflare``) or, if a proxy stripped them, by its text.
    The one definition the client, the error mapping and the governor share."""
    if response.status_code != 403 or is_json(response):
        return False
    headers = response.headers
    if "cf-ray" in headers or "cloudflare" in headers.get("server", "").lower():
        return True
    text = response.content[:20_000].lower()
    return any(mark in text for mark in _BLOCK_MARKS)


def block_cooldown(retry_after: float | None) -> tuple[float, bool]:
    """Seconds a block lasts, and whether the answer said so (``Retry-After``) rather than
    the default being assumed."""
    if retry_after is not None:
        return retry_after, True
    return DEFAULT_BLOCK_COOLDOWN_S, False


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


_IN_SECONDS = re.compile(r"\bin (\d+(?:\.\d+)?) ?s(?:ec(?:ond)?s?)?\b")
_DAILY_TEXT = re.compile(
    r"\bdaily\b.{0,40}?\b(?:token|budget|quota|limit)s?\b.{0,60}?"
    r"\b(?:exhausted|spent|exceeded|reached|used up|depleted|ran out|run out)\b",
    re.IGNORECASE | re.DOTALL)


def says_daily(text: str | None) -> bool:
    """Whether an error text says the daily token budget is spent (Pipedrive's wording is not
    documented; the sandbox's is "Daily API token budget exhausted: …")."""
    return bool(text) and _DAILY_TEXT.search(text or "") is not None


def daily_resets_at(retry_after: float | None, error_info: str | None,
                    now: datetime) -> datetime:
    """When a spent daily token budget comes back: after ``Retry-After`` if sent, else after
    the "in N s" of the error text (the sandbox's, Pipedrive's), else at the next midnight
    UTC, which is a guess (see ``daily_reset_is_approximate``)."""
    seconds = _told_seconds(retry_after, error_info)
    if seconds is not None:
        return now + timedelta(seconds=seconds)
    day = now.astimezone(UTC)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)


def daily_reset_is_approximate(retry_after: float | None, error_info: str | None) -> bool:
    """Whether ``daily_resets_at`` had to guess. Pipedrive resets the budget "at midnight at
    server's timezone which may not be aligned with timezone of customer location": without
    ``Retry-After`` or an "in N s", midnight UTC may be hours off."""
    return _told_seconds(retry_after, error_info) is None


def _told_seconds(retry_after: float | None, error_info: str | None) -> float | None:
    if retry_after is not None:
        return retry_after
    found = _IN_SECONDS.search(error_info) if error_info else None
    return float(found.group(1)) if found else None


def _rate_limited(snapshot: RateSnapshot, kind: RequestKind,
                  fields: tuple[int, str, str, str, str | None, str | None]) -> RateLimited:
    """A 429 is the daily budget only when the budget says so: ``x-daily-ratelimit-token-
    remaining: 0``, or an error text saying the budget is spent.
    Anything else is a window 429, whatever ``x-ratelimit-remaining`` shows: a search answer
    may carry the general window's counters, which have room while the search window has
    none."""
    daily = (snapshot.daily_token_remaining == 0
             # The text also when the headers show tokens left: a server may refuse a request
             # that costs more than the budget still holds (4 left, a list costs 10).
             or says_daily(fields[3]) or says_daily(fields[4]))
    retry_after = snapshot.retry_after
    now = datetime.now(UTC)
    if daily:
        return RateLimited(*fields, scope="daily", retry_after=retry_after,
                           resets_at=daily_resets_at(retry_after, fields[4], now),
                           approximate=daily_reset_is_approximate(retry_after, fields[4]))
    counters_are_its_own = kind != "search" or snapshot.limit in (None, SEARCH_LIMIT)
    if retry_after is None and counters_are_its_own:
        # (A search answer carrying the general window's counters has that window's reset.)
        retry_after = snapshot.reset_seconds
    resets_at = None if retry_after is None else now + timedelta(seconds=retry_after)
    return RateLimited(*fields, scope=kind, retry_after=retry_after, resets_at=resets_at)


def api_error(response: httpx.Response, snapshot: RateSnapshot, method: str, path: str,
              kind: RequestKind) -> ApiError:
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
            return _blocked(snapshot, method, path)
        if body is None:
            return Forbidden(status, method, path,
                             f"HTTP 403 {response.reason_phrase} (not JSON, and not Pipedrive's "
                             "block page): something between this computer and Pipedrive (a "
                             "proxy or firewall) refused the request",
                             "Only this request was refused; check the network's proxy or "
                             "firewall rules if it keeps happening.")
        return Forbidden(*fields)
    if status == 404:
        return NotFound(*fields)
    if status in (400, 422):
        return ValidationFailed(*fields)
    if status == 429:
        return _rate_limited(snapshot, kind, fields)
    if status >= 500:
        return ServerError(*fields)
    return ApiError(*fields)


def _blocked(snapshot: RateSnapshot, method: str, path: str) -> Blocked:
    seconds, told = block_cooldown(snapshot.retry_after)
    until = snapshot.at + timedelta(seconds=seconds)
    how = "" if told else " (Pipedrive did not say how long; assumed)"
    return Blocked(403, method, path,
                   "blocked: Pipedrive answered with its block page (Cloudflare's HTML) "
                   "instead of JSON, which it does for a token that kept sending after 429s",
                   f"All requests of this session are stopped until {until:%H:%M:%S} UTC"
                   f"{how}; they resume by themselves then.",
                   cooldown_until=until, retry_after=seconds)
