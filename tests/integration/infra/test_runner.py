"""``./dev up`` heals: an agent worker and a gateway node killed under it come back and serve
again, on the test's own servers (``KAFKA_URL`` and the rest), beside any developer's stack."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
import socketio
from pydantic import SecretStr

from infra.paths import REPO_ROOT, free_port, venv_python
from records.settings import JwtSettings
from records.tokens import issue_token
from tests.integration.servers import Servers


class Runner:
    def __init__(self, process: subprocess.Popen[bytes], data: Path, ports: dict[str, int]):
        self.process, self.data, self.ports = process, data, ports

    @property
    def log(self) -> str:
        path = self.data / "logs" / "runner.log"
        return path.read_text() if path.is_file() else ""

    async def said(self, pattern: str, within: float = 120) -> re.Match[str]:
        async with asyncio.timeout(within):
            while (found := re.search(pattern, self.log)) is None:
                assert self.process.poll() is None, f"the runner exited:\n{self.log}"
                await asyncio.sleep(0.2)
        return found

    def pid_of(self, name: str) -> int:
        pids = re.findall(rf"{name} (?:ready|is back) \(pid (\d+)", self.log)
        return int(pids[-1])


@pytest.fixture
async def runner(servers: Servers, tmp_path: Path) -> AsyncIterator[Runner]:
    run = uuid.uuid4().hex[:8]
    ports = {"gateway": free_port(), "auth": free_port(), "agents": free_port(),
             "search": free_port()}  # fmt: skip
    jwt_secret = secrets.token_urlsafe(48)
    env = {
        **os.environ,
        "CHAT_DATA_DIR": str(tmp_path),
        "KAFKA_URL": servers.kafka_url,
        "MONGODB_URI": servers.mongodb_uri,
        "REDIS_URL": servers.redis_url,
        "JWT_SECRET": jwt_secret,
        "GATEWAY_PORT": str(ports["gateway"]),
        "AUTH_PORT": str(ports["auth"]),
        "AGENTS_WEB_PORT": str(ports["agents"]),
        "SEARCH_PORT": str(ports["search"]),
        "TOPIC_PREFIX": f"runner-{run}.",
        "MONGODB_DATABASE": f"runner_{run}",
        "AGENTS_APP_ID": f"runner-{run}",
        "GATEWAY_SOCKETIO_CHANNEL": f"runner-{run}",
    }
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, runs beside the test
        [venv_python(), "-m", "infra", "up"],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    runner = Runner(process, tmp_path, ports)
    runner.jwt_secret = jwt_secret  # type: ignore[attr-defined]
    try:
        await runner.said(r"agents ready \(pid")
        yield runner
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


async def status_of(url: str) -> int:
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            async with http.get(url) as response:
                return response.status
    except aiohttp.ClientError:
        return 0


async def until_ready(url: str, within: float = 90) -> None:
    async with asyncio.timeout(within):
        while await status_of(url) != 200:  # noqa: ASYNC110
            await asyncio.sleep(0.3)


async def test_a_killed_worker_and_a_killed_gateway_come_back_and_serve(runner: Runner) -> None:
    agents_url = f"http://127.0.0.1:{runner.ports['agents']}/readyz"
    gateway_url = f"http://127.0.0.1:{runner.ports['gateway']}"
    await until_ready(agents_url)

    os.kill(runner.pid_of("agents"), signal.SIGKILL)
    await runner.said(r"agents exited unexpectedly \(code -9\); restarting it in")
    await runner.said(r"agents is back \(pid \d+, restart 1\)")
    await until_ready(agents_url)

    os.kill(runner.pid_of("gateway"), signal.SIGKILL)
    await runner.said(r"gateway is back \(pid \d+, restart 1\)")
    await until_ready(f"{gateway_url}/readyz")
    # Serving: a socket connects and the whole path answers (the agents decide a group).
    settings = JwtSettings(jwt_secret=SecretStr(runner.jwt_secret))  # type: ignore[attr-defined]
    token, _ = issue_token(
        settings, user_id="u-heal", username="heal", token_type="access", ttl=timedelta(minutes=5)
    )
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(gateway_url, auth={"token": token}, transports=["websocket"])
    try:
        created = await sio.call("create_group", {"name": "after the crash"}, timeout=30)
        assert created["ok"] is True
    finally:
        await sio.disconnect()
