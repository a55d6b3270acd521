"""Token safety against the sandbox in process: a malformed token is refused before anything is
sent and never shows in an error; ``api_domain`` must be Pipedrive's or the loopback sandbox's;
a refused refresh is final for client errors and backs off for server errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from explorer.api import ApiTokenProvider, PipedriveClient
from explorer.api.auth import OAuthTokenProvider
from explorer.api.errors import (
    AuthExpired,
    InvalidValue,
    NetworkError,
    OAuthRejected,
    PipedriveError,
)
from explorer.api.oauth import OAuthApp, TokenSet
from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp, create_app
from explorer.sandbox.config import (
    FaultRule,
    LimitConfig,
    OAuthConfig,
    SandboxConfig,
)
from explorer.sandbox.routing import Clock
from explorer.sandbox.store import Store
from tests.api.tokens_sandbox import (
    CLIENT_ID,
    LOOPBACK,
    OAUTH_APP,
    Recorder,
    api_config,
    frozen,
    sign_in_without_browser,
    skewed,
)

from tests.api.tokens_sandbox import auto_approve_config, loopback_app, recorded_http, recorder  # noqa: F401  # isort: skip (fixtures)

TOKEN_HEAD, TOKEN_TAIL = "0123456789abcdef0123", "456789abcdef01234567"


def shows(error: BaseException) -> str:
    """Everything an error can show: message, repr, args, and its chain's."""
    parts = [str(error), repr(error), *map(repr, error.args)]
    for linked in (error.__cause__, error.__context__):
        if linked is not None:
            parts.append(shows(linked))
    return "\n".join(parts)


# ---------------------------------------------------------------------- malformed tokens


@pytest.mark.parametrize(("bad", "problem"), [
    ("\n", "contains a line break at position 21"),
    ("\r\n", "contains a line break at position 21"),
    ("\u200b", "contains a non-ASCII character (U+200B ZERO WIDTH SPACE, invisible) at "
               "position 21"),
    ("\u00e9", "contains a non-ASCII character (U+00E9"),
    ("\u00a0", "contains a non-ASCII character (U+00A0"),
    (" ", "contains a space at position 21"),
    ("\t", "contains a tab at position 21"),
    ("\x00", "contains a control character (U+0000) at position 21"),
])
async def test_a_malformed_api_token_is_refused_before_sending(
    wire: Recorder, bad: str, problem: str
) -> None:
    token = TOKEN_HEAD + bad + TOKEN_TAIL
    with pytest.raises(InvalidValue) as caught:
        async with PipedriveClient(api_config(wire), ApiTokenProvider(token)) as client:
            await client.get("deals", 1)
    error = caught.value
    assert isinstance(error, PipedriveError) and error.field == "api_token"
    assert problem in str(error) and "copy it again" in str(error)
    shown = shows(error)
    assert TOKEN_HEAD not in shown and TOKEN_TAIL not in shown
    assert wire.sent == []


@pytest.mark.parametrize("empty", ["", "  \n"])
def test_an_empty_api_token_is_refused_in_the_error_tree(empty: str) -> None:
    with pytest.raises(InvalidValue, match="the API token is empty; copy it again"):
        ApiTokenProvider(empty)


async def test_a_clean_api_token_with_surrounding_whitespace_works(wire: Recorder) -> None:
    provider = ApiTokenProvider(f"  {DEFAULT_TOKEN}\n")
    async with PipedriveClient(api_config(wire), provider) as client:
        assert (await client.get("deals", 1))["id"] == 1


