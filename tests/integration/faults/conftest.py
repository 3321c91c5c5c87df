"""The real services as child processes, so a test can SIGKILL one and start it again.

Two agent workers and two gateway nodes run the way they are deployed (``faust ... worker``,
``python -m gateway``), each in its own process group: a kill takes the whole process at
once, with no shutdown and no final commit. Tokens are signed here with the gateways' JWT key;
the auth service runs only as the directory that finds the people of direct conversations
(never killed: the faults under test are the message path's). Everything is named after a
fresh run id (database, topics, consumer groups, Socket.IO channel), so the suite never sees
another test's data.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from infra.paths import free_port
from infra.processes import ManagedProcess
from infra.services import agents_worker, auth_service, gateway_service
from infra.stack import InfraPorts, start_infra
from records.settings import JwtSettings
from records.tokens import issue_token
from tests.integration.servers import VARIABLES, Servers

SERVER_VARIABLES = set(VARIABLES.values())
LIMITLESS = "1000000"
"""Send rate and burst for the gateways: the suite tests recovery, not the rate limit."""


@dataclass
class Cluster:
    """Two agent workers, two gateway nodes, and the key that signs their clients' tokens."""

    run_id: str
    env: dict[str, str]
    """What every service was started with (servers, names, JWT key)."""
    workers: list[ManagedProcess]
    gateways: list[ManagedProcess]
    auth: ManagedProcess
    urls: list[str]
    """Base URL of each gateway node, by index; a restarted node keeps its port."""
    jwt: JwtSettings
    log_dir: Path
    auth_url: str = ""
    """The run's auth service: people a direct conversation names must be registered."""
    servers: dict[str, ManagedProcess] = field(default_factory=dict)
    """Kafka, FerretDB and Redis by name, when the cluster has servers of its own."""
    user_ids: dict[str, str] = field(default_factory=dict)
    """Username → the id auth gave them (``register``); others get ``user-<name>``."""

    def user_id(self, username: str) -> str:
        return self.user_ids.get(username, f"user-{username}")

    async def register(self, username: str) -> str:
        """Register ``username`` with auth (so the gateway's directory finds them); their
        tokens then carry the id auth gave them."""
        body = {"username": username, "password": secrets.token_urlsafe(16)}
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{self.auth_url}/register", json=body) as response:
                assert response.status == 201, await response.text()
                self.user_ids[username] = str((await response.json())["user_id"])
        return self.user_ids[username]

    def token(self, username: str) -> str:
        token, _ = issue_token(
            self.jwt,
            user_id=self.user_id(username),
            username=username,
            token_type="access",
            ttl=timedelta(hours=1),  # never expires during the test: no session_expired
        )
        return token

    async def kill(self, process: ManagedProcess) -> None:
        """SIGKILL the process group: no shutdown handler, no commit, no goodbye."""
        assert process.pid is not None, f"{process.name} is not running"
        os.killpg(process.pid, signal.SIGKILL)
        await process.astop()  # reaps it; the group is already gone

    async def restart(self, process: ManagedProcess) -> None:
        """Start it again with the same command, env and port; return once it is ready."""
        await process.astart()

    async def stop(self) -> None:
        """Gateways first (their clients are gone), then the workers, then auth."""
        for group in (self.gateways, self.workers, [self.auth]):
            await asyncio.gather(*(process.astop() for process in group))


def service_env(servers: Servers, run_id: str, jwt_secret: str) -> dict[str, str]:
    """What every service of the run reads: the servers and the run's own names."""
    return {
        **os.environ,
        "KAFKA_URL": servers.kafka_url,
        "MONGODB_URI": servers.mongodb_uri,
        "MONGODB_DATABASE": f"faults_{run_id}",
        "REDIS_URL": servers.redis_url,
        "TOPIC_PREFIX": f"faults-{run_id}.",
        "JWT_SECRET": jwt_secret,
        "AGENTS_APP_ID": f"chat-agents-faults-{run_id}",
        "AGENTS_SESSION_TIMEOUT": "6",
        "TOPIC_PARTITIONS": "4",  # both workers own partitions, and they move on a kill
        "GATEWAY_SOCKETIO_CHANNEL": f"socketio-faults-{run_id}",
        "SEND_RATE": LIMITLESS,
        "SEND_BURST": LIMITLESS,
        "PYTHONUNBUFFERED": "1",
    }


