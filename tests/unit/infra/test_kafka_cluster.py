"""The Kafka the project starts: one node, or a cluster whose nodes are each a broker and a
controller voter, Kafka's own topics and the chat's replicated so a node may go down."""

from __future__ import annotations

from pathlib import Path

from infra.kafka_broker import KafkaNode, server_properties
from infra.stack import InfraPorts
from records.kafka import replication_for


def properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_a_cluster_of_three_replicates_everything_three_times_and_writes_to_two() -> None:
    nodes = [KafkaNode(n, 9000 + 2 * n, 9001 + 2 * n) for n in (1, 2, 3)]
    configs = [properties(server_properties(Path(f"/d/{n.node_id}"), n, nodes)) for n in nodes]
    assert {c["node.id"] for c in configs} == {"1", "2", "3"}
    voters = "1@127.0.0.1:9003,2@127.0.0.1:9005,3@127.0.0.1:9007"
    assert {c["controller.quorum.voters"] for c in configs} == {voters}
    for config, node in zip(configs, nodes, strict=True):
        assert config["process.roles"] == "broker,controller"
        assert config["advertised.listeners"] == f"PLAINTEXT://127.0.0.1:{node.port}"
        assert config["offsets.topic.replication.factor"] == "3"
        assert config["transaction.state.log.replication.factor"] == "3"
        assert config["transaction.state.log.min.isr"] == "2"
        assert config["min.insync.replicas"] == "2"


def test_a_single_node_keeps_replication_one() -> None:
    node = KafkaNode(1, 9092, 9093)
    config = properties(server_properties(Path("/d"), node, [node]))
    assert config["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert config["offsets.topic.replication.factor"] == "1"
    assert config["transaction.state.log.min.isr"] == "1"
    assert replication_for(1) == (1, 1) and replication_for(2) == (2, 1)
    assert replication_for(3) == (3, 2) and replication_for(5) == (3, 2)


def test_dev_up_puts_a_clusters_nodes_on_the_ports_after_the_first() -> None:
    ports = InfraPorts.from_env({"KAFKA_PORT": "19092"}, brokers=3)
    assert [(n.node_id, n.port, n.controller_port) for n in ports.kafka_nodes] == [
        (1, 19092, 19093),
        (2, 19094, 19095),
        (3, 19096, 19097),
    ]
    assert len(InfraPorts.from_env({}).kafka_nodes) == 1
    assert len({n.port for n in InfraPorts.free(brokers=3).kafka_nodes}) == 3
