"""Serve the sandbox over HTTP with uvicorn: ``pipedrive-explorer sandbox [options]``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import math
import signal
import socket
import sys
import textwrap
import threading
from collections.abc import Callable, Generator, Sequence
from types import FrameType
from typing import NoReturn

import uvicorn

from explorer.sandbox import dbfile
from explorer.sandbox.admin import MAXIMUM
from explorer.sandbox.app import DEFAULT_TOKEN, create_app
from explorer.sandbox.config import (
    DAILY_MESSAGE_MODES,
    PLANS,
    SEARCH_HEADER_MODES,
    FaultConfig,
    FaultRule,
    LimitConfig,
    OAuthConfig,
    SandboxConfig,
    parse_fault,
    server_zone,
)
from explorer.sandbox.faults import validate_rule
from explorer.sandbox.oauth import redirect_uri_problem
from explorer.sandbox.store import Store

SIZES = ("small", "medium", "large")


PROG = "pipedrive-explorer sandbox"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and exit status 2), not the usage."""

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (see --help)", prog=self.prog)


class _Help(argparse.HelpFormatter):
    """Help text wrapped at spaces only: header names and defaults are never cut."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False,
                             break_long_words=False)


def fail(message: str, *, prog: str = PROG) -> NoReturn:
    """Stop on bad input: one line on stderr naming what to change, exit status 2."""
    print(f"{prog}: error: {message}", file=sys.stderr, flush=True)  # noqa: T201
    raise SystemExit(2)


def _whole(low: int, high: int, what: str = "") -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"needs a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be from {low:,} to {high:,}{what}, got {text}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"needs a number of seconds, got {text!r}") from None
    maximum, note = MAXIMUM["block_seconds"]
    if not 0 <= value <= maximum:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"must be from 0 to {maximum:,.0f}{note}, got {text}")
    return value


def _host(text: str) -> str:
    # An empty host would bind every interface (0.0.0.0) while the help promises loopback.
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "needs an address: 127.0.0.1 (loopback only), ::1, or 0.0.0.0 for every interface")
    return text


def _token(text: str) -> str:
    if not text or not text.isascii() or not text.isprintable() or " " in text:
        raise argparse.ArgumentTypeError(
            "must be non-empty printable ASCII without spaces (clients send it in a header)")
    return text


def _client_id(text: str) -> str:
    # HTTP Basic (client_id:client_secret) splits at the first colon.
    if ":" in _token(text):
        raise argparse.ArgumentTypeError("must not contain ':' (HTTP Basic splits there)")
    return text


def _limit(key: str) -> int:
    return int(MAXIMUM[key][0])


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or _Parser(
        prog=PROG, formatter_class=_Help,
        description="Run the local Pipedrive-compatible sandbox server with demo data.",
    )
    parser.add_argument("--host", type=_host, default="127.0.0.1",
                        help="address to bind (default: 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=_whole(0, 65535, " (0 picks a free one)"), default=8765,
                        help="port to listen on; 0 picks a free one (default: 8765)")
    parser.add_argument("--db", metavar="PATH",
                        help="sqlite file to keep the data in across restarts (default: memory)")
    parser.add_argument("--size", choices=SIZES, default="small",
                        help="demo data size when the database is new (default: small)")
    parser.add_argument("--seed", type=int, default=1,
                        help="demo data seed; the same seed gives the same data (default: 1)")
    parser.add_argument("--token", type=_token, default=DEFAULT_TOKEN,
                        help="API token clients must send (default: the demo token, "
                        "%(default)s)")
    limits = parser.add_argument_group("Pipedrive's limits")
    limits.add_argument("--plan", choices=PLANS, default="growth",
                        help="company plan: burst window and budget multiplier (default: growth)")
    limits.add_argument("--auth-kind", choices=("token", "oauth"), default="token",
                        help="which burst numbers apply to the API token (default: token)")
    limits.add_argument("--seats", type=_whole(1, _limit("seats")), default=1,
                        help="paid seats (default: 1)")
    limits.add_argument("--budget", type=_whole(0, _limit("budget")),
                        help="daily token budget (default: 30,000 × plan multiplier × seats "
                        "+ top-up)")
    limits.add_argument("--top-up", type=_whole(0, _limit("top_up")), default=0,
                        help="purchased extra daily tokens (default: 0)")
    limits.add_argument("--no-limits", action="store_true",
                        help="count nothing and never answer 429 (data loading, benchmarks)")
    limits.add_argument("--retry-after", action="store_true",
                        help="send Retry-After on 429 responses (Pipedrive does not document it)")
    limits.add_argument("--block-after", type=_whole(0, _limit("block_after")), default=20,
                        help="requests a token may send within a window after a 429 before "
                        "a 403 block (default: 20)")
    limits.add_argument("--block-seconds", type=_seconds, default=60.0,
                        help="how long a 403 block lasts (default: 60)")
    limits.add_argument("--server-timezone", metavar="ZONE", type=_zone, default="UTC",
                        help="IANA time zone whose midnight resets the daily budget, e.g. "
                        "Europe/Berlin (default: UTC)")
    variants = parser.add_argument_group(
        "undocumented header variants",
        "Limits are enforced the same either way; these change only what the headers say.")
    variants.add_argument("--no-success-ratelimit-headers", dest="success_headers",
                          action="store_false",
                          help="2xx answers carry no x-ratelimit-limit/-remaining/-reset "
                          "(429s still do)")
    variants.add_argument("--search-headers", choices=SEARCH_HEADER_MODES, default="search",
                          help="which window's counters search answers carry: their own (10 "
                          "per 2 s) or the general burst window's (default: search)")
    variants.add_argument("--daily-message", choices=DAILY_MESSAGE_MODES, default="timed",
                          help="what a budget 429 says: that it is spent and when it resets, "
                          "or only that it is spent (default: timed)")
    variants.add_argument("--no-daily-headers", dest="daily_headers", action="store_false",
                          help="no x-daily-ratelimit-token-limit/-remaining on any answer")
    oauth = parser.add_argument_group("OAuth emulation")
    oauth.add_argument("--oauth-client-id", type=_client_id, default=OAuthConfig.client_id,
                       help="the OAuth app's client id (default: %(default)s)")
    oauth.add_argument("--oauth-client-secret", type=_token,
                       default=OAuthConfig.client_secret,
                       help="the OAuth app's client secret (default: %(default)s)")
    oauth.add_argument("--oauth-token-ttl", type=_whole(1, 10 * 366 * 86_400),
                       default=OAuthConfig.access_token_ttl,
                       help="access token lifetime in seconds (default: 3599)")
    oauth.add_argument("--oauth-auto-approve", action="store_true",
                       help="/oauth/authorize redirects at once instead of showing the page")
    oauth.add_argument("--oauth-redirect-uri", type=_redirect_uri,
                       default=OAuthConfig.redirect_uri, metavar="URI",
                       help="the app's registered callback URL; any other redirect_uri is "
                       "refused, as Pipedrive does (default: %(default)s)")
    faults = parser.add_argument_group("fault injection")
    faults.add_argument("--fault", action="append", default=[], metavar="KIND[:OPTS]",
                        help="inject a fault, e.g. error_503:probability=0.1 or "
                        "lost:count=1,method=PATCH,path=/api/v2/deals/* (repeatable; "
                        "default: none)")
    faults.add_argument("--fault-seed", type=int, default=0,
                        help="seed of the fault draws (default: 0)")
    return parser


def _redirect_uri(text: str) -> str:
    problem = redirect_uri_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


def _zone(text: str) -> str:
    try:
        server_zone(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _fault_rule(text: str) -> FaultRule:
    try:
        rule = parse_fault(text)
        validate_rule(rule)
    except ValueError as exc:
        fail(f"argument --fault: {exc}")
    for key in ("latency_ms", "jitter_ms", "hang_seconds", "count"):
        value = getattr(rule, key)
        maximum, note = MAXIMUM[key]
        if value is not None and not (math.isfinite(value) and value <= maximum):
            fail(f"argument --fault: {key} must be at most {maximum:,.0f}{note}, got {value}")
    return rule


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """The configuration the arguments ask for, every value checked before anything starts
    (a bad one stops the CLI with one line, not after the data was generated)."""
    rules = tuple(_fault_rule(text) for text in args.fault)
    return SandboxConfig(
        limits=LimitConfig(
            enabled=not args.no_limits, plan=args.plan, auth_kind=args.auth_kind,
            seats=args.seats, budget=args.budget, top_up=args.top_up,
            retry_after=args.retry_after, block_after=args.block_after,
            block_seconds=args.block_seconds, success_headers=args.success_headers,
            search_headers=args.search_headers, daily_headers=args.daily_headers,
            daily_message=args.daily_message,
            server_timezone=args.server_timezone,
        ),
        oauth=OAuthConfig(
            client_id=args.oauth_client_id, client_secret=args.oauth_client_secret,
            access_token_ttl=args.oauth_token_ttl, auto_approve=args.oauth_auto_approve,
            redirect_uri=args.oauth_redirect_uri,
        ),
        faults=FaultConfig(rules=rules, seed=args.fault_seed),
    )


class _Server(uvicorn.Server):
    """uvicorn's server, stopping cleanly on SIGINT/SIGTERM without re-raising the signal.

    uvicorn re-raises a captured signal after shutdown, which would turn a clean stop into
    death by signal; the sandbox promises exit status 0 and a closed database instead.

    Attributes:
        ready_line: printed to stdout once the socket accepts connections.
    """

    def __init__(self, config: uvicorn.Config, ready_line: str) -> None:
        super().__init__(config)
        self.ready_line = ready_line

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print(self.ready_line, flush=True)  # noqa: T201 - the CLI's contract: one line

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(sig: int, frame: FrameType | None) -> None:
            self.should_exit = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on sockets that say they are
    # TCP, and without it small responses wait ~40 ms on delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except (OSError, OverflowError, UnicodeError) as exc:
        sock.close()
        fail(f"Cannot listen on {host}:{port}: {_bind_advice(exc)}")
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


_HOST_ADVICE = ("Use --host with an address of this machine: 127.0.0.1 (the default, "
                "loopback only), ::1, or 0.0.0.0 for every interface.")


def _bind_advice(exc: Exception) -> str:
    """What went wrong binding, and the option that fixes it."""
    if isinstance(exc, socket.gaierror | UnicodeError):
        return f"--host is not an IP address or a known host name. {_HOST_ADVICE}"
    code = exc.errno if isinstance(exc, OSError) else None
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    if code == errno.EADDRINUSE:
        return (f"{reason}. Pick another port with --port, or --port 0 for any free one.")
    if code == errno.EACCES:
        return (f"{reason}: ports below 1024 need privileges. Pick a port from 1024 on with "
                "--port, or --port 0 for any free one.")
    if code == errno.EADDRNOTAVAIL:
        return f"{reason}: this machine has no such address. {_HOST_ADVICE}"
    return f"{reason}."


def open_store(db: str | None, size: str, seed: int) -> tuple[Store, str]:
    """The store to serve and a line saying what it holds; an unusable ``--db`` stops the CLI
    with one line naming the file (``dbfile.py``)."""
    try:
        return dbfile.open_store(db, size, seed)
    except dbfile.UnusableDatabase as exc:
        fail(str(exc))


def run(argv: Sequence[str] | None = None) -> int:
    """The CLI: check every argument, bind, open (or generate) the data, serve until stopped.

    stdout gets one line once the socket accepts connections (``Sandbox listening on URL
    token TOKEN``); stderr gets a ``Sandbox: …`` line about the data, and any error as one
    line (exit status 2).
    """
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    sock = _bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    base_url = f"http://{shown}:{port}"
    try:
        store, how = open_store(args.db, args.size, args.seed)
    except BaseException as exc:
        sock.close()
        if isinstance(exc, KeyboardInterrupt):
            # Ctrl-C during a long generation: one line, not a traceback; 130 = 128 + SIGINT.
            message = f"{PROG}: interrupted before serving, while the demo data was generated"
            print(message, file=sys.stderr, flush=True)  # noqa: T201
            raise SystemExit(130) from None
        raise
    print(f"Sandbox: {how}", file=sys.stderr, flush=True)  # noqa: T201 - stderr: progress
    app = create_app(store, token=args.token, base_url=base_url, config=config)
    uvicorn_config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = _Server(uvicorn_config, f"Sandbox listening on {base_url} token {args.token}")
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        store.close()
        sock.close()
    return 0
