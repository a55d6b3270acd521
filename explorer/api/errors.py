"""Every error the client raises, in one tree; httpx exceptions never cross this boundary.

::

    PipedriveError                      anything the client raises on purpose
    ├── TransportError                  no HTTP response (``may_have_arrived``: the server
    │   ├── Timeout                     may have received the request)
    │   └── NetworkError                connection refused, reset or dropped, protocol error
    ├── ApiError                        an HTTP response that is not a success
    │   ├── Unauthorized                401: the token or OAuth access is not (or no longer) valid
    │   │   └── AuthExpired             OAuth: the refresh token was refused (invalid_grant):
    │   │                               the user must sign in again
    │   ├── OAuthRejected               the OAuth token endpoint refused a request
    │   │                               (invalid_client, a used code, a bad api_domain)
    │   ├── Forbidden                   403 in Pipedrive's JSON envelope: not permitted, plan cap
    │   ├── Blocked                     403 HTML page: the token is blocked after ignoring 429s
    │   ├── NotFound                    404
    │   ├── ValidationFailed            400/422: the request was rejected; ``code`` says
    │   │                               ``ERR_SCHEMA_VALIDATION_FAILED`` for v2 schema errors
    │   ├── RateLimited                 429; ``scope`` burst | search | daily
    │   └── ServerError                 5xx
    ├── OutcomeUnknown                  a create/delete got no trustworthy answer: it may or
    │                                   may not have been applied; ``what_to_check`` says how
    │                                   to find out (never retried blindly)
    ├── AuthorizationFailed             OAuth sign-in in the browser did not complete
    │                                   (cancelled, state mismatch, no answer in time)
    ├── TokenStoreFailed                OAuth tokens were refreshed but ``on_tokens`` could not
    │                                   store them (the session goes on with them)
    └── InvalidValue                    a value failed validation before anything was sent
        └── UnknownField                no such field (name or key) on that resource

Messages and reprs name the method, the URL path (never the query string) and the status;
credentials never appear in them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

RateScope = Literal["burst", "search", "daily"]


class PipedriveError(Exception):
    """Base of every error the client raises."""


class TransportError(PipedriveError):
    """The request got no HTTP response.

    Attributes:
        method, path: the request (path without query string).
        may_have_arrived: False only when the request certainly never left (connect failed,
            no free connection); a write may have been applied otherwise.
    """

    def __init__(self, method: str, path: str, detail: str, *, may_have_arrived: bool) -> None:
        self.method = method
        self.path = path
        self.detail = detail
        self.may_have_arrived = may_have_arrived
        super().__init__(f"{method} {path}: {detail}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.method} {self.path}: {self.detail})"


class Timeout(TransportError):
    """No answer within the configured timeout."""


class NetworkError(TransportError):
    """The connection failed, was reset or dropped, or the answer was not valid HTTP."""


class ApiError(PipedriveError):
    """Pipedrive answered with an error status.

    Attributes:
        status: HTTP status.
        method, path: the request (path without query string).
        error: Pipedrive's ``error`` text (or a summary for non-JSON answers).
        error_info: Pipedrive's ``error_info`` text, if any.
        code: Pipedrive's machine-readable ``code`` (``ERR_SCHEMA_VALIDATION_FAILED``), if any.
    """

    def __init__(
        self,
        status: int,
        method: str,
        path: str,
        error: str,
        error_info: str | None = None,
        code: str | None = None,
    ) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.error = error
        self.error_info = error_info
        self.code = code
        super().__init__(self._message())

    def _message(self) -> str:
        text = f"{self.method} {self.path} → {self.status}: {self.error}"
        if self.code:
            text += f" [{self.code}]"
        if self.error_info:
            text += f" ({self.error_info})"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.method} {self.path} → {self.status}: {self.error})"


class Unauthorized(ApiError):
    """401: the API token is wrong or revoked, or the OAuth access token expired."""


class AuthExpired(Unauthorized):
    """OAuth: the refresh token was refused (``invalid_grant``: expired, revoked or already
    rotated). No request can succeed until the user signs in again."""


class OAuthRejected(ApiError):
    """The OAuth token endpoint refused a request; ``code`` is the OAuth error
    (``invalid_client``, ``invalid_grant`` for a code, …)."""


class Forbidden(ApiError):
    """403 in Pipedrive's JSON envelope: the user may not do this (or a plan cap)."""