@pytest.mark.parametrize(("field", "bad", "problem"), [
    ("access_token", "\n", "the access token contains a line break at position "),
    ("access_token", "\u200b", "the access token contains a non-ASCII character"),
    ("refresh_token", "\u00e9", "the refresh token contains a non-ASCII character"),
    ("token_type", "\u00e9", "the token type contains a non-ASCII character"),
])
async def test_malformed_oauth_tokens_are_refused_when_received(
    app: SandboxApp, field: str, bad: str, problem: str
) -> None:
    received: list[str] = []

    def corrupt(body: dict[str, Any]) -> dict[str, Any]:
        value = str(body[field])
        received.append(value)
        return {**body, field: value[:12] + bad + value[12:]}

    wire = Recorder(app, rewrite=corrupt)
    async with httpx.AsyncClient(transport=wire) as http:
        # At sign-in: the code exchange's answer.
        with pytest.raises(OAuthRejected) as caught:
            await sign_in_without_browser(http)
        assert problem in str(caught.value) and "sign in again" in str(caught.value)
        # At a refresh: the request that needed it is not sent, and as the refresh token
        # is spent on that answer, the sign-in is over (test_refresh_unusable.py).
        wire.rewrite = None
        tokens = await sign_in_without_browser(http)
        wire.rewrite = corrupt
        provider = OAuthTokenProvider(OAUTH_APP, tokens, http=http, now=skewed([3600.0]))
        before = wire.count("/api/")
        async with PipedriveClient(api_config(wire), provider) as client:
            with pytest.raises(AuthExpired) as refreshing:
                await client.get("deals", 1)
    assert problem in str(refreshing.value)
    assert "Sign in to Pipedrive again" in str(refreshing.value)
    assert wire.count("/api/") == before
    secrets = [part for value in received if field != "token_type"
               for part in (value[:12], value[12:])]
    for error in (caught.value, refreshing.value):
        shown = shows(error)
        assert not any(secret in shown for secret in secrets)


async def test_stored_tokens_that_are_malformed_are_refused(http: httpx.AsyncClient) -> None:
    good = await sign_in_without_browser(http)
    bad = TokenSet(good.access_token[:10] + "\n" + good.access_token[10:], good.refresh_token,
                   good.expires_at, good.api_domain)
    with pytest.raises(InvalidValue, match="access token contains a line break") as caught:
        OAuthTokenProvider(OAUTH_APP, bad, http=http)
    assert good.access_token[:10] not in shows(caught.value)
    elsewhere = TokenSet(good.access_token, good.refresh_token, good.expires_at,
                         "https://attacker.example")
    with pytest.raises(InvalidValue, match="api_domain"):
        OAuthTokenProvider(OAUTH_APP, elsewhere, http=http)


# ---------------------------------------------------------------------- api_domain


async def test_an_api_domain_off_pipedrive_is_refused(store: Store, clock: Clock) -> None:
    # A sandbox that answers a foreign https api_domain (once accepted for any https host).
    config = SandboxConfig(limits=LimitConfig(enabled=False),
                           oauth=OAuthConfig(auto_approve=True))
    foreign = create_app(store, clock=clock, base_url="https://attacker.example",
                         config=config)
    wire = Recorder(foreign)
    async with httpx.AsyncClient(transport=wire) as http:
        with pytest.raises(OAuthRejected, match="api_domain") as caught:
            await sign_in_without_browser(http)
    assert "Check the OAuth server URL" in str(caught.value)
    assert [line for line in wire.sent if "attacker" in line or "/api/" in line] == []


# ---------------------------------------------------------------------- refused refreshes


async def test_refused_client_credentials_are_final_and_say_what_to_do(
    wire: Recorder, http: httpx.AsyncClient
) -> None:
    tokens = await sign_in_without_browser(http)
    wrong = OAuthApp(CLIENT_ID, "not-the-secret", oauth_url=LOOPBACK)
    provider = OAuthTokenProvider(wrong, tokens, http=http, now=skewed([3600.0]))
    async with PipedriveClient(api_config(wire), provider) as client:
        for deal in (1, 2, 3):
            with pytest.raises(OAuthRejected) as caught:
                await client.get("deals", deal)
            error = caught.value
            assert error.code == "invalid_client" and error.status == 401
            assert "client ID or secret is wrong" in str(error)
            assert "Developer Hub" in str(error) and "not-the-secret" not in shows(error)
    # Asked once; the later requests were refused without asking again, or sending.
    assert wire.count("/oauth/token") == 2  # the sign-in's exchange, the one refresh
    assert wire.count("/api/") == 0
    assert "refused" in repr(provider)


