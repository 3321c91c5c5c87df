"""``python -m search``: read the settings from the environment and serve;
``python -m search rebuild``: drop the index and build it again from the event log."""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiohttp import web

from records.operations import configure_logging
from search.app import create_app
from search.rebuild import rebuild
from search.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m search")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("rebuild", help="drop the index and rebuild it from the log (stopped)")
    args = parser.parse_args(argv)
    configure_logging()
    settings = Settings()  # type: ignore[call-arg]  # required values come from the environment
    if args.command == "rebuild":
        follower = asyncio.run(rebuild(settings))
        print(f"rebuilt from {follower.applied} facts ({follower.unreadable} unreadable, skipped)")
        return 0
    web.run_app(create_app(settings), host=settings.host, port=settings.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
