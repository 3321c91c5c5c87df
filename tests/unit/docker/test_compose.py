"""The compose file, read as Docker would (no engine runs here): every service has an image or
a build, a healthcheck and a restart policy; nginx balances both gateway nodes; Prometheus
scrapes every service where its /metrics is served."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

DOCKER = Path(__file__).resolve().parents[3] / "docker"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return data


def test_every_service_has_an_image_a_healthcheck_and_a_restart_policy() -> None:
    services = compose()["services"]
    assert services
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        assert service.get("restart") in ("unless-stopped", "always", "on-failure"), name
        assert service.get("healthcheck", {}).get("test"), name


def test_two_gateway_nodes_and_two_workers_behind_one_proxy() -> None:
    services = compose()["services"]
    gateways = [n for n, s in services.items() if s.get("command") == ["python", "-m", "gateway"]]
    workers = [n for n, s in services.items() if "agents.app" in s.get("command", [])]
    assert len(gateways) == 2 and len(workers) == 2
    ids = {services[w]["environment"]["AGENTS_INSTANCE_ID"] for w in workers}
    assert len(ids) == 2, "each worker needs its own static membership id"
    nginx = (DOCKER / "nginx.conf").read_text()
    upstream = re.search(r"upstream gateways \{(.*?)\}", nginx, re.DOTALL)
    assert upstream is not None
    assert sorted(re.findall(r"server (\S+):8080;", upstream.group(1))) == sorted(gateways)
    assert "hash $remote_addr" in upstream.group(1)  # sticky: polling stays on one node
    assert "proxy_set_header Upgrade $http_upgrade;" in nginx
    # The browser's Origin carries the port (http://localhost:8080); the gateway compares it
    # with the Host it is given, so the proxy must pass the port on.
    assert "proxy_set_header Host $http_host;" in nginx
    proxy = services["proxy"]
    assert set(proxy["depends_on"]) == set(gateways)


def test_prometheus_scrapes_every_service_where_it_serves_metrics() -> None:
    services = compose()["services"]
    scrape = yaml.safe_load((DOCKER / "prometheus.yml").read_text())
    targets = {
        target
        for job in scrape["scrape_configs"]
        for config in job["static_configs"]
        for target in config["targets"]
    }
    expected = {"auth:8081"}
    for name, service in services.items():
        command = service.get("command", [])
        if command == ["python", "-m", "gateway"]:
            expected.add(f"{name}:8080")
        if "agents.app" in command:
            expected.add(f"{name}:{command[command.index('--web-port') + 1]}")
        if command == ["python", "-m", "search"]:
            expected.add(f"{name}:8070")
    assert targets == expected


def test_kafka_is_a_cluster_of_three_that_loses_no_acknowledged_write_with_one_down() -> None:
    services = compose()["services"]
    nodes = {n: s for n, s in services.items() if s.get("image", "").startswith("apache/kafka")}
    assert sorted(nodes) == ["kafka-1", "kafka-2", "kafka-3"]
    ids = {int(s["environment"]["KAFKA_NODE_ID"]) for s in nodes.values()}
    assert ids == {1, 2, 3}
    for name, node in nodes.items():
        env = node["environment"]
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].count("@") == 3, name
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        for replicated in ("OFFSETS_TOPIC", "TRANSACTION_STATE_LOG", "DEFAULT"):
            assert int(env[f"KAFKA_{replicated}_REPLICATION_FACTOR"]) == 3, (name, replicated)
        assert int(env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"]) == 2
        assert int(env["KAFKA_MIN_INSYNC_REPLICAS"]) == 2
    assert len({n["environment"]["CLUSTER_ID"] for n in nodes.values()}) == 1
    for service in services.values():
        url = (service.get("environment") or {}).get("KAFKA_URL")
        if url is not None:
            assert sorted(url.split(",")) == [f"{n}:9092" for n in sorted(nodes)]
