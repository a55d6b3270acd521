"""The ``pipedrive-explorer`` command line: the parser, its checks, the version.

A usage error is one line on stderr naming what was wrong, with exit status 2
(``pipedrive-explorer: error: …``); ``--help`` lists the options, the ``sandbox`` command
and what ``--demo`` passes on to the sandbox. ``check_args`` refuses contradictory options
and reads the token of ``--token-env`` before anything starts.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import metadata
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

if TYPE_CHECKING:  # imported when needed: --demo starts its sandbox before heavy imports
    from explorer.core.accounts import Account, AccountKind

PROG = "pipedrive-explorer"
SMOKE_TIMEOUT_S = 30.0


def version() -> str:
    """The installed package's version (``pyproject.toml``)."""
    try:
        return metadata.version("pipedrive-explorer")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree, not installed
        return "0+unknown"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr naming the problem, exit status 2."""

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (see --help)")


def fail(message: str) -> NoReturn:
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)  # noqa: T201
    raise SystemExit(2)


_EPILOG = """\
commands:
  sandbox     run the local Pipedrive-compatible sandbox server with demo data
              (pipedrive-explorer sandbox --help lists its options)

--demo passes --demo-size (as --size) and --demo-db (as --db) on to the sandbox; it
listens on 127.0.0.1 on a free port with the demo token and Pipedrive's default limits.

Without options the last account opens, or the account manager when there is none.
Tokens are kept in the system keychain, never in a file.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG,
        usage=f"{PROG} [options]\n       {PROG} sandbox [sandbox options]",
        description="Browse, search and safely bulk-edit a Pipedrive account.")
    parser.add_argument("--version", action="version", version=f"{PROG} {version()}")
    demo = parser.add_argument_group("demo")
    demo.add_argument("--demo", action="store_true",
                      help="open the built-in sandbox with demo data (no account needed)")
    demo.add_argument("--demo-size", choices=("small", "medium", "large"), default="small",
                      help="demo data size when the database is new (default: small)")
    demo.add_argument("--demo-db", metavar="PATH",
                      help="keep the demo data (and your edits) in this sqlite file between "
                      "runs (default: in memory, fresh each run)")
    account = parser.add_argument_group("an account without storing it")
    where = account.add_mutually_exclusive_group()
    where.add_argument("--company", metavar="DOMAIN",
                       help="the Pipedrive company domain (acme for acme.pipedrive.com)")
    where.add_argument("--url", metavar="URL",
                       help="the API origin of a Pipedrive-compatible server")
    account.add_argument("--token-env", metavar="VAR",
                         help="environment variable holding the API token")
    checks = parser.add_argument_group("checks")
    checks.add_argument("--smoke", action="store_true",
                        help="load the first rows, print the time they took and exit "
                        f"(exit status 1 if none arrive within {SMOKE_TIMEOUT_S:g} s)")
    return parser


def check_args(ns: argparse.Namespace) -> str | None:
    """Refuse contradictory options; the token of ``--token-env`` (None without it)."""
    target = ns.company or ns.url
    if ns.demo and (target or ns.token_env):
        fail("--demo opens the built-in sandbox; leave out --company, --url and --token-env")
    if not ns.demo and (ns.demo_db or ns.demo_size != "small"):
        fail("--demo-size and --demo-db only apply with --demo")
    if target and not ns.token_env:
        fail(f"{'--company' if ns.company else '--url'} needs --token-env VAR, the "
             "environment variable holding the API token")
    if ns.token_env and not target:
        fail("--token-env needs --company DOMAIN or --url URL")
    if ns.smoke and not (ns.demo or target or _last_account_saved()):
        fail("--smoke needs an account to load: --demo, --company/--url with --token-env, "
             "or an account opened before")
    if not ns.token_env:
        return None
    token = os.environ.get(ns.token_env, "").strip()
    if not token:
        state = "is empty" if ns.token_env in os.environ else "is not set"
        fail(f"the environment variable {ns.token_env} (--token-env) {state}; set it to "
             "the API token (Pipedrive: Settings → Personal preferences → API)")
    return token


def _last_account_saved() -> bool:
    from explorer.core.settings import load_settings

    return load_settings().last_account_id is not None


def cli_account(company: str | None, url: str | None) -> Account:
    """The account ``--company`` or ``--url`` names (a bad one stops with one line)."""
    from explorer.core.accounts import Account
    from explorer.core.identity import parse_company

    try:
        base_url, domain = parse_company(company if company else url or "")
    except ValueError as exc:
        fail(f"{'--company' if company else '--url'}: {exc}")
    if url and "://" not in url:
        fail("--url needs an http:// or https:// address; use --company for a company domain")
    return Account(name=domain or urlsplit(base_url).netloc, base_url=base_url,
                   kind=kind_of(base_url), company_domain=domain)


def kind_of(base_url: str) -> AccountKind:
    """A loopback server is a sandbox; anything else is taken for a live company."""
    from explorer.api.loopback import LOOPBACK_HOSTS  # here: the CLI starts without httpx

    host = urlsplit(base_url).hostname or ""
    return "sandbox" if host in LOOPBACK_HOSTS else "live"


def check_display(smoke: bool) -> None:
    """Linux without a display: ``--smoke`` runs offscreen; anything else stops with one line
    (Qt would abort with a core dump instead)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    if smoke:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return
    fail("no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set); run "
         "it in a desktop session, or set QT_QPA_PLATFORM=offscreen for a headless run")
