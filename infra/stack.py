"""The three servers as one unit: start those the environment does not already point to.

A variable that is set (``KAFKA_URL``, ``MONGODB_URI``, ``REDIS_URL``) means 'use that server',
so a developer with their own Kafka or a real MongoDB just exports it and the runner leaves that
server alone.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from infra.ferretdb import ferretdb_process, mongodb_uri
from infra.kafka_broker import KafkaNode, kafka_cluster
from infra.paths import CACHE_DIR, free_port, port_in_use
from infra.processes import ManagedProcess, ProcessFailed
from infra.redis_server import redis_process, redis_url

Say = Callable[[str], None]


def say_stderr(message: str) -> None:
    print(f"[infra] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class InfraPorts:
    kafka: int = 9092
    kafka_controller: int = 9093
    mongodb: int = 27017
    redis: int = 6379
    more_kafka: tuple[tuple[int, int], ...] = ()
    """The (broker, controller) ports of the Kafka cluster's other nodes: none, one node."""

    @property
    def kafka_nodes(self) -> list[KafkaNode]:
        first = KafkaNode(1, self.kafka, self.kafka_controller)
        more = [KafkaNode(n, port, ctl) for n, (port, ctl) in enumerate(self.more_kafka, 2)]
        return [first, *more]

    @classmethod
    def from_env(cls, environ: Mapping[str, str], brokers: int = 1) -> InfraPorts:
        """Fixed ports for ``up``: the defaults, each overridable by ``*_PORT``; a cluster's
        next nodes on the two ports after the one before."""
        kafka = int(environ.get("KAFKA_PORT", cls.kafka))
        return cls(
            kafka=kafka,
            kafka_controller=int(environ.get("KAFKA_CONTROLLER_PORT", kafka + 1)),
            mongodb=int(environ.get("MONGODB_PORT", cls.mongodb)),
            redis=int(environ.get("REDIS_PORT", cls.redis)),
            more_kafka=tuple((kafka + 2 * n, kafka + 2 * n + 1) for n in range(1, brokers)),
        )

    @classmethod
    def free(cls, brokers: int = 1) -> InfraPorts:
        """Random free ports, so a test run never clashes with a running ``up``."""
        more = tuple((free_port(), free_port()) for _ in range(1, brokers))
        return cls(free_port(), free_port(), free_port(), free_port(), more)


@dataclass
class Infra:
    """Running servers and the variables that point services at them."""

    env: dict[str, str] = field(default_factory=dict)
    processes: list[ManagedProcess] = field(default_factory=list)

    def stop(self, say: Say = say_stderr) -> None:
        for process in reversed(self.processes):
            if process.is_running():
                say(f"stopping {process.name}")
            process.stop()

    def dead(self) -> ManagedProcess | None:
        return next((p for p in self.processes if not p.is_running()), None)


def _is_set(environ: Mapping[str, str], name: str) -> bool:
    return bool(environ.get(name, "").strip())


def _check_port(name: str, port: int, variable: str) -> None:
    if port_in_use(port):
        raise ProcessFailed(
            f"{name}: port {port} is already in use; stop what listens there, set "
            f"{variable} to use that server, or pick another port"
        )


def start_infra(
    data_dir: Path,
    log_dir: Path,
    ports: InfraPorts,
    environ: Mapping[str, str],
    *,
    cache_dir: Path = CACHE_DIR,
    say: Say = say_stderr,
) -> Infra:
    """Start Kafka, FerretDB and Redis (each unless its URL is set) and wait until all serve.

    The slow first-time steps (Maven resolve, Go build) run side by side; the servers then start
    together, so startup costs the slowest server rather than the sum.
    """
    infra = Infra()
    factories: dict[str, Callable[[], list[ManagedProcess]]] = {}
    if _is_set(environ, "KAFKA_URL"):
        infra.env["KAFKA_URL"] = environ["KAFKA_URL"]
    else:
        nodes = ports.kafka_nodes
        for node in nodes:
            _check_port("kafka", node.port, "KAFKA_URL or KAFKA_PORT")
            _check_port("kafka controller", node.controller_port, "KAFKA_CONTROLLER_PORT")
        infra.env["KAFKA_URL"] = ",".join(f"127.0.0.1:{node.port}" for node in nodes)
        # One node keeps the paths it always had; a cluster's nodes are kafka-1, kafka-2 …
        names = ["kafka"] if len(nodes) == 1 else [f"kafka-{n.node_id}" for n in nodes]
        places = [(data_dir / name, log_dir / f"{name}.log") for name in names]
        factories["kafka"] = lambda: kafka_cluster(places, nodes, cache_dir)
    if _is_set(environ, "MONGODB_URI"):
        infra.env["MONGODB_URI"] = environ["MONGODB_URI"]
    else:
        _check_port("ferretdb", ports.mongodb, "MONGODB_URI or MONGODB_PORT")
        infra.env["MONGODB_URI"] = mongodb_uri(ports.mongodb)
        factories["ferretdb"] = lambda: [
            ferretdb_process(
                data_dir / "ferretdb",
                log_dir / "ferretdb.log",
                port=ports.mongodb,
                cache_dir=cache_dir,
            )
        ]
    if _is_set(environ, "REDIS_URL"):
        infra.env["REDIS_URL"] = environ["REDIS_URL"]
    else:
        _check_port("redis", ports.redis, "REDIS_URL or REDIS_PORT")
        infra.env["REDIS_URL"] = redis_url(ports.redis)
        factories["redis"] = lambda: [
            redis_process(data_dir / "redis", log_dir / "redis.log", port=ports.redis)
        ]
    if not factories:
        return infra
    say(f"starting {', '.join(factories)}")
    try:
        with ThreadPoolExecutor(max_workers=len(factories)) as pool:
            futures = [pool.submit(factory) for factory in factories.values()]
            prepared = [process for future in futures for process in future.result()]
        for process in prepared:
            infra.processes.append(process.start())
        for process in infra.processes:
            process.wait_ready()
            say(f"{process.name} ready (pid {process.pid}, log {process.log_path})")
    except BaseException:
        infra.stop(say)
        raise
    return infra