class Blocked(ApiError):
    """403 with an HTML page: the token was blocked for sending after 429s; all traffic of
    the session stops until the cool-down is over."""


class NotFound(ApiError):
    """404: no such record (or it was deleted)."""


class ValidationFailed(ApiError):
    """400/422: Pipedrive rejected the request; ``error`` says what was wrong."""

    @property
    def schema(self) -> bool:
        """Whether v2's strict schema validation rejected it (unknown key, wrong type)."""
        return self.code == "ERR_SCHEMA_VALIDATION_FAILED"


class RateLimited(ApiError):
    """429: a rate limit was hit.

    Attributes:
        scope: ``burst`` (2-second window), ``search`` (search window) or ``daily`` (the
            company's daily token budget is spent: retrying before ``resets_at`` is pointless).
        retry_after: seconds to wait, from ``Retry-After`` or ``x-ratelimit-reset``, if sent.
        resets_at: when the limit frees up (UTC), if known or estimated.
    """

    def __init__(
        self,
        status: int,
        method: str,
        path: str,
        error: str,
        error_info: str | None = None,
        code: str | None = None,
        *,
        scope: RateScope = "burst",
        retry_after: float | None = None,
        resets_at: datetime | None = None,
    ) -> None:
        self.scope = scope
        self.retry_after = retry_after
        self.resets_at = resets_at
        super().__init__(status, method, path, error, error_info, code)

    def _message(self) -> str:
        text = super()._message()
        if self.scope == "daily":
            when = f" at {self.resets_at:%Y-%m-%d %H:%M} UTC" if self.resets_at else ""
            return (f"{text} — the company's daily API token budget is spent; it resets{when}. "
                    "Requests will fail until then.")
        if self.retry_after is not None:
            return f"{text} — {self.scope} limit; retry after {self.retry_after:g} s"
        return f"{text} — {self.scope} limit"

    def __repr__(self) -> str:
        return (f"RateLimited({self.method} {self.path} → {self.status}, scope={self.scope}, "
                f"retry_after={self.retry_after})")


class ServerError(ApiError):
    """5xx: Pipedrive (or a proxy in front of it) failed."""


class OutcomeUnknown(PipedriveError):
    """A create or delete may or may not have been applied; it was not repeated.

    Attributes:
        method, path: the request.
        what_to_check: how to find out whether it was applied.
        cause: the transport error or 5xx that left the outcome open.
    """

    def __init__(
        self, method: str, path: str, what_to_check: str, cause: PipedriveError
    ) -> None:
        self.method = method
        self.path = path
        self.what_to_check = what_to_check
        self.cause = cause
        super().__init__(
            f"{method} {path}: outcome unknown ({type(cause).__name__}); it was not repeated. "
            f"To verify: {what_to_check}"
        )

    def __repr__(self) -> str:
        return f"OutcomeUnknown({self.method} {self.path}, cause={type(self.cause).__name__})"


class AuthorizationFailed(PipedriveError):
    """The OAuth sign-in in the browser did not complete: the user cancelled, the answer
    did not carry this attempt's ``state`` (rejected), or no answer came in time."""


class TokenStoreFailed(PipedriveError):
    """Refreshed OAuth tokens could not be stored (``on_tokens`` failed).

    The session keeps working with the new tokens, but the stored refresh token was rotated
    out by the refresh: unless storing succeeds on a later refresh, the next start of the
    app has to sign in again. ``reason`` is the callback's error as text. Reported through
    ``OAuthTokenProvider.store_failure`` and its ``on_store_failed`` callback, never raised
    into a request.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"the refreshed OAuth tokens could not be stored ({reason}); this session keeps "
            "working with them, but the stored sign-in is now outdated: fix the token store "
            "(e.g. unlock the keychain), or sign in again the next time the app starts")


class InvalidValue(PipedriveError):
    """A value was rejected before sending: ``field`` names the field, the message says what
    is wrong and what to do."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class UnknownField(InvalidValue):
    """No field with that name or key on the resource."""
