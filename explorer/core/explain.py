"""What an error means to the person at the screen: a title, what happened, what to do, until
when, and whether trying again helps.

``explain(exc_or_message, context=...)`` turns anything the client raises (the
``explorer.api.errors`` tree), any other exception, or a plain message into an
``Explanation``. The error sink (``explorer.qt.widgets.notifications``) shows it; the rate
meter uses ``blocked`` / ``daily_spent`` / ``clock`` for the states the governor reports.

States that last until something changes (a 403 block, a spent daily budget, a refused token,
no connection) carry ``lasting`` so the sink shows them as a banner instead of a note that
scrolls away. Times are shown in the local time zone (``zone`` for tests). Pure Python: no
Qt, no network; credentials never appear (texts of unknown errors are scrubbed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

from explorer.api.errors import (
    ApiError,
    AuthExpired,
    AuthorizationFailed,
    Blocked,
    Forbidden,
    InvalidValue,
    NetworkError,
    NotFound,
    OAuthRejected,
    OutcomeUnknown,
    PipedriveError,
    RateLimited,
    ServerError,
    Timeout,
    TokenStoreFailed,
    TransportError,
    Unauthorized,
    ValidationFailed,
)

Severity = Literal["info", "warning", "error"]
Lasting = Literal["blocked", "daily", "unauthorized", "offline"]

ACCOUNTS = "File → Accounts"
"""Where the user re-enters a token or signs in again (the window's menu)."""


@dataclass(frozen=True)
class Explanation:
    """One error (or note) in the user's words.

    Attributes:
        title: a short headline ("Pipedrive blocked this token").
        what: what happened, naming what was wrong.
        todo: what to do about it.
        until: when the state passes by itself (UTC), if it does.
        retry_helps: whether trying the same thing again can succeed (now or after ``until``).
        severity: ``info`` (auto-hides), ``warning`` or ``error`` (stay until closed).
        lasting: the lasting state this is (shown as a banner), or None.
        key: what makes two reports "the same" (collapsed into one with a count).
    """

    title: str
    what: str
    todo: str = ""
    until: datetime | None = None
    retry_helps: bool = False
    severity: Severity = "error"
    lasting: Lasting | None = None
    key: str = ""

    @property
    def text(self) -> str:
        """``what`` and ``todo`` as one paragraph."""
        return f"{self.what} {self.todo}".strip()


def clock(moment: datetime, now: datetime | None = None, zone: tzinfo | None = None, *,
          seconds: bool = True) -> str:
    """``moment`` as a local wall-clock time ("14:02:31"), with "tomorrow" or the date when
    it is not today (in ``zone``, the local zone unless given)."""
    now = now or datetime.now(UTC)
    local = _aware(moment).astimezone(zone)
    today = _aware(now).astimezone(zone).date()
    text = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    if local.date() == today:
        return text
    if local.date() == today + timedelta(days=1):
        return f"tomorrow {text}"
    return f"{local:%Y-%m-%d} {text}"


def blocked(until: datetime | None, *, told: bool = True, now: datetime | None = None,
            zone: tzinfo | None = None) -> Explanation:
    """Pipedrive's 403 block: nothing is sent until ``until``."""
    when = f"until {clock(until, now, zone)}" if until else "for a while"
    guess = "" if told else " (Pipedrive did not say how long; the app waits 5 minutes)"
    return Explanation(
        title="Pipedrive blocked this API token",
        what=(f"Pipedrive answered with its 403 block page: the token kept sending after "
              f"\"too many requests\" answers. Nothing is sent {when}{guess}."),
        todo=("Wait: requests resume by themselves then. Stop other scripts or apps that use "
              "the same token meanwhile; a request during the block can prolong it."),
        until=until, retry_helps=False, lasting="blocked", key="blocked")


def daily_spent(resets_at: datetime | None, *, approximate: bool = False,
                now: datetime | None = None, zone: tzinfo | None = None) -> Explanation:
    """The company's daily API token budget is spent until ``resets_at``."""
    if resets_at is None:
        when = "at midnight in Pipedrive's server time zone"
    elif approximate:
        when = (f"about {_at(clock(resets_at, now, zone, seconds=False))} (midnight UTC; "
                "Pipedrive's server time zone may differ, so the app checks now and then)")
    else:
        when = _at(clock(resets_at, now, zone, seconds=False))
    return Explanation(
        title="Daily API budget spent",
        what=(f"The company's daily Pipedrive API token budget is used up; requests are held "
              f"back until it resets {when}."),
        todo=("Wait until then, or buy an API token top-up in Pipedrive. Other apps of this "
              "company share the budget (Company settings → API Usage Dashboard shows which)."),
        until=resets_at, retry_helps=False, lasting="daily", key="daily")


def explain(error: BaseException | str, *, context: str = "", now: datetime | None = None,
            zone: tzinfo | None = None) -> Explanation:
    """``error`` (an exception, or a message for an info note) in the user's words;
    ``context`` names the operation ("load deals"). ``now``/``zone`` for tests."""
    if isinstance(error, str):
        return Explanation(title=context or "Note", what=scrub(error), severity="info",
                           key=f"note:{context}:{scrub(error)}")
    found = _explain(error, context, now, zone)
    if not found.key:
        found = replace(found, key=f"{type(error).__name__}:{context}:{found.what}")
    return found


def _doing(context: str, fallback: str) -> str:
    return context or fallback


def _explain(error: BaseException, context: str, now: datetime | None,
             zone: tzinfo | None) -> Explanation:
    op = _doing(context, _request(error))
    if isinstance(error, Blocked):
        return blocked(error.cooldown_until, now=now, zone=zone)
    if isinstance(error, RateLimited):
        return _rate_limited(error, op, now, zone)
    if isinstance(error, AuthExpired):
        return Explanation(
            title="Sign in to Pipedrive again",
            what="Pipedrive no longer accepts this account's sign-in (it expired or was "
                 "revoked).",
            todo=f"Sign in again in {ACCOUNTS}.",
            lasting="unauthorized", key="unauthorized")
    if isinstance(error, Unauthorized):
        return Explanation(
            title="Pipedrive refused the API token",
            what="The API token was refused: it was revoked, expired or mistyped (or the user "
                 "was deactivated).",
            todo=f"Re-enter the API token in {ACCOUNTS} (Pipedrive: Personal preferences → "
                 "API).",
            lasting="unauthorized", key="unauthorized")
    if isinstance(error, OAuthRejected):
        return Explanation(
            title="Pipedrive refused the sign-in",
            what=f"Pipedrive's sign-in service refused the request ({scrub(error.error)}).",
            todo=f"Check the OAuth app's settings, then sign in again in {ACCOUNTS}.")
    if isinstance(error, Forbidden):
        detail = f" Pipedrive said: {scrub(error.error)}." if error.error else ""
        extra = f" {scrub(error.error_info)}" if error.error_info else ""
        return Explanation(
            title="Not permitted",
            what=f"Pipedrive did not allow this ({op}).{detail}",
            todo=("Ask a Pipedrive admin for the permission (or a plan that includes it), or "
                  "use an account that has it." + extra))
    if isinstance(error, NotFound):
        return Explanation(
            title="Not found",
            what=f"Pipedrive has no such record ({op}): it may have been deleted or merged, "
                 "or this user may not see it.",
            todo="Refresh the list; if it was deleted, it can be restored in Pipedrive for 30 "
                 "days.",
            severity="warning")
    if isinstance(error, ValidationFailed):
        reason = scrub(error.error_info or error.error)
        return Explanation(
            title="Pipedrive rejected the change",
            what=f"Pipedrive rejected {op}: {_sentence(reason)}",
            todo="Correct the value named there and try again.")
    if isinstance(error, ServerError):
        return Explanation(
            title="Pipedrive had a problem",
            what=f"Pipedrive failed to answer {op} (HTTP {error.status}).",
            todo="Try again in a minute; if it persists, check status.pipedrive.com.",
            retry_helps=True, severity="warning")
    if isinstance(error, ApiError):
        return Explanation(
            title=f"Pipedrive answered {error.status}",
            what=f"{op} failed: {scrub(error.error)}.",
            todo="Try again; if it keeps failing, the log (Help → Open log folder) has the "
                 "details.",
            retry_helps=True)
    if isinstance(error, OutcomeUnknown):
        return Explanation(
            title="Not sure it was applied",
            what=f"No trustworthy answer came for {op}: it may or may not have been applied, "
                 "so it was not repeated (to avoid doing it twice).",
            todo=f"Check before trying again: {_sentence(scrub(error.what_to_check))}")
    if isinstance(error, Timeout):
        return Explanation(
            title="Pipedrive did not answer in time",
            what=f"No answer came for {op} within the time limit.",
            todo="Check the connection and try again.",
            retry_helps=True, severity="warning")
    if isinstance(error, NetworkError | TransportError):
        return Explanation(
            title="No connection to Pipedrive",
            what=f"Pipedrive could not be reached ({op}): the connection failed or dropped.",
            todo="Check the network connection (and any VPN or proxy), then retry; retrying "
                 "does not cost API tokens.",
            retry_helps=True, lasting="offline", key="offline")
    if isinstance(error, AuthorizationFailed):
        return Explanation(
            title="Sign-in did not complete",
            what=f"The sign-in in the browser did not complete: {_sentence(scrub(str(error)))}",
            todo=f"Try signing in again in {ACCOUNTS}.",
            retry_helps=True)
    if isinstance(error, TokenStoreFailed):
        return Explanation(
            title="Sign-in could not be saved",
            what=f"The renewed sign-in could not be stored ({scrub(error.reason)}); this "
                 "session keeps working.",
            todo="Unlock or fix the keychain, or sign in again the next time the app starts.",
            severity="warning")
    if isinstance(error, InvalidValue):
        return Explanation(
            title=f"Invalid value for {error.field}",
            what=scrub(str(error)),
            todo="Correct the value and try again.")
    if isinstance(error, PipedriveError):
        return Explanation(
            title="Pipedrive request failed",
            what=f"{op} failed: {_sentence(scrub(str(error)))}",
            todo="Try again; the log (Help → Open log folder) has the details.",
            retry_helps=True)
    return Explanation(
        title=f"{context} failed" if context else "Something went wrong",
        what=f"{_doing(context, 'The operation')} failed: {type(error).__name__}"
             + (f": {scrub(str(error))}" if str(error) else "") + ".",
        todo="Try again; if it keeps failing, the log (Help → Open log folder) has the "
             "details for a bug report.",
        retry_helps=True)


def _rate_limited(error: RateLimited, op: str, now: datetime | None,
                  zone: tzinfo | None) -> Explanation:
    if error.scope == "daily":
        return daily_spent(error.resets_at, approximate=error.approximate, now=now, zone=zone)
    limit = "search limit (10 searches per 2 seconds)" if error.scope == "search" else \
        "burst limit (requests per 2 seconds)"
    until = error.resets_at
    if until is None and error.retry_after is not None:
        until = (now or datetime.now(UTC)) + timedelta(seconds=error.retry_after)
    when = f" until {clock(until, now, zone)}" if until else " for a few seconds"
    return Explanation(
        title="Too many requests",
        what=f"Pipedrive's {limit} was reached ({op}); requests are paused{when}.",
        todo="Retry after that; other apps using the same token share this limit.",
        until=until, retry_helps=True, severity="warning", key=f"rate:{error.scope}")


def _request(error: BaseException) -> str:
    method, path = getattr(error, "method", None), getattr(error, "path", None)
    if isinstance(method, str) and isinstance(path, str):
        return f"{method} {scrub(path)}"
    return "the request"


_SECRET = re.compile(
    r"(?i)\b(api[_-]?token|access[_-]?token|refresh[_-]?token|client[_-]?secret|password|"
    r"authorization|x-api-token|token)(\s*[=:]\s*)(bearer\s+)?[^\s&,;'\"]+")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[^\s&,;'\"]+")
_QUERY = re.compile(r"(https?://[^\s?#]+)\?[^\s#]*")
_LONG_HEX = re.compile(r"\b[0-9a-fA-F]{32,}\b")
MAX_TEXT = 400


def scrub(text: str | None) -> str:
    """``text`` without anything that may be a credential (query strings, ``token=…``,
    ``Bearer …``, long hex strings such as Pipedrive API tokens), cut to ``MAX_TEXT``."""
    if not text:
        return ""
    text = _QUERY.sub(r"\1?…", text)
    text = _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}…", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} …", text)
    text = _LONG_HEX.sub("…", text)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"


def _at(shown: str) -> str:
    """A ``clock`` text in a sentence: "at 14:00", "tomorrow at 01:00", "on 2025-03-17 at
    14:00"."""
    day, _, time_of_day = shown.rpartition(" ")
    if not day:
        return f"at {time_of_day}"
    return f"{day} at {time_of_day}" if day == "tomorrow" else f"on {day} at {time_of_day}"


def _sentence(text: str) -> str:
    """``text`` ending with a full stop (or its own punctuation)."""
    text = text.strip()
    return text if not text or text[-1] in ".!?…)" else f"{text}."


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
