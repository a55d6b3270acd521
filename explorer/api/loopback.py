"""The loopback redirect of a desktop app's OAuth sign-in: the redirect URI and the one-shot
HTTP receiver that listens on it.

Pipedrive redirects only to the callback URL registered for the app in Developer Hub, exactly,
so the receiver listens on that URI's host and fixed port (RFC 8252 §7.3 loopback redirect),
never on a port of its own choosing.
"""

from __future__ import annotations

import asyncio
import html
import secrets
from types import TracebackType
from typing import Self
from urllib.parse import parse_qsl, urlsplit

from explorer.api.errors import AuthorizationFailed

DEFAULT_REDIRECT_URI = "http://127.0.0.1:18765/callback"
"""The callback URL to register for the app in Developer Hub unless it has another one: a
fixed loopback port (below the ephemeral ranges of Linux, macOS and Windows, so an outgoing
connection never holds it) and path."""
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_MAX_REQUEST_HEAD = 16 * 1024


def redirect_uri_problem(uri: str) -> str | None:
    """Why ``uri`` cannot be the loopback redirect a desktop app listens on, or None."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return "is not a valid URI (its port must be a number from 1 to 65535)"
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
        return "must be http:// on a loopback host (127.0.0.1, [::1] or localhost)"
    if not port:
        return "needs a fixed port (Pipedrive redirects only to the exact registered URL)"
    if not parts.path.startswith("/") or parts.query or parts.fragment or parts.username:
        return "needs a path such as /callback and no query, fragment or user name"
    return None


_PAGE = ("<!doctype html><html lang=en><head><meta charset=utf-8><title>{title}</title>"
         "<style>body{{font-family:system-ui,sans-serif;margin:64px auto;max-width:420px;"
         "text-align:center}}</style></head><body><h1>{title}</h1><p>{text}</p></body></html>")


class LoopbackReceiver:
    """A one-shot HTTP server on the app's redirect URI (its loopback host and fixed port)
    for the OAuth redirect.

    The first request to the redirect URI's path decides: with the expected ``state`` and a
    ``code`` the flow goes on; a mismatched or missing state, or an ``error`` (the user
    cancelled), ends it with ``AuthorizationFailed``. The browser gets a small page either
    way. Other paths (``/favicon.ico``) get a 404 and change nothing.
    """

    def __init__(self, state: str, redirect_uri: str = DEFAULT_REDIRECT_URI) -> None:
        problem = redirect_uri_problem(redirect_uri)
        if problem is not None:
            raise ValueError(f"redirect_uri {redirect_uri!r} {problem}")
        self._state = state
        self._server: asyncio.Server | None = None
        self._result: asyncio.Future[str] | None = None
        self.redirect_uri = redirect_uri
        parts = urlsplit(redirect_uri)
        assert parts.hostname is not None and parts.port is not None
        self._host, self._port, self._path = parts.hostname, parts.port, parts.path

    async def __aenter__(self) -> Self:
        self._result = asyncio.get_running_loop().create_future()
        try:
            # Exactly the registered host and port: Pipedrive redirects nowhere else. (A
            # socket of an earlier sign-in in TIME_WAIT does not count: asyncio sets
            # SO_REUSEADDR; a listening one does.)
            self._server = await asyncio.start_server(self._handle, self._host, self._port)
        except OSError as exc:
            raise AuthorizationFailed(self._cannot_listen(exc)) from None
        return self

    def _cannot_listen(self, exc: OSError) -> str:
        shown = f"[{self._host}]" if ":" in self._host else self._host
        why = exc.strerror or type(exc).__name__
        return (f"cannot listen for the sign-in redirect on {shown}:{self._port} ({why}). "
                f"If another sign-in is still open, finish or close it; if another program "
                f"uses port {self._port}, stop it, or register another callback URL for the "
                "app in Pipedrive's Developer Hub (http://127.0.0.1:<free port>/callback) and "
                "configure the app with the same redirect URI. Then sign in again.")

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        if self._result is not None and not self._result.done():
            self._result.cancel()

    async def code(self, wait_s: float) -> str:
        """The authorization code, once the browser has come back."""
        assert self._result is not None, "use the receiver with async with"
        try:
            return await asyncio.wait_for(asyncio.shield(self._result), wait_s)
        except TimeoutError:
            raise AuthorizationFailed(
                f"no answer from the browser within {wait_s:g} s; sign in again and "
                "finish on Pipedrive's page. If that page said the redirect_uri is invalid, "
                f"register {self.redirect_uri} as the app's callback URL in Developer Hub "
                "(or configure the app with the one registered there)") from None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10.0)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ConnectionError):
            writer.close()
            return
        status, title, text = self._answer(head[:_MAX_REQUEST_HEAD])
        page = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
        writer.write(
            f"HTTP/1.1 {status} {reason[status]}\r\ncontent-type: text/html; charset=utf-8\r\n"
            f"content-length: {len(page)}\r\ncache-control: no-store\r\n"
            "connection: close\r\n\r\n".encode() + page)
        try:
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def _answer(self, head: bytes) -> tuple[int, str, str]:
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, _, rest = line.partition(" ")
        target = rest.rpartition(" ")[0] or rest
        parts = urlsplit(target)
        if parts.path != self._path:
            return 404, "Not found", "Nothing here."
        if method != "GET":
            return 405, "Not allowed", "The sign-in redirect is a GET."
        result = self._result
        if result is None or result.done():
            return 400, "Sign-in already handled", "You can close this window."
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        state = query.get("state", "")
        if not secrets.compare_digest(state.encode(), self._state.encode()):
            result.set_exception(AuthorizationFailed(
                "the sign-in answer does not belong to this sign-in attempt (state mismatch); "
                "it was rejected. Sign in again from the app."))
            return 400, "Sign-in rejected", ("This answer does not match the sign-in started "
                                             "in the app. Close this window and try again.")
        if query.get("error"):
            denied = query["error"] == "access_denied"
            result.set_exception(AuthorizationFailed(
                "access was not granted on Pipedrive's page; sign in again and choose "
                "'Allow and install'" if denied else
                f"Pipedrive answered the sign-in with {query['error']!r}; sign in again"))
            return 200, "Sign-in cancelled", "You can close this window."
        code = query.get("code")
        if not code:
            result.set_exception(AuthorizationFailed(
                "the sign-in answer carried no code; sign in again"))
            return 400, "Sign-in failed", "Close this window and try again from the app."
        result.set_result(code)
        return 200, "Signed in", "You can close this window and return to the app."
