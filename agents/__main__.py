"""``python -m agents replay``: rebuild the MongoDB projections from the event log.

The worker itself runs with Faust's CLI: ``faust -A agents.app worker -l info``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from agents.replay import replay
from agents.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agents")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("replay", help="drop the projections and rebuild them from the log")
    parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    settings = Settings()  # type: ignore[call-arg]
    report = asyncio.run(replay(settings))
    print(f"replayed {report.facts} facts ({report.unreadable} unreadable, skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
