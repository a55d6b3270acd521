"""Serve the sandbox over HTTP with uvicorn: ``pipedrive-explorer sandbox [options]``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
import threading
import time
from collections.abc import Generator, Sequence
from types import FrameType

import uvicorn

from explorer.sandbox.app import DEFAULT_TOKEN, create_app
from explorer.sandbox.config import (
    PLANS,
    SEARCH_HEADER_MODES,
    FaultConfig,
    LimitConfig,
    OAuthConfig,
    SandboxConfig,
    parse_fault,
    server_zone,
)
from explorer.sandbox.demo import generate
from explorer.sandbox.store import Store

SIZES = ("small", "medium", "large")


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(
        prog="pipedrive-explorer sandbox",
        description="Run the local Pipedrive-compatible sandbox server with demo data.",
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default: 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=int, default=8765,
                        help="port to listen on; 0 picks a free one (default: 8765)")
    parser.add_argument("--db", metavar="PATH",
                        help="sqlite file to keep the data in across restarts (default: memory)")
    parser.add_argument("--size", choices=SIZES, default="small",
                        help="demo data size when the database is new (default: small)")
    parser.add_argument("--seed", type=int, default=1,
                        help="demo data seed; the same seed gives the same data (default: 1)")
    parser.add_argument("--token", default=DEFAULT_TOKEN,
                        help="API token clients must send (default: the demo token)")
    limits = parser.add_argument_group("Pipedrive's limits")
    limits.add_argument("--plan", choices=PLANS, default="growth",
                        help="company plan: burst window and budget multiplier (default: growth)")
    limits.add_argument("--auth-kind", choices=("token", "oauth"), default="token",
                        help="which burst numbers apply to the API token (default: token)")
    limits.add_argument("--seats", type=int, default=1, help="paid seats (default: 1)")
    limits.add_argument("--budget", type=int,
                        help="daily token budget (default: 30,000 × plan multiplier × seats)")
    limits.add_argument("--top-up", type=int, default=0, help="purchased extra daily tokens")
    limits.add_argument("--no-limits", action="store_true",
                        help="count nothing and never answer 429 (data loading, benchmarks)")
    limits.add_argument("--retry-after", action="store_true",
                        help="send Retry-After on 429 responses (Pipedrive does not document it)")
    limits.add_argument("--block-after", type=int, default=20,
                        help="requests within a window after a 429 before a 403 block")
    limits.add_argument("--block-seconds", type=float, default=60.0,
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
    variants.add_argument("--no-daily-headers", dest="daily_headers", action="store_false",
                          help="no x-daily-ratelimit-token-limit/-remaining on any answer")
    oauth = parser.add_argument_group("OAuth emulation")
    oauth.add_argument("--oauth-client-id", default=OAuthConfig.client_id)
    oauth.add_argument("--oauth-client-secret", default=OAuthConfig.client_secret)
    oauth.add_argument("--oauth-token-ttl", type=int, default=OAuthConfig.access_token_ttl,
                       help="access token lifetime in seconds (default: 3599)")
    oauth.add_argument("--oauth-auto-approve", action="store_true",
                       help="/oauth/authorize redirects at once instead of showing the page")
    faults = parser.add_argument_group("fault injection")
    faults.add_argument("--fault", action="append", default=[], metavar="KIND[:OPTS]",
                        help="inject a fault, e.g. error_503:probability=0.1 or "
                        "lost:count=1,method=PATCH,path=/api/v2/deals/* (repeatable)")
    faults.add_argument("--fault-seed", type=int, default=0,
                        help="seed of the fault draws (default: 0)")
    return parser


def _zone(text: str) -> str:
    try:
        server_zone(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    try:
        rules = tuple(parse_fault(text) for text in args.fault)
    except ValueError as exc:
        raise SystemExit(f"--fault: {exc}") from None
    return SandboxConfig(
        limits=LimitConfig(
            enabled=not args.no_limits, plan=args.plan, auth_kind=args.auth_kind,
            seats=args.seats, budget=args.budget, top_up=args.top_up,
            retry_after=args.retry_after, block_after=args.block_after,
            block_seconds=args.block_seconds, success_headers=args.success_headers,
            search_headers=args.search_headers, daily_headers=args.daily_headers,
            server_timezone=args.server_timezone,
        ),
        oauth=OAuthConfig(
            client_id=args.oauth_client_id, client_secret=args.oauth_client_secret,
            access_token_ttl=args.oauth_token_ttl, auto_approve=args.oauth_auto_approve,
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
    except OSError as exc:
        sock.close()
        raise SystemExit(
            f"Cannot listen on {host}:{port}: {exc.strerror}. "
            "Pick another port with --port, or --port 0 for any free one."
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def open_store(db: str | None, size: str, seed: int) -> tuple[Store, str]:
    """The store to serve, seeded with demo data if new; also a line saying what it holds."""
    store = Store(db)
    if store.is_empty():
        started = time.perf_counter()
        generate(store, size=size, seed=seed)
        took = time.perf_counter() - started
        return store, f"generated {size} demo data (seed {seed}) in {took:.1f} s"
    return store, (f"using existing data in {db} "
                   f"({store.get_meta('size')}, seed {store.get_meta('seed')})")


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    sock = _bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    base_url = f"http://{shown}:{port}"
    store, how = open_store(args.db, args.size, args.seed)
    print(f"Sandbox: {how}", file=sys.stderr, flush=True)  # noqa: T201
    app = create_app(store, token=args.token, base_url=base_url, config=config)
    uvicorn_config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = _Server(uvicorn_config, f"Sandbox listening on {base_url} token {args.token}")
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        store.close()
        sock.close()
    return 0
