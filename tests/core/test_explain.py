"""Every error of the client's tree in the user's words: what happened, what to do, until
when (in local time), whether a retry helps; credentials never appear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

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
    RateLimited,
    ServerError,
    Timeout,
    TokenStoreFailed,
    Unauthorized,
    UnknownField,
    ValidationFailed,
)
from explorer.core.explain import Explanation, clock, explain, scrub
from explorer.sandbox.app import DEFAULT_TOKEN

NOW = datetime(2025, 3, 14, 13, 0, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")  # UTC+1 in March (before the switch to summer time)


def say(error: BaseException | str, context: str = "") -> Explanation:
    return explain(error, context=context, now=NOW, zone=BERLIN)


def test_a_refused_token_says_to_re_enter_it_in_accounts() -> None:
    e = say(Unauthorized(401, "GET", "/api/v2/deals", "unauthorized access"), "load deals")
    assert "Re-enter the API token in File → Accounts" in e.todo
    assert (e.lasting, e.retry_helps, e.severity) == ("unauthorized", False, "error")
    oauth = say(AuthExpired(401, "POST", "/oauth/token", "invalid_grant"))
    assert "Sign in again in File → Accounts" in oauth.todo and oauth.lasting == "unauthorized"


def test_offline_says_to_check_the_connection_and_that_retrying_is_free() -> None:
    e = say(NetworkError("GET", "/api/v2/deals", "ConnectError", may_have_arrived=False),
            "load deals")
    assert "Check the network connection" in e.todo
    assert "does not cost API tokens" in e.todo
    assert (e.lasting, e.retry_helps) == ("offline", True)
    assert "load deals" in e.what


def test_a_timeout_is_worth_retrying() -> None:
    e = say(Timeout("GET", "/api/v2/deals", "ReadTimeout", may_have_arrived=True))
    assert e.retry_helps and "try again" in e.todo and e.lasting is None


def test_a_block_says_until_when_in_local_time_and_what_to_do() -> None:
    until = NOW + timedelta(minutes=5)
    e = say(Blocked(403, "GET", "/api/v2/deals", "blocked", cooldown_until=until,
                    retry_after=300))
    assert "until 14:05:00" in e.what  # 13:05 UTC is 14:05 in Berlin
    assert "resume by themselves" in e.todo and "Stop other scripts" in e.todo
    assert (e.lasting, e.until, e.retry_helps) == ("blocked", until, False)


def test_a_burst_429_says_until_when_and_that_a_retry_helps() -> None:
    e = say(RateLimited(429, "GET", "/api/v2/deals", "Request over limit", scope="burst",
                        retry_after=2, resets_at=NOW + timedelta(seconds=2)), "load deals")
    assert "burst limit" in e.what and "until 14:00:02" in e.what
    assert e.retry_helps and e.lasting is None and e.severity == "warning"
    search = say(RateLimited(429, "GET", "/api/v2/itemSearch", "over", scope="search",
                             retry_after=2))
    assert "search limit" in search.what and "until 14:00:02" in search.what


def test_a_spent_daily_budget_says_when_it_resumes() -> None:
    midnight = datetime(2025, 3, 15, tzinfo=UTC)
    exact = say(RateLimited(429, "GET", "/api/v2/deals", "over", scope="daily",
                            resets_at=midnight))
    assert "resets tomorrow at 01:00" in exact.what  # midnight UTC is 01:00 in Berlin
    assert "Wait until then" in exact.todo and "API token top-up" in exact.todo
    assert (exact.lasting, exact.until, exact.retry_helps) == ("daily", midnight, False)
    guess = say(RateLimited(429, "GET", "/api/v2/deals", "over", scope="daily",
                            resets_at=midnight, approximate=True))
    assert "resets about tomorrow at 01:00 (midnight UTC" in guess.what


def test_forbidden_names_the_permission_problem() -> None:
    e = say(Forbidden(403, "PATCH", "/api/v2/deals/1", "You do not have permission"),
            "save deal 1")
    assert "save deal 1" in e.what and "You do not have permission" in e.what
    assert "Ask a Pipedrive admin" in e.todo and not e.retry_helps


def test_not_found_suggests_the_record_was_deleted() -> None:
    e = say(NotFound(404, "GET", "/api/v2/deals/999", "Deal not found"), "open deal 999")
    assert "deleted" in e.what and "open deal 999" in e.what and "Refresh" in e.todo


def test_validation_says_what_pipedrive_rejected() -> None:
    e = say(ValidationFailed(400, "PATCH", "/api/v2/deals/1", "Validation failed",
                             "value: must be a number"), "save deal 1")
    assert "must be a number" in e.what and "Correct the value" in e.todo


def test_an_unknown_outcome_says_what_to_check_and_is_not_retried() -> None:
    cause = NetworkError("POST", "/api/v2/deals", "dropped", may_have_arrived=True)
    e = say(OutcomeUnknown("POST", "/api/v2/deals", "look for a deal titled 'X' created "
                           "in the last minute", cause), "create deal")
    assert "may or may not have been applied" in e.what
    assert "look for a deal titled 'X'" in e.todo and not e.retry_helps


@pytest.mark.parametrize("error", [
    ServerError(503, "GET", "/api/v2/deals", "Service unavailable"),
    ApiError(418, "GET", "/api/v2/deals", "teapot"),
    OAuthRejected(400, "POST", "/oauth/token", "invalid_client"),
    AuthorizationFailed("the browser sign-in was cancelled"),
    TokenStoreFailed("keychain locked"),
    InvalidValue("value", "value must be a number; got 'abc'"),
    UnknownField("colour", "no field 'colour' on deals; did you mean 'Color'?"),
    KeyError("boom"),
])
def test_every_other_error_names_what_was_wrong_and_what_to_do(error: Exception) -> None:
    e = say(error, "export deals")
    assert e.title and e.what and e.todo, e
    assert e.lasting is None


def test_a_generic_failure_names_the_operation() -> None:
    e = say(ValueError("unexpected shape"), "load the detail pane")
    assert e.title == "load the detail pane failed"
    assert "load the detail pane failed: ValueError: unexpected shape" in e.what
    assert e.retry_helps


def test_a_message_is_an_info_note() -> None:
    e = say("Exported 120 deals to deals.csv", "export")
    assert (e.severity, e.title, e.what) == ("info", "export", "Exported 120 deals to deals.csv")


def test_the_same_error_has_the_same_key_and_another_does_not() -> None:
    first = say(NotFound(404, "GET", "/api/v2/deals/9", "Deal not found"), "open deal 9")
    again = say(NotFound(404, "GET", "/api/v2/deals/9", "Deal not found"), "open deal 9")
    other = say(NotFound(404, "GET", "/api/v2/deals/8", "Deal not found"), "open deal 8")
    assert first.key == again.key != other.key


SECRETS = [DEFAULT_TOKEN, "0123456789abcdef0123456789abcdef01234567"]


@pytest.mark.parametrize("error", [
    RuntimeError(f"GET https://x.pipedrive.com/api/v1/deals?api_token={DEFAULT_TOKEN} failed"),
    ValueError(f"header x-api-token: {DEFAULT_TOKEN}"),
    ValueError(f"Authorization: Bearer {DEFAULT_TOKEN}"),
    ValueError(f"bad token={DEFAULT_TOKEN}"),
    ValueError(f"token {SECRETS[1]} rejected"),
    NetworkError("GET", "/api/v2/deals", f"ConnectError: ?api_token={DEFAULT_TOKEN}",
                 may_have_arrived=False),
    AuthorizationFailed(f"state mismatch for code=abc&client_secret={DEFAULT_TOKEN}"),
])
def test_no_token_ever_appears(error: Exception) -> None:
    e = say(error, "load deals")
    for secret in SECRETS:
        assert secret not in f"{e.title} {e.what} {e.todo} {e.key}"


def test_scrub_keeps_ordinary_words() -> None:
    text = "The API token was refused; re-enter the token."
    assert scrub(text) == text


def test_clock_shows_local_time_and_the_day_when_not_today() -> None:
    assert clock(NOW, NOW, BERLIN) == "14:00:00"
    assert clock(NOW + timedelta(hours=11), NOW, BERLIN, seconds=False) == "tomorrow 01:00"
    assert clock(NOW + timedelta(days=3), NOW, BERLIN) == "2025-03-17 14:00:00"
