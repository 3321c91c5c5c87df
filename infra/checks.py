"""Readiness predicates for ManagedProcess: each answers 'does it serve yet?' once, quickly.

They are plain functions returning a ``ReadyCheck`` so a server or a test can pick or swap the
definition of ready (a protocol ping, an HTTP 200, a line in the log) in one argument.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
import urllib.request

from infra.processes import ManagedProcess, ReadyCheck


def http_ok(url: str, timeout: float = 1.0) -> ReadyCheck:
    """Ready when GET ``url`` answers 200."""

    def check(_: ManagedProcess) -> bool:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)

    return check


def log_contains(pattern: str) -> ReadyCheck:
    """Ready when this run's log matches the regular expression ``pattern``."""
    regex = re.compile(pattern)

    def check(process: ManagedProcess) -> bool:
        return regex.search(process.log_text()) is not None

    return check


def redis_ping(port: int, host: str = "127.0.0.1") -> ReadyCheck:
    """Ready when Redis answers PING with PONG (raw RESP: no client library needed)."""

    def check(_: ManagedProcess) -> bool:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")

    return check


def mongo_ping(uri: str) -> ReadyCheck:
    """Ready when the MongoDB-protocol server answers the ``ping`` command."""

    def check(_: ManagedProcess) -> bool:
        from pymongo import MongoClient

        client: MongoClient[dict[str, object]] = MongoClient(
            uri, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000
        )
        try:
            return bool(client.admin.command("ping").get("ok"))
        finally:
            client.close()

    return check


def kafka_metadata(bootstrap: str) -> ReadyCheck:
    """Ready when a Kafka metadata request succeeds and the broker lists itself.

    aiokafka is asyncio-only; the check runs it on a private loop in a short-lived thread so it
    works the same whether or not the caller is inside an event loop (pytest-asyncio fixtures).
    """

    async def probe() -> bool:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            await asyncio.wait_for(admin.start(), timeout=4)
            cluster = await asyncio.wait_for(admin.describe_cluster(), timeout=4)
            return bool(cluster.get("brokers"))
        finally:
            await admin.close()

    def check(_: ManagedProcess) -> bool:
        result: list[bool] = []

        def run() -> None:
            try:
                result.append(asyncio.run(probe()))
            except Exception:  # noqa: BLE001 - not ready yet
                result.append(False)

        thread = threading.Thread(target=run, name="kafka-ready-check", daemon=True)
        thread.start()
        thread.join(timeout=10)
        return bool(result and result[0])

    return check


async def partitions_out_of_sync(bootstrap: str) -> int:
    """How many partitions (of every topic) have fewer replicas in sync than they have: none,
    once a broker that came back has caught up."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        return sum(
            len(p.get("isr_nodes", p.get("isr", [])))
            < len(p.get("replica_nodes", p.get("replicas", [])))
            for topic in await admin.describe_topics()
            for p in topic["partitions"]
        )
    finally:
        await admin.close()


async def until_in_sync(bootstrap: str, within: float = 300.0) -> None:
    """Return once every partition is in sync (``partitions_out_of_sync``); ``TimeoutError``
    after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            if await partitions_out_of_sync(bootstrap) == 0:
                return
        except Exception:  # noqa: BLE001 - a broker just back may not answer yet
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"Kafka partitions not in sync after {within:.0f} s")
        await asyncio.sleep(0.5)


def wait_in_sync(bootstrap: str, within: float = 300.0) -> None:
    """``until_in_sync``, for a caller outside an event loop (the runner's supervisor)."""
    asyncio.run(until_in_sync(bootstrap, within))
