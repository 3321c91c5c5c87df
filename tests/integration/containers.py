"""Kafka, a MongoDB-protocol server and Redis as throwaway containers, through testcontainers.

Used by the ``servers`` fixture when no ``*_URL`` variable names a server but a Docker-API
engine answers (Docker, or podman's service as ``./dev test`` runs it). The images are settings:
``CHAT_TEST_KAFKA_IMAGE``, ``CHAT_TEST_MONGO_IMAGE``, ``CHAT_TEST_REDIS_IMAGE``, by default the
ones ``./dev test`` builds here; the upstream ``apache/kafka``, ``mongo`` and ``redis`` images
work with the same code where a registry is reachable.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from testcontainers.core.container import DockerContainer
from testcontainers.core.docker_client import DockerClient

from infra.containers.images import IMAGE_SETTINGS, image_names
from infra.containers.podman import RUN_LABEL
from infra.paths import free_port
from tests.integration.servers import probe_kafka, probe_mongo, probe_redis

KAFKA_PORT = 9092
MONGO_PORT = 27017
REDIS_PORT = 6379
Probe = Callable[[str], Awaitable[None]]


class EngineMissing(RuntimeError):
    """No Docker-API engine answered; the message says what was tried."""


def images(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The image for each server: its setting if set, else the one ``./dev test`` builds."""
    built = image_names()
    return {role: environ.get(variable) or built[role] for role, variable in IMAGE_SETTINGS.items()}


def docker_client() -> DockerClient:
    """A client of the engine testcontainers would use (DOCKER_HOST, its config, the default
    socket), checked with a ping; EngineMissing when none answers."""
    try:
        client = DockerClient(timeout=10)
        client.client.ping()
    except Exception as exc:  # noqa: BLE001 - docker-py raises many kinds for 'no engine'
        where = os.environ.get("DOCKER_HOST") or "the default Docker socket"
        raise EngineMissing(f"no Docker-API engine answered at {where}: {exc}") from exc
    return client


def host_address(client: DockerClient) -> str:
    """Where the containers' published ports are reached. 'localhost' becomes 127.0.0.1, which
    podman and Docker publish on, so nothing tries ::1 first."""
    host = client.host()
    return "127.0.0.1" if host in ("localhost", "::1") else host


def kafka_environment(advertised_host: str, host_port: int) -> dict[str, str]:
    """A single-node KRaft broker in the apache/kafka image's convention (our image reads it too).

    Clients get ``advertised_host:host_port``, which is published to the broker's port 9092;
    a second listener on localhost inside the container serves the broker's own inter-broker
    connections (transaction markers), which the published address might not reach from inside.
    """
    return {
        "CLUSTER_ID": uuid.uuid4().hex[:22],
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_LISTENERS": f"PLAINTEXT://:{KAFKA_PORT},BROKER://localhost:9094,CONTROLLER://:9093",
        "KAFKA_ADVERTISED_LISTENERS": (
            f"PLAINTEXT://{advertised_host}:{host_port},BROKER://localhost:9094"
        ),
        "KAFKA_INTER_BROKER_LISTENER_NAME": "BROKER",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": (
            "PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT"
        ),
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
        "KAFKA_NUM_PARTITIONS": "8",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "true",
    }


@dataclass
class ServerContainers:
    """The session's containers; ``stop`` removes them all at once (podman notices each exit
    ~20 s late, so one after another would cost a minute)."""

    containers: list[DockerContainer] = field(default_factory=list)

    def stop(self) -> None:
        with ThreadPoolExecutor(max_workers=max(1, len(self.containers))) as pool:
            for result in pool.map(_remove, self.containers):
                del result


def _remove(container: DockerContainer) -> None:
    try:
        container.stop()
    except Exception:  # noqa: BLE001 - already gone is fine; the runner sweeps leftovers
        pass


def _start(container: DockerContainer, image: str) -> DockerContainer:
    try:
        container.get_docker_client().client.images.get(image)
    except Exception as exc:  # noqa: BLE001
        raise EngineMissing(
            f"image {image} is not in the engine: `./dev test` builds the default images; "
            f"or set {', '.join(IMAGE_SETTINGS.values())} to images the engine has or can pull "
            f"(apache/kafka:4.1.1, mongo:8.0, redis:7.4) [{exc}]"
        ) from exc
    return container.start()