async def test_a_refused_refresh_request_is_final_and_says_sign_in_again(
    wire: Recorder, http: httpx.AsyncClient
) -> None:
    # No refresh token (a server that gave none): the refresh is a 400 invalid_request.
    tokens = await sign_in_without_browser(http)
    without = TokenSet(tokens.access_token, "", tokens.expires_at, tokens.api_domain)
    offset = [0.0]
    provider = OAuthTokenProvider(OAUTH_APP, without, http=http,
                                  now=frozen(tokens.expires_at, offset))
    asked = wire.count("/oauth/token")
    async with PipedriveClient(api_config(wire), provider) as client:
        for deal in (1, 2, 3):
            with pytest.raises(OAuthRejected) as caught:
                await client.get("deals", deal)
            assert caught.value.status == 400 and caught.value.code == "invalid_request"
            assert "Sign in again" in str(caught.value)
        offset[0] += 3600  # no back-off to wait out: it is final
        with pytest.raises(OAuthRejected):
            await client.get("deals", 4)
    assert wire.count("/oauth/token") == asked + 1 and wire.count("/api/") == 0


async def test_a_failing_token_endpoint_is_retried_after_a_back_off(
    app: SandboxApp, wire: Recorder, http: httpx.AsyncClient
) -> None:
    tokens = await sign_in_without_browser(http)
    app.state.faults.add(FaultRule("error_503", count=2, path="/oauth/token"))
    # The provider's own clock, moved only by the test: the token has 1.5 s left, inside the
    # refresh margin and still good to send.
    offset = [-3000.0]  # made when the token was fresh: its lifetime is known
    provider = OAuthTokenProvider(OAUTH_APP, tokens, http=http,
                                  now=frozen(tokens.expires_at, offset))
    offset[0] = -1.5
    refreshes_asked = wire.count("/oauth/token")
    async with PipedriveClient(api_config(wire), provider) as client:
        # The refresh fails (503); the still-valid token serves, and the requests right
        # after it do not ask the token endpoint again (each did, before).
        for deal in (1, 2, 3):
            assert (await client.get("deals", deal))["id"] == deal
        assert wire.count("/oauth/token") == refreshes_asked + 1
        # Too close to expiry to send, within the 1-s back-off: fails at once, unsent.
        offset[0] += 0.6
        sent = wire.count("/api/")
        with pytest.raises(NetworkError, match="next try is in") as caught:
            await client.get("deals", 1)
        assert not caught.value.may_have_arrived
        assert wire.count("/oauth/token") == refreshes_asked + 1
        assert wire.count("/api/") == sent
        # After the back-off the endpoint is asked again (503 again: now 2 s) …
        offset[0] += 0.5
        with pytest.raises(NetworkError):
            await client.get("deals", 1)
        assert wire.count("/oauth/token") == refreshes_asked + 2
        offset[0] += 1.0
        with pytest.raises(NetworkError, match="next try is in"):
            await client.get("deals", 1)
        assert wire.count("/oauth/token") == refreshes_asked + 2
        # … and once it is over, the refresh goes through.
        offset[0] += 1.1
        assert (await client.get("deals", 4))["id"] == 4
    assert wire.count("/oauth/token") == refreshes_asked + 3
    assert provider.refreshes == 1


async def test_a_server_error_does_not_latch(http: httpx.AsyncClient, app: SandboxApp,
                                             wire: Recorder) -> None:
    tokens = await sign_in_without_browser(http)
    app.state.faults.add(FaultRule("error_500", count=1, path="/oauth/token"))
    offset = [0.0]
    provider = OAuthTokenProvider(OAUTH_APP, tokens, http=http,
                                  now=frozen(tokens.expires_at, offset))
    with pytest.raises(NetworkError):
        await provider.headers()
    offset[0] += 1.5
    assert (await provider.headers())["authorization"].startswith("Bearer ")
    assert provider.refreshes == 1 and "expires" in repr(provider)
