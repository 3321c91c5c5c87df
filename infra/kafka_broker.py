"""Apache Kafka in KRaft mode, run from its Maven Central jars: one broker+controller, or a
cluster of several, each node both a broker and a voter of the controller quorum.

No tarball and no ZooKeeper: ``kafka.tools.StorageTool`` formats each node's log dir once
(a broker refuses unformatted storage; the nodes of a cluster share one cluster id) and
``kafka.Kafka`` runs each node with a properties file this module writes from its ports.
A cluster of three or more keeps every internal topic (offsets, transaction state) at
replication 3 and ``min.insync.replicas`` 2, so one node can go without losing a write that
was acknowledged; a single node keeps them at 1.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from infra.checks import kafka_metadata
from infra.paths import CACHE_DIR
from infra.processes import ManagedProcess, tail
from infra.toolchain import ToolchainError, kafka_lib_dir
from records.kafka import replication_for

LOG4J_CONFIG = Path(__file__).resolve().parent / "kafka" / "log4j2.xml"
JVM_OPTS = [
    "-Xms256m",
    "-Xmx512m",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
    # C1 only: the broker shares a small machine with every other server here, and C2 kept
    # compiling its hot paths for minutes under load (a fifth to a half of a core, 90 s in).
    # Measured on 2 cores, 20 x 10 at 300 msg/s: p50 48 ms, p99 104-122 ms, against p50
    # 60-284 ms, p99 0.27-1.2 s with C2. A broker with cores of its own wants the default.
    "-XX:TieredStopAtLevel=1",
]


@dataclass(frozen=True)
class KafkaNode:
    """One node's place in the cluster: its id (1, 2 …) and ports."""

    node_id: int
    port: int
    controller_port: int


def server_properties(data_dir: Path, node: KafkaNode, cluster: list[KafkaNode]) -> str:
    """A KRaft config for ``node`` of ``cluster``: broker and controller both, every node a
    voter, the internal topics at the cluster's replication (``replication_for``)."""
    voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in cluster)
    replication, min_isr = replication_for(len(cluster))
    return "\n".join(
        [
            "process.roles=broker,controller",
            f"node.id={node.node_id}",
            f"controller.quorum.voters={voters}",
            f"listeners=PLAINTEXT://127.0.0.1:{node.port},"
            f"CONTROLLER://127.0.0.1:{node.controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{node.port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={data_dir / 'logs'}",
            f"offsets.topic.replication.factor={replication}",
            f"transaction.state.log.replication.factor={replication}",
            f"transaction.state.log.min.isr={min_isr}",
            f"share.coordinator.state.topic.replication.factor={replication}",
            f"share.coordinator.state.topic.min.isr={min_isr}",
            f"default.replication.factor={replication}",
            f"min.insync.replicas={min_isr}",
            # Consumer groups (Faust workers, test consumers) form at once instead of after 3 s.
            "group.initial.rebalance.delay.ms=0",
            "num.partitions=8",
            "auto.create.topics.enable=true",
            # A node that stops cleanly hands its partitions' leadership over first (SIGTERM
            # in a rolling restart); one that is killed is noticed when its broker session
            # lapses, and that bounds a failover: 3 s here (nodes on one machine), 9 s by
            # Kafka's default (across a network, where a pause must not cost leadership).
            "controlled.shutdown.enable=true",
            "broker.session.timeout.ms=3000",
            "broker.heartbeat.interval.ms=500",
            "",
        ]
    )


def java_command(lib: Path, main_class: str, *args: str) -> list[str]:
    return [
        "java",
        *JVM_OPTS,
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        "-cp",
        f"{lib}/*",
        main_class,
        *args,
    ]


def new_cluster_id() -> str:
    """What ``StorageTool random-uuid`` prints, without a JVM start: a URL-safe base64 UUID.

    Like Kafka's ``Uuid.randomUuid`` it never starts with '-', which the tool would read as a flag.
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def format_storage(
    lib: Path, props: Path, data_dir: Path, log_path: Path, cluster_id: str | None = None
) -> None:
    """Format the KRaft log dir (with ``cluster_id``, or a fresh one), only if it has no
    meta.properties yet."""
    if (data_dir / "logs" / "meta.properties").is_file():
        return
    cluster_id = cluster_id or new_cluster_id()
    argv = java_command(
        lib, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props)
    )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"\n=== {' '.join(argv)}\n".encode())
        log.flush()
        code = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    if code != 0:
        raise ToolchainError(f"Kafka storage format failed ({code}):\n{tail(log_path)}")


def kafka_process(
    data_dir: Path,
    log_path: Path,
    *,
    port: int = 9092,
    controller_port: int = 9093,
    cache_dir: Path = CACHE_DIR,
    ready_timeout: float = 90.0,
) -> ManagedProcess:
    """Prepare (resolve jars, write config, format) and return the broker, not yet started."""
    node = KafkaNode(1, port, controller_port)
    return kafka_cluster([(data_dir, log_path)], [node], cache_dir, ready_timeout)[0]


def kafka_cluster(
    places: list[tuple[Path, Path]],
    nodes: list[KafkaNode],
    cache_dir: Path = CACHE_DIR,
    ready_timeout: float = 90.0,
) -> list[ManagedProcess]:
    """Prepare the nodes of a cluster, each with its ``(data dir, log)``, none started: they
    must be started together (a node waits for a quorum of voters). One node is ``kafka``,
    the nodes of a cluster ``kafka-1``, ``kafka-2`` …"""
    lib = kafka_lib_dir(cache_dir)
    cluster_id = new_cluster_id()
    processes = []
    for (data_dir, log_path), node in zip(places, nodes, strict=True):
        data_dir.mkdir(parents=True, exist_ok=True)
        props = data_dir / "server.properties"
        props.write_text(server_properties(data_dir, node, nodes))
        format_storage(lib, props, data_dir, log_path, cluster_id)
        processes.append(
            ManagedProcess(
                "kafka" if len(nodes) == 1 else f"kafka-{node.node_id}",
                java_command(lib, "kafka.Kafka", str(props)),
                log_path=log_path,
                ready=kafka_metadata(f"127.0.0.1:{node.port}"),
                ready_timeout=ready_timeout,
                stop_timeout=30.0,
            )
        )
    return processes
