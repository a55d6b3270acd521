"""Composition root and the ``pipedrive-explorer`` entry point."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "sandbox":
        from explorer.sandbox.server import run

        return run(args[1:])
    parser = argparse.ArgumentParser(
        prog="pipedrive-explorer",
        description="Browse, search and safely bulk-edit a Pipedrive account. "
        "'pipedrive-explorer sandbox --help' shows the sandbox server's options.",
    )
    parser.add_argument("--demo", action="store_true",
                        help="run on the built-in sandbox with demo data (no account needed)")
    parsed, rest = parser.parse_known_args(args)
    if parsed.demo:
        # The main window arrives with a later release; until then --demo serves the sandbox
        # so the demo data can be explored with any HTTP client.
        from explorer.sandbox.server import run

        return run(rest)
    parser.print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
