"""Apache Kafka as a single-node KRaft broker+controller, run from its Maven Central jars.

No tarball and no ZooKeeper: ``kafka.tools.StorageTool`` formats the log dir once (the broker
refuses unformatted storage) and ``kafka.Kafka`` runs the broker with a properties file that
this module writes from the chosen ports.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

from infra.checks import kafka_metadata
from infra.paths import CACHE_DIR
from infra.processes import ManagedProcess, tail
from infra.toolchain import ToolchainError, kafka_lib_dir

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


def server_properties(data_dir: Path, port: int, controller_port: int) -> str:
    """A single-node KRaft config: every internal topic at replication factor / min ISR 1."""
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={data_dir / 'logs'}",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            # Consumer groups (Faust workers, test consumers) form at once instead of after 3 s.
            "group.initial.rebalance.delay.ms=0",
            "num.partitions=8",
            "auto.create.topics.enable=true",
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


def format_storage(lib: Path, props: Path, data_dir: Path, log_path: Path) -> None:
    """Format the KRaft log dir with a fresh cluster id, only if it has no meta.properties yet."""
    if (data_dir / "logs" / "meta.properties").is_file():
        return
    cluster_id = new_cluster_id()
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
    lib = kafka_lib_dir(cache_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    props = data_dir / "server.properties"
    props.write_text(server_properties(data_dir, port, controller_port))
    format_storage(lib, props, data_dir, log_path)
    return ManagedProcess(
        "kafka",
        java_command(lib, "kafka.Kafka", str(props)),
        log_path=log_path,
        ready=kafka_metadata(f"127.0.0.1:{port}"),
        ready_timeout=ready_timeout,
        stop_timeout=30.0,
    )
