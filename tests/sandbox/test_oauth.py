"""The OAuth 2 emulation: consent page, code and refresh grants, expiry, rotation, errors."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from explorer.sandbox.app import DEFAULT_TOKEN, SandboxApp, create_app
from explorer.sandbox.config import LimitConfig, OAuthConfig, SandboxConfig
from explorer.sandbox.routing import Clock
from explorer.sandbox.server import build_parser, config_from_args
from explorer.sandbox.store import Store
from tests.conftest import BASE_URL
from tests.sandbox.spec import SpecLog
from tests.sandbox.test_cli import sandbox_process, stop

CLIENT = (OAuthConfig.client_id, OAuthConfig.client_secret)
REDIRECT = "http://127.0.0.1:8765/callback"
TTL = 60


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen_at=datetime(2024, 5, 6, 12, 0, tzinfo=UTC))


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(limits=LimitConfig(enabled=False),
                         oauth=OAuthConfig(access_token_ttl=TTL, redirect_uri=REDIRECT))


@pytest.fixture
async def web(app: SandboxApp) -> AsyncIterator[httpx.AsyncClient]:
    """A browser/app talking to /oauth (not spec operations, so not spec-checked)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url=BASE_URL) as c:
        yield c


@pytest.fixture
async def api(app: SandboxApp, spec_log: SpecLog) -> AsyncIterator[httpx.AsyncClient]:
    """An API client with no credential of its own; its responses are spec-checked."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL,
                                 event_hooks={"response": [spec_log.hook]}) as c:
        yield c


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def consent_page(web: httpx.AsyncClient, **params: str) -> httpx.Response:
    query = {"client_id": CLIENT[0], "redirect_uri": REDIRECT, "state": "st-1", **params}
    return await web.get("/oauth/authorize", params=query)


def consent_id(page: httpx.Response) -> str:
    match = re.search(r"name=consent_id value='([^']+)'", page.text)
    assert match, page.text
    return match.group(1)


async def answer(web: httpx.AsyncClient, page: httpx.Response, action: str) -> httpx.Response:
    return await web.post("/oauth/authorize",
                          data={"consent_id": consent_id(page), "action": action})


async def new_code(web: httpx.AsyncClient, **params: str) -> str:
    allowed = await answer(web, await consent_page(web, **params), "allow")
    assert allowed.status_code == 302
    return query_of(allowed.headers["location"])["code"]


async def token_request(web: httpx.AsyncClient, auth: Any = CLIENT,
                        **form: str) -> httpx.Response:
    return await web.post("/oauth/token", data=form, auth=auth)


async def exchange(web: httpx.AsyncClient, code: str, redirect_uri: str = REDIRECT,
                   auth: Any = CLIENT) -> httpx.Response:
    return await token_request(web, auth, grant_type="authorization_code", code=code,
                               redirect_uri=redirect_uri)


async def tokens(web: httpx.AsyncClient) -> dict[str, Any]:
    response = await exchange(web, await new_code(web))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def refresh(web: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await token_request(web, grant_type="refresh_token", refresh_token=refresh_token)


def assert_oauth_error(response: httpx.Response, status: int, error: str,
                       message: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body == {"success": False, "error": error, "message": message,
                    "error_description": message}


# ---------------------------------------------------------------------- the flow


async def test_full_flow_consent_code_token_api_call(
    web: httpx.AsyncClient, api: httpx.AsyncClient, app: SandboxApp
) -> None:
    page = await consent_page(web)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Allow and install" in page.text and "Cancel" in page.text
    assert CLIENT[0] in page.text
    for scope in app.state.config.oauth.scope.split(","):
        assert f"<code>{scope}</code>" in page.text
    assert page.headers["x-frame-options"] == "DENY"

    allowed = await answer(web, page, "allow")
    assert allowed.status_code == 302
    location = allowed.headers["location"]
    assert location.startswith(REDIRECT + "?")
    assert query_of(location)["state"] == "st-1"

    issued = await exchange(web, query_of(location)["code"])
    assert issued.status_code == 200
    assert issued.headers["cache-control"] == "no-store"
    body = issued.json()
    assert set(body) == {"access_token", "token_type", "refresh_token", "scope", "expires_in",
                         "api_domain"}
    assert body["token_type"] == "Bearer"
    assert body["api_domain"] == BASE_URL
    assert body["expires_in"] == TTL
    assert body["scope"] == app.state.config.oauth.scope
    assert body["access_token"] != body["refresh_token"]

    me = await api.get(f"{body['api_domain']}/api/v1/users/me",
                       headers=bearer(body["access_token"]))
    assert me.status_code == 200
    admin = await api.get("/api/v1/users/me", headers={"x-api-token": DEFAULT_TOKEN})
    assert me.json()["data"]["id"] == admin.json()["data"]["id"] == app.state.oauth.user_id
    deals = await api.get("/api/v2/deals?limit=2", headers=bearer(body["access_token"]))
    assert deals.status_code == 200 and len(deals.json()["data"]) == 2


async def test_bearer_token_authenticates_as_an_oauth_principal(
    web: httpx.AsyncClient, api: httpx.AsyncClient, app: SandboxApp
) -> None:
    access = (await tokens(web))["access_token"]
    principal = app.state.authenticate(access, bearer=True)
    assert principal is not None
    assert (principal.user_id, principal.kind) == (app.state.oauth.user_id, "oauth")
    # An OAuth access token is not an API token.
    assert (await api.get("/api/v1/users/me", headers={"x-api-token": access})).status_code == 401
    assert app.state.authenticate(access, bearer=False) is None


async def test_cancel_redirects_with_access_denied_and_the_state(
    web: httpx.AsyncClient,
) -> None:
    cancelled = await answer(web, await consent_page(web, state="abc 123"), "cancel")
    assert cancelled.status_code == 302
    assert query_of(cancelled.headers["location"]) == {"error": "access_denied",
                                                        "state": "abc 123"}


async def test_a_consent_is_answered_once(web: httpx.AsyncClient) -> None:
    page = await consent_page(web)
    assert (await answer(web, page, "allow")).status_code == 302
    again = await answer(web, page, "allow")
    assert again.status_code == 400
    assert "already answered" in again.text
    forged = await web.post("/oauth/authorize", data={"consent_id": "made-up",
                                                      "action": "allow"})
    assert forged.status_code == 400 and "location" not in forged.headers


async def test_without_state_no_state_comes_back(web: httpx.AsyncClient) -> None:
    page = await web.get("/oauth/authorize",
                         params={"client_id": CLIENT[0], "redirect_uri": REDIRECT})
    allowed = await answer(web, page, "allow")
    assert set(query_of(allowed.headers["location"])) == {"code"}


async def test_auto_approve_redirects_at_once(store: Store, clock: Clock) -> None:
    config = SandboxConfig(limits=LimitConfig(enabled=False),
                           oauth=OAuthConfig(auto_approve=True, redirect_uri=REDIRECT))
    app = create_app(store, clock=clock, base_url=BASE_URL, config=config)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url=BASE_URL) as web:
        response = await consent_page(web, state="xyz")
        assert response.status_code == 302
        query = query_of(response.headers["location"])
        assert query["state"] == "xyz"
        issued = await exchange(web, query["code"])
        assert issued.status_code == 200
        me = await web.get("/api/v1/users/me", headers=bearer(issued.json()["access_token"]))
        assert me.status_code == 200


@pytest.mark.parametrize(("params", "complaint"), [
    ({"client_id": ""}, "client_id is missing"),
    ({"client_id": "someone-else"}, "Unknown client_id"),
    ({"redirect_uri": ""}, "redirect_uri is missing"),
    ({"redirect_uri": "http://evil.example/cb"}, "use an https:// URI"),
    ({"redirect_uri": "javascript:alert(1)"}, "is not accepted"),
    ({"redirect_uri": "https://app.example/cb#frag"}, "fragment"),
    ({"redirect_uri": "http://127.0.0.1:99999/cb"}, "not a valid URI"),
    # Valid URIs, but not the registered one (REDIRECT): Pipedrive's "is invalid".
    ({"redirect_uri": "http://127.0.0.1:34257/callback"}, "redirect_uri is invalid"),
    ({"redirect_uri": "http://localhost:8765/callback"}, "redirect_uri is invalid"),
    ({"redirect_uri": REDIRECT + "/"}, "redirect_uri is invalid"),
    ({"redirect_uri": REDIRECT + "?x=1"}, "redirect_uri is invalid"),
    ({"redirect_uri": "https://app.example/callback"}, "redirect_uri is invalid"),
    ({"scope": "deals:read,everything"}, "Unknown scope everything"),
])
async def test_authorize_refuses_without_redirecting(
    web: httpx.AsyncClient, params: dict[str, str], complaint: str
) -> None:
    response = await consent_page(web, **params)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "location" not in response.headers
    assert complaint in response.text


async def test_a_repeated_authorize_parameter_is_refused(web: httpx.AsyncClient) -> None:
    response = await web.get(
        f"/oauth/authorize?client_id={CLIENT[0]}&redirect_uri={REDIRECT}"
        "&redirect_uri=https://other.example/cb")
    assert response.status_code == 400 and "more than once" in response.text


async def test_a_mismatched_redirect_uri_names_the_registered_one(
    web: httpx.AsyncClient,
) -> None:
    response = await consent_page(web, redirect_uri="http://127.0.0.1:44493/callback")
    assert response.status_code == 400 and "location" not in response.headers
    assert "Invalid request: redirect_uri is invalid" in response.text
    assert REDIRECT in response.text and "--oauth-redirect-uri" in response.text


@pytest.mark.parametrize("registered", [
    "http://localhost:5000/cb", "http://[::1]:5000/cb", "https://app.example/cb?keep=1",
])
async def test_the_registered_redirect_uri_is_used_as_given(
    store: Store, clock: Clock, registered: str
) -> None:
    config = SandboxConfig(limits=LimitConfig(enabled=False),
                           oauth=OAuthConfig(redirect_uri=registered))
    app = create_app(store, clock=clock, base_url=BASE_URL, config=config)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url=BASE_URL) as web:
        allowed = await answer(web, await consent_page(web, redirect_uri=registered), "allow")
        location = allowed.headers["location"]
        assert location.startswith(registered.split("?")[0] + "?")
        query = query_of(location)
        if "keep=1" in registered:
            assert query["keep"] == "1"
        assert (await exchange(web, query["code"], redirect_uri=registered)).status_code == 200


async def test_a_scope_parameter_narrows_the_grant(web: httpx.AsyncClient) -> None:
    code = await new_code(web, scope="deals:read users:read")
    assert (await exchange(web, code)).json()["scope"] == "base,deals:read,users:read"


# ---------------------------------------------------------------------- code grant errors


async def test_a_code_works_once(web: httpx.AsyncClient) -> None:
    code = await new_code(web)
    assert (await exchange(web, code)).status_code == 200
    assert_oauth_error(await exchange(web, code), 400, "invalid_grant",
                       "Invalid grant: authorization_code is invalid")
    assert_oauth_error(await exchange(web, "never-issued"), 400, "invalid_grant",
                       "Invalid grant: authorization_code is invalid")


async def test_a_code_expires_after_five_minutes(web: httpx.AsyncClient, clock: Clock) -> None:
    early, late = await new_code(web), await new_code(web)
    clock.advance(299)
    assert (await exchange(web, early)).status_code == 200
    clock.advance(1)
    assert_oauth_error(await exchange(web, late), 400, "invalid_grant",
                       "Invalid grant: authorization_code has expired")


async def test_the_redirect_uri_must_repeat_the_authorized_one(web: httpx.AsyncClient) -> None:
    code = await new_code(web)
    for other in ("http://127.0.0.1:1/other", "http://127.0.0.1:33861/callback",
                  REDIRECT + "/", "https://app.example/callback"):
        assert_oauth_error(await exchange(web, code, redirect_uri=other),
                           400, "invalid_request", "Invalid request: redirect_uri is invalid")
    missing = await token_request(web, grant_type="authorization_code", code=code)
    assert_oauth_error(missing, 400, "invalid_request",
                       "Invalid request: redirect_uri is not a valid URI")
    # A refused exchange leaves the code usable with the right redirect_uri.
    assert (await exchange(web, code)).status_code == 200


async def test_missing_code(web: httpx.AsyncClient) -> None:
    response = await token_request(web, grant_type="authorization_code", redirect_uri=REDIRECT)
    assert_oauth_error(response, 400, "invalid_request", "Missing parameter: `code`")


# ---------------------------------------------------------------------- client authentication


async def test_a_wrong_client_secret_is_invalid_client(web: httpx.AsyncClient) -> None:
    code = await new_code(web)
    response = await exchange(web, code, auth=(CLIENT[0], "wrong-secret"))
    assert_oauth_error(response, 401, "invalid_client", "Invalid client: client is invalid")
    assert response.headers["www-authenticate"] == 'Basic realm="Service"'
    wrong_id = await exchange(web, code, auth=("other-app", CLIENT[1]))
    assert_oauth_error(wrong_id, 401, "invalid_client", "Invalid client: client is invalid")
    # Neither attempt used up the code.
    assert (await exchange(web, code)).status_code == 200


async def test_missing_client_credentials(web: httpx.AsyncClient) -> None:
    response = await exchange(web, await new_code(web), auth=None)
    assert_oauth_error(response, 400, "invalid_client",
                       "Invalid client: cannot retrieve client credentials")
    garbled = await web.post("/oauth/token", data={"grant_type": "refresh_token"},
                             headers={"Authorization": "Basic %%%not-base64"})
    assert_oauth_error(garbled, 401, "invalid_client",
                       "Invalid client: cannot retrieve client credentials")


async def test_client_credentials_in_the_body_are_accepted(web: httpx.AsyncClient) -> None:
    code = await new_code(web)
    response = await token_request(web, None, grant_type="authorization_code", code=code,
                                   redirect_uri=REDIRECT, client_id=CLIENT[0],
                                   client_secret=CLIENT[1])
    assert response.status_code == 200


# ---------------------------------------------------------------------- expiry and refresh


async def test_an_expired_access_token_is_refreshed(
    web: httpx.AsyncClient, api: httpx.AsyncClient, clock: Clock
) -> None:
    first = await tokens(web)
    clock.advance(TTL - 1)
    assert (await api.get("/api/v1/users/me", headers=bearer(first["access_token"]))
            ).status_code == 200
    clock.advance(1)
    expired = await api.get("/api/v1/users/me", headers=bearer(first["access_token"]))
    assert expired.status_code == 401
    assert expired.json()["success"] is False

    renewed = await refresh(web, first["refresh_token"])
    assert renewed.status_code == 200
    second = renewed.json()
    assert second["api_domain"] == BASE_URL and second["expires_in"] == TTL
    assert second["scope"] == first["scope"]
    assert second["refresh_token"] != first["refresh_token"]
    assert (await api.get("/api/v2/deals?limit=1", headers=bearer(second["access_token"]))
            ).status_code == 200


async def test_refresh_tokens_rotate(web: httpx.AsyncClient, api: httpx.AsyncClient) -> None:
    first = await tokens(web)
    second = (await refresh(web, first["refresh_token"])).json()
    assert_oauth_error(await refresh(web, first["refresh_token"]), 400, "invalid_grant",
                       "Invalid grant: refresh_token is invalid")
    third = await refresh(web, second["refresh_token"])
    assert third.status_code == 200
    assert (await api.get("/api/v1/users/me", headers=bearer(third.json()["access_token"]))
            ).status_code == 200


async def test_refresh_tokens_lapse_after_sixty_days_unused(
    web: httpx.AsyncClient, clock: Clock
) -> None:
    first = await tokens(web)
    clock.advance(60 * 86400)
    assert_oauth_error(await refresh(web, first["refresh_token"]), 400, "invalid_grant",
                       "Invalid grant: refresh_token is invalid")


async def test_missing_refresh_token(web: httpx.AsyncClient) -> None:
    assert_oauth_error(await token_request(web, grant_type="refresh_token"), 400,
                       "invalid_request", "Missing parameter: `refresh_token`")


# ---------------------------------------------------------------------- malformed requests


async def test_grant_type_missing_or_unsupported(web: httpx.AsyncClient) -> None:
    assert_oauth_error(await token_request(web, code="x"), 400, "invalid_request",
                       "Missing parameter: `grant_type`")
    assert_oauth_error(await token_request(web, grant_type="password"), 400,
                       "unsupported_grant_type",
                       "Unsupported grant type: `grant_type` is invalid")
    exchange_api = await token_request(web, grant_type="exchange_api_token", api_token="t")
    assert exchange_api.status_code == 400
    assert exchange_api.json()["error"] == "unsupported_grant_type"
    assert "does not emulate exchange_api_token" in exchange_api.json()["message"]


@pytest.mark.parametrize(("content", "content_type"), [
    (b'{"grant_type": "refresh_token", "refresh_token": "x"}', "application/json"),
    (b"grant_type=refresh_token", "text/plain"),
    (b"--b\r\nContent-Disposition: form-data; name=grant_type\r\n\r\nx\r\n--b--",
     "multipart/form-data; boundary=b"),
    (b"grant_type=refresh_token", None),
])
async def test_wrong_content_type_is_400(
    web: httpx.AsyncClient, content: bytes, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await web.post("/oauth/token", content=content, headers=headers, auth=CLIENT)
    assert_oauth_error(response, 400, "invalid_request",
                       "Invalid request: content must be application/x-www-form-urlencoded")


@pytest.mark.parametrize(("content", "complaint"), [
    (b"grant_type=refresh_token&refresh_token=\xff\xfe", "is not UTF-8"),
    (b"grant_type=refresh_token&grant_type=authorization_code", "given more than once"),
    (b"&".join([b"k%d=v" % i for i in range(200)]), "more than 50 parameters"),
    (b"x" * (65 * 1024), "over 65536 bytes"),
])
async def test_malformed_form_bodies_are_400(
    web: httpx.AsyncClient, content: bytes, complaint: str
) -> None:
    response = await web.post(
        "/oauth/token", content=content, auth=CLIENT,
        headers={"content-type": "application/x-www-form-urlencoded; charset=utf-8"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert complaint in response.json()["message"]


async def test_other_methods_on_token_are_405_json(web: httpx.AsyncClient) -> None:
    response = await web.get("/oauth/token")
    assert response.status_code == 405
    assert response.json()["success"] is False


async def test_the_spec_refresh_url_with_a_trailing_slash_works(web: httpx.AsyncClient) -> None:
    first = await tokens(web)
    response = await web.post("/oauth/token/", auth=CLIENT, data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert response.status_code == 200


async def test_the_consent_form_needs_a_form_body(web: httpx.AsyncClient) -> None:
    response = await web.post("/oauth/authorize", json={"consent_id": "x", "action": "allow"})
    assert response.status_code == 400
    assert "application/x-www-form-urlencoded" in response.text


# ---------------------------------------------------------------------- revocation, storage


async def test_revoking_a_refresh_token_ends_the_installation(
    web: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    issued = await tokens(web)
    other = await tokens(web)
    revoked = await web.post("/oauth/revoke", auth=CLIENT,
                             data={"token": issued["refresh_token"],
                                   "token_type_hint": "refresh_token"})
    assert revoked.status_code == 200
    assert (await api.get("/api/v1/users/me", headers=bearer(issued["access_token"]))
            ).status_code == 401
    assert (await refresh(web, issued["refresh_token"])).status_code == 400
    # Another installation is untouched.
    assert (await api.get("/api/v1/users/me", headers=bearer(other["access_token"]))
            ).status_code == 200


async def test_revoking_an_access_token_keeps_the_refresh_token(
    web: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    issued = await tokens(web)
    await web.post("/oauth/revoke", auth=CLIENT, data={"token": issued["access_token"]})
    assert (await api.get("/api/v1/users/me", headers=bearer(issued["access_token"]))
            ).status_code == 401
    assert (await refresh(web, issued["refresh_token"])).status_code == 200
    unknown = await web.post("/oauth/revoke", auth=CLIENT, data={"token": "never-issued"})
    assert unknown.status_code == 200
    unauthenticated = await web.post("/oauth/revoke", data={"token": issued["access_token"]})
    assert unauthenticated.status_code == 400


async def test_tokens_are_kept_only_as_digests(web: httpx.AsyncClient, app: SandboxApp) -> None:
    issued = await tokens(web)
    code = await new_code(web)
    held = repr(vars(app.state.oauth))
    for secret in (issued["access_token"], issued["refresh_token"], code):
        assert secret not in held


# ---------------------------------------------------------------------- a real server


@pytest.mark.e2e
def test_oauth_flow_against_a_real_server() -> None:
    with sandbox_process("--oauth-auto-approve", "--oauth-token-ttl", "2",
                         "--oauth-redirect-uri", REDIRECT) as (proc, url, _):
        elsewhere = httpx.get(f"{url}/oauth/authorize", timeout=10, params={
            "client_id": CLIENT[0], "redirect_uri": "http://127.0.0.1:1/callback"})
        assert elsewhere.status_code == 400 and "location" not in elsewhere.headers
        assert "redirect_uri is invalid" in elsewhere.text
        authorized = httpx.get(f"{url}/oauth/authorize", timeout=10, params={
            "client_id": CLIENT[0], "redirect_uri": REDIRECT, "state": "e2e"})
        assert authorized.status_code == 302
        query = query_of(authorized.headers["location"])
        assert query["state"] == "e2e"
        issued = httpx.post(f"{url}/oauth/token", auth=CLIENT, timeout=10, data={
            "grant_type": "authorization_code", "code": query["code"],
            "redirect_uri": REDIRECT})
        assert issued.status_code == 200
        body = issued.json()
        assert body["api_domain"] == url and body["expires_in"] == 2
        me_url = f"{body['api_domain']}/api/v1/users/me"
        assert httpx.get(me_url, headers=bearer(body["access_token"]),
                         timeout=10).status_code == 200
        # The server runs on real time: wait (bounded) for the 2-second token to lapse.
        deadline = time.monotonic() + 15
        status = 200
        while status == 200 and time.monotonic() < deadline:
            time.sleep(0.25)
            status = httpx.get(me_url, headers=bearer(body["access_token"]),
                               timeout=10).status_code
        assert status == 401
        renewed = httpx.post(f"{url}/oauth/token", auth=CLIENT, timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
        assert renewed.status_code == 200
        assert httpx.get(me_url, headers=bearer(renewed.json()["access_token"]),
                         timeout=10).status_code == 200
        assert stop(proc) == 0


# ---------------------------------------------------------------------- the command line


def test_the_cli_sets_the_registered_redirect_uri() -> None:
    parser = build_parser()
    default = config_from_args(parser.parse_args([])).oauth.redirect_uri
    # The client's documented default callback URL, so a default app signs in to a
    # default sandbox.
    assert default == "http://127.0.0.1:18765/callback"
    assert default in " ".join(parser.format_help().split())
    chosen = config_from_args(parser.parse_args(["--oauth-redirect-uri", REDIRECT]))
    assert chosen.oauth.redirect_uri == REDIRECT


@pytest.mark.parametrize(("value", "complaint"), [
    ("http://evil.example/cb", "use an https:// URI"),
    ("http://127.0.0.1:99999/cb", "not a valid URI"),
    ("", "redirect_uri is missing"),
])
def test_the_cli_refuses_an_unusable_redirect_uri(
    capsys: pytest.CaptureFixture[str], value: str, complaint: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--oauth-redirect-uri", value])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--oauth-redirect-uri" in err and complaint in err and "Traceback" not in err