@asynccontextmanager
async def running_cluster(servers: Servers, log_dir: Path) -> AsyncIterator[Cluster]:
    """Two workers and two gateway nodes on ``servers``, stopped on exit."""
    run_id = uuid.uuid4().hex[:10]
    jwt_secret = secrets.token_urlsafe(48)
    env = service_env(servers, run_id, jwt_secret)
    workers = [
        agents_worker(
            log_dir / f"worker-{n}.log",
            # Static membership: a restarted worker takes its partitions back at once.
            env={**env, "AGENTS_INSTANCE_ID": f"worker-{n}"},
            datadir=log_dir / f"worker-{n}-data",
        )
        for n in (1, 2)
    ]
    ports, auth_port = [free_port(), free_port()], free_port()
    auth_url = f"http://127.0.0.1:{auth_port}"
    auth = auth_service(log_dir / "auth.log", port=auth_port, env=env)
    gateways = [
        gateway_service(log_dir / f"gateway-{n}.log", port=port, auth_url=auth_url, env=env)
        for n, port in enumerate(ports, start=1)
    ]
    cluster = Cluster(
        run_id=run_id,
        env=env,
        workers=workers,
        gateways=gateways,
        auth=auth,
        urls=[f"http://127.0.0.1:{port}" for port in ports],
        jwt=JwtSettings(jwt_secret=SecretStr(jwt_secret)),
        log_dir=log_dir,
        auth_url=auth_url,
    )
    print(f"\n[faults] run {run_id}; service logs in {log_dir}")
    try:
        # Gateways first: the first one creates the topics, so the two workers do not race
        # each other to create them (the fault under test is a kill, not a cold start).
        await gateways[0].astart()
        starts = [gateways[1].astart(), auth.astart(), *(worker.astart() for worker in workers)]
        await asyncio.gather(*starts)
        yield cluster
    finally:
        await cluster.stop()


@pytest.fixture
async def cluster(
    servers: Servers, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    """The services on the session's servers."""
    async with running_cluster(servers, tmp_path_factory.mktemp("faults")) as cluster:
        yield cluster


@pytest.fixture
async def cluster_on_own_servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Cluster]:
    """The services on a Kafka broker, FerretDB and Redis of their own, started as processes
    (as ``./dev up`` starts them), so the test can kill and restart the servers too."""
    async with own_servers(tmp_path_factory.mktemp("faults-servers"), brokers=1) as cluster:
        yield cluster


@pytest.fixture
async def cluster_on_three_brokers(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Cluster]:
    """The services on a Kafka cluster of three (as ``./dev up --brokers 3`` starts it),
    FerretDB and Redis of their own, so the test can kill and restart the brokers."""
    async with own_servers(tmp_path_factory.mktemp("faults-brokers"), brokers=3) as cluster:
        yield cluster


@asynccontextmanager
async def own_servers(base: Path, brokers: int) -> AsyncIterator[Cluster]:
    """Servers of the test's own as processes (``brokers`` Kafka nodes), the services on
    them, all stopped on exit."""
    environ = {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES}
    ports = InfraPorts.free(brokers=brokers)
    infra = await asyncio.to_thread(start_infra, base / "data", base / "logs", ports, environ)
    try:
        servers = Servers(infra.env["KAFKA_URL"], infra.env["MONGODB_URI"], infra.env["REDIS_URL"])
        async with running_cluster(servers, base) as cluster:
            cluster.servers = {process.name: process for process in infra.processes}
            yield cluster
    finally:
        await asyncio.to_thread(infra.stop)
