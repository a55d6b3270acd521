"""OAuth 2 for a desktop app: the authorization-code flow over a loopback redirect, and the
token endpoint (code exchange, refresh with rotating refresh tokens).

The flow (``sign_in``): a one-shot HTTP receiver listens on the app's registered redirect URI
(``OAuthApp.redirect_uri``, by default ``http://127.0.0.1:18765/callback``: Pipedrive redirects
only to the callback URL registered for the app in Developer Hub, exactly, so the port is fixed),
the caller's ``open_url`` shows Pipedrive's consent page in the browser, the browser comes back
with ``code`` and ``state``, the state is checked against the random one sent, and the code is
exchanged at ``{oauth_url}/oauth/token`` with HTTP Basic client credentials. The answer's
``api_domain`` is the account's API origin (``ClientConfig.with_base_url``), accepted only on
``https://*.pipedrive.com`` or a loopback sandbox's own origin. ``OAuthTokenProvider``
(``explorer.api.auth``) then keeps the access token fresh; nothing here stores a token anywhere.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx

from explorer.api.config import Timeouts, default_transport
from explorer.api.errors import (
    AuthExpired,
    OAuthRejected,
    TransportError,
)
from explorer.api.loopback import (
    DEFAULT_REDIRECT_URI,
    LOOPBACK_HOSTS,
    LoopbackReceiver,
    redirect_uri_problem,
)
from explorer.api.responses import transport_error
from explorer.api.tokencheck import credential_problem

PIPEDRIVE_OAUTH_URL = "https://oauth.pipedrive.com"
# A company's API host: DNS labels (letters, digits, inner hyphens) below pipedrive.com. A
# looser match would take "evil.com\.pipedrive.com" or a host with a space or a tab, which
# are no host names.
_PIPEDRIVE_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+pipedrive\.com")
OpenUrl = Callable[[str], Awaitable[Any] | Any]
"""Shows a URL to the user: ``webbrowser.open`` in the app (run in a worker thread, as it may
block); tests pass a coroutine function that plays the browser."""
_T = TypeVar("_T")
_OPENER_GRACE_S = 2.0
"""How long the sign-in waits, once the code is in, for ``open_url`` to return."""


@dataclass(frozen=True)
class OAuthApp:
    """The app registered in Pipedrive's Developer Hub, and where its OAuth server is.

    Attributes:
        client_id, client_secret: the app's credentials (the secret never shows in a repr).
        oauth_url: ``https://oauth.pipedrive.com``, or a sandbox's URL.
        scope: scopes to ask for (None: the ones registered for the app).
        timeouts: for token requests.
        redirect_uri: the callback URL registered for the app, exactly as registered:
            ``http://`` on a loopback host with a fixed port and a path. Pipedrive redirects
            only there, so ``sign_in`` listens exactly there.
    """

    client_id: str
    client_secret: str = field(repr=False)
    oauth_url: str = PIPEDRIVE_OAUTH_URL
    scope: str | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    redirect_uri: str = DEFAULT_REDIRECT_URI

    def __post_init__(self) -> None:
        if not self.client_id or not self.client_secret:
            raise ValueError("the OAuth app needs its client ID and client secret from "
                             "Pipedrive's Developer Hub")
        parts = urlsplit(self.oauth_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise ValueError("oauth_url must be an http(s) origin such as "
                             f"{PIPEDRIVE_OAUTH_URL}")
        object.__setattr__(self, "oauth_url", self.oauth_url.rstrip("/"))
        problem = redirect_uri_problem(self.redirect_uri)
        if problem is not None:
            raise ValueError(f"redirect_uri {self.redirect_uri!r} {problem}; register a "
                             f"callback URL such as {DEFAULT_REDIRECT_URI} for the app in "
                             "Developer Hub and configure the same one here")

    @property
    def token_url(self) -> str:
        return f"{self.oauth_url}/oauth/token"

    def authorize_url(self, state: str) -> str:
        query = {"client_id": self.client_id, "redirect_uri": self.redirect_uri, "state": state}
        if self.scope:
            query["scope"] = self.scope
        return f"{self.oauth_url}/oauth/authorize?{urlencode(query)}"


@dataclass(frozen=True)
class TokenSet:
    """One token response: what the caller stores in the keychain (``as_dict``/``from_dict``).

    ``expires_at`` is when the access token lapses (UTC), counted from before the token
    request was sent, so it errs early. Tokens never show in a repr.
    """

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    api_domain: str
    scope: str = ""
    token_type: str = "Bearer"

    def expires_in(self, now: datetime) -> float:
        return (self.expires_at - now).total_seconds()

    def as_dict(self) -> dict[str, str]:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "expires_at": self.expires_at.isoformat(), "api_domain": self.api_domain,
                "scope": self.scope, "token_type": self.token_type}

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> TokenSet:
        expires_at = datetime.fromisoformat(data["expires_at"])
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        return cls(data["access_token"], data["refresh_token"], expires_at, data["api_domain"],
                   data.get("scope", ""), data.get("token_type", "Bearer"))


# ---------------------------------------------------------------------- token endpoint


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def api_domain_problem(api_domain: str, oauth_url: str) -> str | None:
    """Why an ``api_domain`` must not receive the access token, or None.

    Accepted: ``https://<company>.pipedrive.com`` (on the default port, nothing after the
    host), and, for an app configured against a sandbox on a loopback host, that sandbox's
    own origin (scheme, host and port of ``oauth_url``). Anything else could send the
    token to a host that is not Pipedrive's."""
    if credential_problem(api_domain) is not None:
        # urlsplit drops tabs and line breaks before parsing: check what will be used.
        return ("the token response's api_domain holds spaces, control or non-ASCII "
                "characters; the token is not sent there")
    try:
        scheme, host, port = _origin(api_domain)
        parts = urlsplit(api_domain)
    except ValueError:
        return "the token response's api_domain is not a valid URL; the token is not sent there"
    if not host or parts.query or parts.fragment or parts.username or parts.path not in ("", "/"):
        return "the token response's api_domain is not a plain origin; the token is not sent there"
    if scheme == "https" and port == 443 and _PIPEDRIVE_HOST.fullmatch(host):
        return None
    oauth_scheme, oauth_host, oauth_port = _origin(oauth_url)
    # A sandbox on loopback: its own origin (127.0.0.1, [::1] and localhost are one machine).
    if oauth_host in LOOPBACK_HOSTS and host in LOOPBACK_HOSTS \
            and (scheme, port) == (oauth_scheme, oauth_port):
        return None
    return ("the token response's api_domain is neither a https://….pipedrive.com address "
            "nor the configured sandbox's origin; the token is not sent there")


