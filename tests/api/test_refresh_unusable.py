"""A refresh the token endpoint accepted (200) but answered with tokens or an ``api_domain`` that
cannot be used: the sandbox rotated the refresh token on that answer, so the old one is spent
and asking again can never succeed. The provider latches (``AuthExpired``, sign in again), as
for ``invalid_grant``, instead of retrying after a back-off; no token shows in the error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from explorer.api import PipedriveClient
from explorer.api.auth import OAuthTokenProvider
from explorer.api.errors import AuthExpired, OAuthRejected
from explorer.api.oauth import refresh
from tests.api.tokens_sandbox import (
    OAUTH_APP,
    Recorder,
    api_config,
    frozen,
    sign_in_without_browser,
)

from tests.api.tokens_sandbox import auto_approve_config, loopback_app, recorded_http, recorder  # noqa: F401  # isort: skip (fixtures)


def _with(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda body: {k: v for k, v in {**body, **changes}.items() if v is not None}


UNUSABLE = {
    "foreign api_domain": (_with(api_domain="https://attacker.example"), "api_domain"),
    "api_domain with a line break": (_with(api_domain="https://x.pipedrive.com\n"),
                                     "api_domain"),
    "access token with a line break": (lambda b: {**b, "access_token": "ab\ncd"},
                                       "the access token contains a line break"),
    "refresh token with a non-ASCII character": (
        lambda b: {**b, "refresh_token": "ab\u200bcd"},
        "the refresh token contains a non-ASCII character"),
    "no access token": (_with(access_token=None), "no access token"),
}


@pytest.mark.parametrize("case", list(UNUSABLE))
async def test_an_unusable_refresh_answer_latches_and_says_sign_in_again(
    wire: Recorder, http: httpx.AsyncClient, case: str
) -> None:
    tokens = await sign_in_without_browser(http)
    rewrite, problem = UNUSABLE[case]
    answered: list[dict[str, Any]] = []

    def spoil(body: dict[str, Any]) -> dict[str, Any]:
        answered.append(body)  # what the sandbox really answered (its rotated tokens)
        return rewrite(body)

    wire.rewrite = spoil
    offset = [0.0]  # the provider's clock, at the access token's expiry: it must refresh
    provider = OAuthTokenProvider(OAUTH_APP, tokens, http=http,
                                  now=frozen(tokens.expires_at, offset))
    asked = wire.count("/oauth/token")
    async with PipedriveClient(api_config(wire), provider) as client:
        with pytest.raises(AuthExpired, match="Sign in to Pipedrive again") as caught:
            await client.get("deals", 1)
        assert problem in str(caught.value)
        offset[0] += 3600  # far past any back-off: still nothing to retry
        for deal in (2, 3):
            with pytest.raises(AuthExpired, match="Sign in to Pipedrive again"):
                await client.get("deals", deal)
    assert wire.count("/oauth/token") == asked + 1  # the one refresh, never retried
    assert wire.count("/api/") == 0
    assert "expired" in repr(provider)
    shown = f"{caught.value}\n{caught.value!r}\n{caught.value.args!r}"
    (real,) = answered
    for secret in (tokens.access_token, tokens.refresh_token, real["access_token"],
                   real["refresh_token"], "ab\ncd", "ab\u200bcd"):
        assert secret not in shown
    # The premise: the refresh token the provider sent is spent on that answer.
    wire.rewrite = None
    with pytest.raises(AuthExpired):
        await refresh(OAUTH_APP, tokens.refresh_token, http=http)


async def test_an_unusable_code_exchange_is_still_a_rejection(
    wire: Recorder, http: httpx.AsyncClient
) -> None:
    """A sign-in's code exchange spends no refresh token: its unusable answer stays an
    ``OAuthRejected`` (check the OAuth server URL), not an expired sign-in."""
    wire.rewrite = _with(api_domain="https://attacker.example")
    with pytest.raises(OAuthRejected, match="Check the OAuth server URL") as caught:
        await sign_in_without_browser(http)
    assert not isinstance(caught.value, AuthExpired)
