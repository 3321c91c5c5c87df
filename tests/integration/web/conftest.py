"""The stack the browser tests drive, and the browser.

One stack per session on the real servers of the ``servers`` fixture: an agents worker, an
auth service, the search service and two gateway nodes serving the page, each on a port
chosen up front, so auth
can allow the nodes' origins (the page calls auth from the gateway's origin: CORS) and the
gateways can tell the page where auth is. A node can be stopped and started again on its
port, as in a restart. Access tokens live 10 seconds, so every test also runs through the
page's token refreshes.

The browser is Debian's Chromium (``/usr/bin/chromium``, installed by ``./dev``), driven by
Playwright; each person is a fresh browser context (own storage, like a private window).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import (
    Browser,
    BrowserContext,
    Dialog,
    Page,
    Playwright,
    async_playwright,
)
from pydantic import SecretStr

from auth.app import create_app as create_auth_app
from auth.settings import Settings as AuthSettings
from gateway.app import create_app as create_gateway_app
from gateway.settings import Settings as GatewaySettings
from gateway.web import SOCKET_IO_DIST
from infra.paths import free_port
from infra.services import start_agents_worker
from search.app import create_app as create_search_app
from search.settings import Settings as SearchSettings
from tests.integration.servers import Servers

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ACCESS_TOKEN_TTL = 10
"""Seconds; short, so the page refreshes its token several times during a test."""


class Node:
    """One gateway node on a fixed port, that can be stopped and started again."""

    def __init__(self, settings: GatewaySettings, port: int) -> None:
        self.settings = settings
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        # Open websockets get two seconds to close on stop (aiohttp waits 60 by default; the
        # gateway closes its sockets only in its cleanup, after that wait).
        runner = web.AppRunner(create_gateway_app(self.settings), shutdown_timeout=2)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self.runner = runner

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


class Stack:
    def __init__(self, auth_url: str, nodes: list[Node]) -> None:
        self.auth_url = auth_url
        self.nodes = nodes

    @property
    def url(self) -> str:
        """The first node, where the page is opened unless a test says otherwise."""
        return self.nodes[0].url


@pytest.fixture(scope="session")
def client_installed() -> None:
    """The page needs the npm packages, the tests need Chromium: fail, naming what is missing."""
    if not (SOCKET_IO_DIST / "socket.io.esm.min.js").is_file():
        pytest.fail(f"{SOCKET_IO_DIST} is missing: run ./dev (it runs `npm ci` in web/)")
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run ./dev (it installs Debian's chromium)")


@pytest.fixture(scope="session")
async def stack(
    servers: Servers, tmp_path_factory: pytest.TempPathFactory, client_installed: None
) -> AsyncIterator[Stack]:
    run_id = uuid.uuid4().hex[:10]
    secret = SecretStr(secrets.token_urlsafe(48))
    auth_port, node_ports = free_port(), [free_port(), free_port()]
    search_port = free_port()
    auth_url = f"http://127.0.0.1:{auth_port}"
    gateway = GatewaySettings(
        kafka_url=servers.kafka_url,
        mongodb_uri=servers.mongodb_uri,
        redis_url=servers.redis_url,
        mongodb_database=f"web_{run_id}",
        topic_prefix=f"web-{run_id}.",
        jwt_secret=secret,
        socketio_channel=f"socketio-{run_id}",
        auth_service_url=auth_url,
        search_url=f"http://127.0.0.1:{search_port}",
        typing_interval=0.5,
        admission_lag=0,  # the nodes share the test's event loop: its lag is not theirs
    )
    auth = AuthSettings(
        mongodb_uri=servers.mongodb_uri,
        mongodb_database=gateway.mongodb_database,
        jwt_secret=secret,
        jwt_issuer=gateway.jwt_issuer,
        jwt_audience=gateway.jwt_audience,
        cors_origins=[f"http://127.0.0.1:{port}" for port in node_ports],
        access_token_ttl=ACCESS_TOKEN_TTL,
        # Cheap hashes: the tests register many people; production keeps argon2's defaults.
        argon2_time_cost=1,
        argon2_memory_cost=1024,
        argon2_parallelism=1,
    )
    env = {
        **os.environ,
        "KAFKA_URL": gateway.kafka_url,
        "MONGODB_URI": gateway.mongodb_uri,
        "MONGODB_DATABASE": gateway.mongodb_database,
        "TOPIC_PREFIX": gateway.topic_prefix,
        "AGENTS_APP_ID": f"web-agents-{run_id}",
    }
    log_path = tmp_path_factory.mktemp("web-agents") / "agents.log"
    worker = await asyncio.to_thread(start_agents_worker, env, log_path)
    auth_runner = web.AppRunner(create_auth_app(auth))
    search = SearchSettings(
        kafka_url=gateway.kafka_url,
        topic_prefix=gateway.topic_prefix,
        data_dir=tmp_path_factory.mktemp("web-search"),
    )
    search_runner = web.AppRunner(create_search_app(search))
    nodes = [Node(gateway, port) for port in node_ports]
    try:
        await auth_runner.setup()
        await web.TCPSite(auth_runner, "127.0.0.1", auth_port).start()
        for node in nodes:
            await node.start()
        await search_runner.setup()
        await web.TCPSite(search_runner, "127.0.0.1", search_port).start()
        yield Stack(auth_url, nodes)
    finally:
        for node in nodes:
            await node.stop()
        await search_runner.cleanup()
        await auth_runner.cleanup()
        await asyncio.to_thread(worker.stop)


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
async def browser(playwright: Playwright, client_installed: None) -> AsyncIterator[Browser]:
    chromium = await playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
    )
    yield chromium
    await chromium.close()


class People:
    """Opens browser contexts, one per person, and closes them after the test."""

    def __init__(self, browser: Browser, stack: Stack) -> None:
        self.browser = browser
        self.stack = stack
        self.contexts: list[BrowserContext] = []
        self.problems: list[str] = []

    async def open(self, *, width: int = 1280, height: int = 800, node: int = 0) -> Page:
        context = await self.browser.new_context(viewport={"width": width, "height": height})
        self.contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(20_000)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("dialog", self._dialog)
        await page.goto(self.stack.nodes[node].url)
        return page

    async def _dialog(self, dialog: Dialog) -> None:
        """The page never opens dialogs; one that opens is a failure (an injected alert?)."""
        self.problems.append(f"dialog: {dialog.message}")
        await dialog.dismiss()

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest.fixture
async def people(browser: Browser, stack: Stack) -> AsyncIterator[People]:
    crowd = People(browser, stack)
    yield crowd
    await crowd.close()
    assert not crowd.problems, crowd.problems


def unique(name: str) -> str:
    """A username no other test or run has: ``ann_3f9c1a``."""
    return f"{name}_{secrets.token_hex(3)}"