def _basic(app: OAuthApp) -> str:
    raw = f"{app.client_id}:{app.client_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


async def token_request(app: OAuthApp, form: dict[str, str], *,
                        http: httpx.AsyncClient | None = None,
                        now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> TokenSet:
    """POST ``form`` to the token endpoint; the new ``TokenSet``.

    Raises ``AuthExpired`` for ``invalid_grant`` on a refresh, and for a refresh accepted
    (200 with a JSON answer) whose tokens or ``api_domain`` cannot be used: the refresh token
    is spent then. ``OAuthRejected`` for any other refusal or unusable answer,
    ``TransportError`` when no answer came. A refresh answer without a
    ``refresh_token`` keeps the one sent (servers that do not rotate).
    """
    issued_at = now()
    path = urlsplit(app.token_url).path
    headers = {"authorization": _basic(app), "accept": "application/json"}
    try:
        if http is not None:
            response = await http.post(app.token_url, data=form, headers=headers)
        else:
            async with httpx.AsyncClient(transport=default_transport(1),
                                         timeout=app.timeouts.httpx()) as own:
                response = await own.post(app.token_url, data=form, headers=headers)
    except httpx.RequestError as exc:
        failure: TransportError | None = transport_error(exc, "POST", path)
    else:
        failure = None
    if failure is not None:
        # Outside the except block, so httpx's exception is not even its __context__: the
        # request it holds carries the client credentials (Basic) and the form's token.
        raise failure
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    status = response.status_code
    refreshing = form.get("grant_type") == "refresh_token"
    if status != 200 or not body.get("access_token"):
        code = str(body.get("error") or "")
        text = str(body.get("message") or body.get("error_description")
                   or f"HTTP {status} {response.reason_phrase}")
        if code == "invalid_grant" and refreshing:
            raise AuthExpired(status, "POST", path, text,
                              "Pipedrive no longer accepts this sign-in: it expired or was "
                              "revoked. Sign in to Pipedrive again.", code)
        if status == 200 and body and refreshing:
            raise _spent(path, "the token endpoint's answer carries no access token")
        raise OAuthRejected(status, "POST", path, text, _rejected_hint(code, status),
                            code or None)
    api_domain = str(body.get("api_domain") or "").rstrip("/")
    problem = api_domain_problem(api_domain, app.oauth_url)
    if problem is not None:
        if refreshing:
            raise _spent(path, problem)
        raise OAuthRejected(status, "POST", path, problem,
                            "Check the OAuth server URL the app is configured with.")
    try:
        expires_in = float(body.get("expires_in") or 0)
    except (TypeError, ValueError):
        expires_in = 0.0
    tokens = TokenSet(
        access_token=str(body["access_token"]),
        refresh_token=str(body.get("refresh_token") or form.get("refresh_token") or ""),
        expires_at=issued_at + timedelta(seconds=max(0.0, expires_in)),
        api_domain=api_domain,
        scope=str(body.get("scope") or ""),
        token_type=str(body.get("token_type") or "Bearer"),
    )
    problem = tokens_problem(tokens)
    if problem is not None:
        if refreshing:
            raise _spent(path, problem)
        raise OAuthRejected(status, "POST", path, problem,
                            "The OAuth server answered unusable tokens; sign in again, and if "
                            "it keeps happening, check the OAuth server URL.")
    return tokens


def _spent(path: str, problem: str) -> AuthExpired:
    """A refresh the token endpoint accepted (200, a JSON answer) whose tokens cannot be used.
    The refresh token sent is spent (rotation retires it once the server accepts it), so
    asking again cannot succeed and would only be refused: the sign-in is over, and the
    message says so (naming the problem, never a token)."""
    return AuthExpired(200, "POST", path, problem,
                       "The OAuth server accepted the token refresh but answered tokens that "
                       "cannot be used, and the refresh token it replaced no longer works. "
                       "Sign in to Pipedrive again; if it keeps happening, check the OAuth "
                       "server URL the app is configured with.")


def tokens_problem(tokens: TokenSet) -> str | None:
    """Why ``tokens`` cannot go into a request header (a line break, a non-ASCII
    character, …), or None. Names the token and the problem, never the token's value."""
    for name, value in (("access token", tokens.access_token),
                        ("refresh token", tokens.refresh_token),
                        ("token type", tokens.token_type)):
        if not value and name == "refresh token":
            continue  # none given: the access token serves until it expires
        problem = "is empty" if not value else credential_problem(value)
        if problem is not None:
            return f"the {name} {problem}; it is not used"
    return None


def _rejected_hint(code: str, status: int) -> str:
    if code == "invalid_client" or status == 401:
        return ("The app's client ID or secret is wrong; check them in Developer Hub and "
                "configure the app with them.")
    if code == "invalid_grant":
        return "The sign-in code expired or was already used; sign in again."
    return "Sign in again; if it keeps failing, check the app's OAuth settings."


async def refresh(app: OAuthApp, refresh_token: str, *, http: httpx.AsyncClient | None = None,
                  now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> TokenSet:
    """Trade a refresh token for new tokens (the old refresh token stops working)."""
    return await token_request(app, {"grant_type": "refresh_token",
                                     "refresh_token": refresh_token}, http=http, now=now)


# ---------------------------------------------------------------------- the flow


async def sign_in(app: OAuthApp, open_url: OpenUrl, *, wait_s: float = 300.0,
                  http: httpx.AsyncClient | None = None) -> TokenSet:
    """Run the authorization-code flow; the tokens, for the caller to store and hand to
    ``OAuthTokenProvider``.

    The redirect is awaited on ``app.redirect_uri`` (the same URI every time: the one
    registered for the app). ``open_url(url)`` shows Pipedrive's consent page (a coroutine
    function, or a plain one, which runs in a worker thread; the flow waits for the browser's
    redirect either way, at most ``wait_s`` seconds, and then for ``open_url`` to return at
    most 2 s more: ``webbrowser.open`` may block until the browser is closed). Raises
    ``AuthorizationFailed`` (the redirect URI's port is taken, cancelled, state mismatch, no
    answer) or the token endpoint's errors (``OAuthRejected``, ``TransportError``).
    """
    state = secrets.token_urlsafe(32)
    redirect_uri = app.redirect_uri
    async with LoopbackReceiver(state, redirect_uri) as receiver:
        # A plain function (webbrowser.open) runs in a thread: it may block, and the
        # receiver must go on answering on this loop meanwhile.
        opener = asyncio.ensure_future(call_off_loop(open_url, app.authorize_url(state)))
        opener.add_done_callback(_forget_outcome)
        try:
            code = await _code_or_opener_failure(receiver, opener, wait_s)
            # The browser gets its page; but ``webbrowser.open`` may block until the browser
            # is closed, and the sign-in does not wait for that.
            await asyncio.wait({opener}, timeout=min(wait_s, _OPENER_GRACE_S))
        finally:
            if not opener.done():
                opener.cancel()  # a worker thread runs on, unawaited
    return await token_request(app, {"grant_type": "authorization_code", "code": code,
                                     "redirect_uri": redirect_uri}, http=http)


def _forget_outcome(future: asyncio.Future[Any]) -> None:
    """Retrieve an opener's outcome nobody awaits any more (no "never retrieved" warning)."""
    if not future.cancelled():
        future.exception()


async def call_off_loop(callback: Callable[[_T], Awaitable[Any] | Any], arg: _T) -> Any:
    """Await ``callback(arg)`` without blocking the event loop: a coroutine function is
    awaited, a plain function runs in a worker thread (an awaitable it returns is awaited)."""
    if is_coroutine_function(callback):
        return await callback(arg)
    result = await asyncio.to_thread(callback, arg)
    if inspect.isawaitable(result):
        return await result
    return result


def is_coroutine_function(callback: Callable[..., Any]) -> bool:
    # An object whose __call__ is a coroutine function (the tests' browser) counts too.
    return (inspect.iscoroutinefunction(callback)
            or inspect.iscoroutinefunction(type(callback).__call__))


async def _code_or_opener_failure(receiver: LoopbackReceiver,
                                  opener: asyncio.Future[Any], wait_s: float) -> str:
    """The code; or, when ``open_url`` failed before the browser came back, its error."""
    waiting = asyncio.ensure_future(receiver.code(wait_s))
    await asyncio.wait({waiting, opener}, return_when=asyncio.FIRST_COMPLETED)
    failure = opener.exception() if opener.done() and not waiting.done() else None
    if failure is not None:
        waiting.cancel()
        raise failure
    return await waiting

