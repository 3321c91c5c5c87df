"""``python -m auth``: read the settings from the environment and serve."""

from __future__ import annotations

from aiohttp import web

from auth.app import create_app
from auth.settings import Settings
from records.operations import configure_logging


def main() -> None:
    configure_logging()
    settings = Settings()  # type: ignore[call-arg]  # required values come from the environment
    web.run_app(create_app(settings), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()
