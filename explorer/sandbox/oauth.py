"""OAuth 2 emulation: ``/oauth/authorize``, ``/oauth/token`` and ``/oauth/revoke`` as Pipedrive
answers them (https://oauth.pipedrive.com).

One registered app (``OAuthConfig``) installs into the sandbox's account as its admin user. The
flow is Pipedrive's: the consent page ("Allow and install" / "Cancel") redirects back with
``code`` and ``state``; ``POST /oauth/token`` takes HTTP Basic client credentials and a form
body for the ``authorization_code`` and ``refresh_token`` grants and answers
``{access_token, token_type, refresh_token, scope, expires_in, api_domain}``. Codes live 5
minutes and work once; access tokens live ``access_token_ttl`` seconds; every refresh rotates
the refresh token (the old one answers ``invalid_grant``); refresh tokens lapse after 60 days
unused. Error messages are the ones Pipedrive documents
(https://pipedrive.readme.io/docs/marketplace-oauth-and-api-proxy-status-codes).

Like Pipedrive, which redirects only to the callback URL registered for the app in Developer
Hub, the sandbox knows one registered redirect URI (``OAuthConfig.redirect_uri``,
``--oauth-redirect-uri``): ``/oauth/authorize`` with any other ``redirect_uri`` shows an error
page and redirects nowhere, and the code grant refuses any other one with Pipedrive's
``Invalid request: redirect_uri is invalid``. Tokens are random, kept only as SHA-256 digests in
memory (a restart forgets them) and never logged.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from explorer.sandbox.config import OAuthConfig
from explorer.sandbox.routing import Clock

CODE_TTL = timedelta(minutes=5)
CONSENT_TTL = timedelta(minutes=10)
REFRESH_TTL = timedelta(days=60)
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 50
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
# Pipedrive's OAuth scopes (securitySchemes.oauth2 of the v1 and v2 specs).
KNOWN_SCOPES = frozenset({
    "base", "deals:read", "deals:full", "mail:read", "mail:full", "activities:read",
    "activities:full", "contacts:read", "contacts:full", "products:read", "products:full",
    "deal-fields:full", "product-fields:full", "contact-fields:full", "projects:read",
    "projects:full", "project-fields:full", "users:read", "recents:read", "search:read",
    "admin", "leads:read", "leads:full", "phone-integration", "goals:read", "goals:full",
    "video-calls", "messengers-integration",
})
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An error ``/oauth/token`` answers as JSON.

    The body carries Pipedrive's documented message as ``message`` beside the RFC 6749 code
    (``error``) and ``error_description``, so both Pipedrive-style and standard OAuth clients
    read it.
    """

    def __init__(self, error: str, message: str, status: int = 400,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.error = error
        self.message = message
        self.status = status
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        body = {"success": False, "message": self.message, "error": self.error,
                "error_description": self.message}
        return JSONResponse(body, status_code=self.status, headers={**NO_STORE, **self.headers})


def invalid_request(message: str) -> OAuthError:
    return OAuthError("invalid_request", message)


def invalid_grant(message: str) -> OAuthError:
    return OAuthError("invalid_grant", message)


@dataclass
class _Grant:
    """What a code or token stands for: one installation of the app by one user.

    ``grant_id`` ties the access and refresh tokens issued from one authorization together,
    so revoking the refresh token revokes them all (RFC 7009 §2.1).
    """

    grant_id: str
    user_id: int
    scope: str
    expires: datetime
    redirect_uri: str = ""  # codes only: the token request must repeat it


@dataclass
class _Consent:
    """An authorization request waiting on the consent page's answer."""

    redirect_uri: str
    state: str | None
    scope: str
    expires: datetime


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def redirect_uri_problem(uri: str | None) -> str | None:
    """Why ``uri`` cannot be a redirect URI at all (before comparing it with the registered
    one), or None when it can."""
    if not uri:
        return "redirect_uri is missing"
    try:
        parts = urlsplit(uri)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return f"redirect_uri {uri!r} is not a valid URI"
    if parts.fragment:
        return "redirect_uri must not contain a fragment (#…)"
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return None
    return (f"redirect_uri {uri!r} is not accepted: use an https:// URI, or http:// on a "
            "loopback host (127.0.0.1, [::1] or localhost)")


def with_query(uri: str, params: dict[str, str]) -> str:
    """``uri`` with ``params`` appended to whatever query it already has."""
    parts = urlsplit(uri)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


async def read_form(request: Request) -> dict[str, str]:
    """The request's ``application/x-www-form-urlencoded`` body, as Pipedrive's OAuth
    server requires it."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise invalid_request(
            "Invalid request: content must be application/x-www-form-urlencoded")
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise invalid_request(f"Invalid request: the form body is over {MAX_FORM_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_request("Invalid request: the form body is not UTF-8; percent-encode "
                              "its values") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise invalid_request(f"Invalid request: the form has more than {MAX_FORM_FIELDS} "
                              "parameters") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:  # RFC 6749 §3.2: parameters must not be repeated
            raise invalid_request(f"Invalid request: parameter `{key}` is given more than once")
        form[key] = value
    return form


def client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` from HTTP Basic auth, else from the form body."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            decoded = ""
        client_id, sep, secret = decoded.partition(":")
        if sep and client_id and secret:
            return client_id, secret
    if form.get("client_id") and form.get("client_secret"):
        return form["client_id"], form["client_secret"]
    return None


class OAuthServer:
    """The OAuth app registry and token store of one sandbox.

    Attributes:
        config: the registered app (client id/secret, access-token lifetime, auto-approve).
        clock: the sandbox clock; every expiry is measured on ``clock.now()``.
        user_id: the user an installation authorizes as (the account's admin).
        base_url: the sandbox's own URL, answered as ``api_domain``.
    """

    def __init__(self, config: OAuthConfig, clock: Clock, *, user_id: int, base_url: str) -> None:
        self.config = config
        self.clock = clock
        self.user_id = user_id
        self.base_url = base_url.rstrip("/")
        self._consents: dict[str, _Consent] = {}
        self._codes: dict[str, _Grant] = {}
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}

    # ------------------------------------------------------------------ API side

    def user_for_access_token(self, token: str) -> int | None:
        """The user a Bearer access token authenticates, or None if unknown or expired."""
        key = _digest(token)
        grant = self._access.get(key)
        if grant is None:
            return None
        if self.clock.now() >= grant.expires:
            del self._access[key]
            return None
        return grant.user_id

    def routes(self) -> list[BaseRoute]:
        """The endpoints, relative to the ``/oauth`` mount."""
        return [
            Route("/authorize", self._authorize_page, methods=["GET"]),
            Route("/authorize", self._authorize_answer, methods=["POST"]),
            # The spec's refreshUrl is /oauth/token/; both spellings answer.
            Route("/token", self._token, methods=["POST"]),
            Route("/token/", self._token, methods=["POST"]),
            Route("/revoke", self._revoke, methods=["POST"]),
        ]

    # ------------------------------------------------------------------ /authorize

    async def _authorize_page(self, request: Request) -> Response:
        query = request.query_params
        for name in ("client_id", "redirect_uri", "state", "scope"):
            if len(query.getlist(name)) > 1:
                return _error_page(f"The parameter {name} is given more than once; give it once.")
        client_id = query.get("client_id")
        if not client_id:
            return _error_page("client_id is missing: pass the client ID of your app "
                               f"(the sandbox's app is {self.config.client_id!r}).")
        if not secrets.compare_digest(client_id.encode(), self.config.client_id.encode()):
            return _error_page(f"Unknown client_id {client_id!r}. The sandbox knows one app, "
                               f"{self.config.client_id!r} (set with --oauth-client-id).")
        redirect_uri = query.get("redirect_uri")
        problem = self.redirect_problem(redirect_uri)
        if problem is not None or redirect_uri is None:
            return _error_page(problem or "Invalid request: redirect_uri is not a valid URI")
        scope, problem = self._requested_scope(query.get("scope"))
        if problem is not None:
            return _error_page(problem)
        state = query.get("state")
        if self.config.auto_approve:
            return self._approved(redirect_uri, state, scope)
        self._sweep()
        consent_id = secrets.token_urlsafe(24)
        self._consents[_digest(consent_id)] = _Consent(
            redirect_uri, state, scope, self.clock.now() + CONSENT_TTL)
        return _consent_page(request.url.path, consent_id, client_id, self.user_id, scope)

    async def _authorize_answer(self, request: Request) -> Response:
        try:
            form = await read_form(request)
        except OAuthError as exc:
            return _error_page(exc.message)
        consent = self._consents.pop(_digest(form.get("consent_id", "")), None)
        if consent is None or self.clock.now() >= consent.expires:
            return _error_page("This authorization request has expired or was already "
                               "answered. Start the installation again from your app.")
        if form.get("action") != "allow":
            params = {"error": "access_denied"}
            if consent.state is not None:
                params["state"] = consent.state
            return RedirectResponse(with_query(consent.redirect_uri, params), status_code=302)
        return self._approved(consent.redirect_uri, consent.state, consent.scope)

    def _approved(self, redirect_uri: str, state: str | None, scope: str) -> Response:
        self._sweep()
        code = secrets.token_urlsafe(32)
        self._codes[_digest(code)] = _Grant(
            secrets.token_hex(8), self.user_id, scope, self.clock.now() + CODE_TTL, redirect_uri)
        params = {"code": code}
        if state is not None:
            params["state"] = state
        return RedirectResponse(with_query(redirect_uri, params), status_code=302,
                                headers=NO_STORE)

    def redirect_problem(self, uri: str | None) -> str | None:
        """Pipedrive's complaint about ``uri`` at ``/oauth/authorize`` (with what to do), or
        None when it is the registered callback URL."""
        problem = redirect_uri_problem(uri)
        if problem is not None:
            return f"Invalid request: redirect_uri is not a valid URI ({problem})."
        if uri != self.config.redirect_uri:
            return ("Invalid request: redirect_uri is invalid: it does not match the app's "
                    f"callback URL {self.config.redirect_uri!r} (set with "
                    "--oauth-redirect-uri; Pipedrive's is set in Developer Hub).")
        return None

    def _requested_scope(self, raw: str | None) -> tuple[str, str | None]:
        """The scope to grant (the app's, or the subset a ``scope`` parameter asks for, always
        with ``base``), or a problem with the parameter."""
        if not raw or not raw.strip():
            return self.config.scope, None
        wanted = [s for s in raw.replace(",", " ").split() if s]
        unknown = sorted(set(wanted) - KNOWN_SCOPES)
        if unknown:
            return "", (f"Unknown scope {', '.join(unknown)}. Pipedrive's scopes are: "
                        f"{', '.join(sorted(KNOWN_SCOPES))}.")
        ordered = ["base", *dict.fromkeys(s for s in wanted if s != "base")]
        return ",".join(ordered), None

    # ------------------------------------------------------------------ /token

    async def _token(self, request: Request) -> Response:
        try:
            form = await read_form(request)
            self._authenticate_client(request, form)
            grant_type = form.get("grant_type")
            if not grant_type:
                raise invalid_request("Missing parameter: `grant_type`")
            if grant_type == "authorization_code":
                grant = self._redeem_code(form)
            elif grant_type == "refresh_token":
                grant = self._redeem_refresh(form)
            elif grant_type == "exchange_api_token":
                raise OAuthError("unsupported_grant_type",
                                 "Unsupported grant type: the sandbox does not emulate "
                                 "exchange_api_token; use authorization_code or refresh_token")
            else:
                raise OAuthError("unsupported_grant_type",
                                 "Unsupported grant type: `grant_type` is invalid")
        except OAuthError as exc:
            return exc.response()
        return self._issue(grant)

    def _authenticate_client(self, request: Request, form: dict[str, str]) -> None:
        credentials = client_credentials(request, form)
        if credentials is None:
            problem = OAuthError("invalid_client",
                                 "Invalid client: cannot retrieve client credentials")
        elif (secrets.compare_digest(credentials[0].encode(), self.config.client_id.encode())
              and secrets.compare_digest(credentials[1].encode(),
                                         self.config.client_secret.encode())):
            return
        else:
            problem = OAuthError("invalid_client", "Invalid client: client is invalid")
        if request.headers.get("authorization"):
            # RFC 6749 §5.2: a failed Authorization header is a 401 with a Basic challenge.
            problem.status = 401
            problem.headers = {"WWW-Authenticate": 'Basic realm="Service"'}
        raise problem

    def _redeem_code(self, form: dict[str, str]) -> _Grant:
        code = form.get("code")
        if not code:
            raise invalid_request("Missing parameter: `code`")
        key = _digest(code)
        grant = self._codes.get(key)
        if grant is None:
            raise invalid_grant("Invalid grant: authorization_code is invalid")
        if self.clock.now() >= grant.expires:
            del self._codes[key]
            raise invalid_grant("Invalid grant: authorization_code has expired")
        redirect_uri = form.get("redirect_uri")
        if redirect_uri_problem(redirect_uri) is not None:
            raise invalid_request("Invalid request: redirect_uri is not a valid URI")
        if redirect_uri != self.config.redirect_uri or redirect_uri != grant.redirect_uri:
            # Pipedrive's message for a redirect_uri that is not the one registered in
            # Developer Hub (which is also the one the code was issued for).
            raise invalid_request("Invalid request: redirect_uri is invalid")
        del self._codes[key]
        return grant

    def _redeem_refresh(self, form: dict[str, str]) -> _Grant:
        token = form.get("refresh_token")
        if not token:
            raise invalid_request("Missing parameter: `refresh_token`")
        grant = self._refresh.pop(_digest(token), None)  # rotation: each works once
        if grant is None or self.clock.now() >= grant.expires:
            raise invalid_grant("Invalid grant: refresh_token is invalid")
        return grant

    def _issue(self, grant: _Grant) -> Response:
        self._sweep()
        now = self.clock.now()
        ttl = self.config.access_token_ttl
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._access[_digest(access)] = _Grant(
            grant.grant_id, grant.user_id, grant.scope, now + timedelta(seconds=ttl))
        self._refresh[_digest(refresh)] = _Grant(
            grant.grant_id, grant.user_id, grant.scope, now + REFRESH_TTL)
        body: dict[str, Any] = {
            "access_token": access, "token_type": "Bearer", "refresh_token": refresh,
            "scope": grant.scope, "expires_in": ttl, "api_domain": self.base_url,
        }
        return JSONResponse(body, headers=NO_STORE)

    # ------------------------------------------------------------------ /revoke

    async def _revoke(self, request: Request) -> Response:
        """RFC 7009 revocation, as Pipedrive's ``/oauth/revoke``: revoking a refresh token
        ends the whole installation; revoking an access token ends only that token."""
        try:
            form = await read_form(request)
            self._authenticate_client(request, form)
            token = form.get("token")
            if not token:
                raise invalid_request("Missing parameter: `token`")
        except OAuthError as exc:
            return exc.response()
        key = _digest(token)
        self._access.pop(key, None)
        grant = self._refresh.pop(key, None)
        if grant is not None:
            for store in (self._access, self._refresh):
                for other in [k for k, g in store.items() if g.grant_id == grant.grant_id]:
                    del store[other]
        # RFC 7009 §2.2: unknown tokens are answered as success too.
        return Response(status_code=200, headers=NO_STORE)

    # ------------------------------------------------------------------ housekeeping

    def _sweep(self) -> None:
        """Forget expired consents, codes and tokens, so memory stays bounded."""
        now = self.clock.now()
        stores: tuple[dict[str, Any], ...] = (
            self._consents, self._codes, self._access, self._refresh)
        for store in stores:
            for key in [k for k, item in store.items() if now >= item.expires]:
                del store[key]


# ---------------------------------------------------------------------- pages

_STYLE = (
    "body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;padding:48px 16px}"
    "main{max-width:440px;margin:auto;background:#fff;border-radius:8px;padding:24px 28px;"
    "box-shadow:0 1px 4px #0002}h1{font-size:20px}code{background:#eef;padding:0 3px}"
    "ul{padding-left:20px}.actions{display:flex;gap:12px;margin-top:24px}"
    "button{font-size:15px;padding:8px 16px;border-radius:4px;border:1px solid #999;"
    "background:#fff;cursor:pointer}button.allow{background:#017737;color:#fff;border:0}"
    ".note{color:#666;font-size:13px}"
)
_PAGE_HEADERS = {
    **NO_STORE,
    "X-Frame-Options": "DENY",
    # No form-action: browsers apply it to the redirect after the POST, which goes to the app.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "frame-ancestors 'none'",
}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}"
        f"</title><meta name=viewport content='width=device-width'><style>{_STYLE}</style>"
        f"</head><body><main>{body}</main></body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=_PAGE_HEADERS)


def _error_page(message: str) -> HTMLResponse:
    return _page("Cannot install the app", (
        "<h1>Cannot install the app</h1>"
        f"<p id=error>{html.escape(message)}</p>"
        "<p class=note>Pipedrive sandbox · OAuth emulation</p>"
    ), status=400)


def _consent_page(action: str, consent_id: str, client_id: str, user_id: int,
                  scope: str) -> HTMLResponse:
    scopes = "".join(f"<li><code>{html.escape(s)}</code></li>" for s in scope.split(","))
    return _page("Allow and install", (
        f"<h1>Install app <code>{html.escape(client_id)}</code>?</h1>"
        f"<p>The app asks to access the sandbox account as user #{user_id}, with these "
        f"permissions:</p><ul id=scopes>{scopes}</ul>"
        f"<form method=post action='{html.escape(action)}'>"
        f"<input type=hidden name=consent_id value='{html.escape(consent_id)}'>"
        "<div class=actions><button class=allow name=action value=allow>Allow and install"
        "</button><button name=action value=cancel>Cancel</button></div></form>"
        "<p class=note>Pipedrive sandbox · OAuth emulation of Pipedrive's consent page</p>"
    ))