def _labelled(image: str) -> DockerContainer:
    run = os.environ.get("CHAT_TEST_RUN_ID") or uuid.uuid4().hex
    return DockerContainer(image).with_kwargs(labels={RUN_LABEL: run})


def start_kafka(image: str, client: DockerClient) -> tuple[DockerContainer, str]:
    """Kafka on a host port chosen here, because the broker must advertise it before it starts."""
    host = host_address(client)
    for attempt in range(3):
        port = free_port()
        container = _labelled(image).with_bind_ports(KAFKA_PORT, port)
        for name, value in kafka_environment(host, port).items():
            container.with_env(name, value)
        try:
            return _start(container, image), f"{host}:{port}"
        except EngineMissing:
            raise
        except Exception:
            _remove(container)  # most likely the port was taken meanwhile: try another
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def start_mongo(image: str, client: DockerClient) -> tuple[DockerContainer, str]:
    container = _start(_labelled(image).with_exposed_ports(MONGO_PORT), image)
    host = host_address(client)
    return container, f"mongodb://{host}:{container.get_exposed_port(MONGO_PORT)}/"


def start_redis(image: str, client: DockerClient) -> tuple[DockerContainer, str]:
    container = _start(_labelled(image).with_exposed_ports(REDIS_PORT), image)
    host = host_address(client)
    return container, f"redis://{host}:{container.get_exposed_port(REDIS_PORT)}/0"


async def wait_serving(
    name: str, container: DockerContainer, url: str, probe: Probe, seconds: float
) -> None:
    """Poll ``probe(url)`` until it passes; fail early, with the container's log, if it exits."""
    deadline = asyncio.get_running_loop().time() + seconds
    last: Exception | None = None
    while asyncio.get_running_loop().time() < deadline:
        try:
            await asyncio.wait_for(probe(url), timeout=10)
            return
        except Exception as exc:  # noqa: BLE001 - 'not yet' until the deadline
            last = exc
        status = await asyncio.to_thread(_current_status, container)
        if status in ("exited", "dead"):
            raise EngineMissing(f"the {name} container exited:\n{_log_tail(container)}")
        await asyncio.sleep(0.5)
    raise EngineMissing(
        f"the {name} container did not serve at {url} within {seconds:.0f}s ({last!r}):\n"
        f"{_log_tail(container)}"
    )


def _current_status(container: DockerContainer) -> str:
    container.reload()
    return container.status


def _log_tail(container: DockerContainer, lines: int = 30) -> str:
    try:
        stdout, stderr = container.get_logs()
    except Exception as exc:  # noqa: BLE001
        return f"(no logs: {exc})"
    text = (stdout + stderr).decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


Starter = Callable[[str, DockerClient], tuple[DockerContainer, str]]
ROLES: dict[str, tuple[str, Starter, Probe, float]] = {
    # role: (name in messages, start, readiness probe, seconds to become ready)
    "kafka": ("Kafka", start_kafka, probe_kafka, 120.0),
    "mongodb": ("MongoDB-protocol", start_mongo, probe_mongo, 60.0),
    "redis": ("Redis", start_redis, probe_redis, 30.0),
}


async def start_containers(roles: Iterable[str]) -> tuple[dict[str, str], ServerContainers]:
    """Start a container for each role, side by side, and wait until each serves.

    Returns each role's URL and the containers, for the caller to ``stop``; on any failure the
    ones already started are removed before the error propagates.
    """
    client = await asyncio.to_thread(docker_client)
    chosen = images()
    wanted = list(roles)
    started = ServerContainers()
    try:
        results = await asyncio.gather(
            *(asyncio.to_thread(ROLES[role][1], chosen[role], client) for role in wanted),
            return_exceptions=True,
        )
        urls: dict[str, str] = {}
        for role, result in zip(wanted, results, strict=True):
            if not isinstance(result, BaseException):
                started.containers.append(result[0])
                urls[role] = result[1]
        for result in results:
            if isinstance(result, BaseException):
                raise result
        await asyncio.gather(
            *(
                wait_serving(ROLES[role][0], container, urls[role], ROLES[role][2], ROLES[role][3])
                for role, container in zip(wanted, started.containers, strict=True)
            )
        )
    except BaseException:
        await asyncio.to_thread(started.stop)
        raise
    return urls, started
