"""The benchmark: ``./dev bench`` (``python -m tests.benchmarks.bench``).

Starts the servers (Kafka, FerretDB, Redis as processes, or those ``KAFKA_URL``,
``MONGODB_URI`` and ``REDIS_URL`` name) and the chat's services, then runs each workload
against three peers: the chat; the naive pipeline (``naive.py``: the design the project
started from, built naively on the same Kafka and MongoDB); and a bare python-socketio
broadcaster (``bare.py``: the limit, stores nothing). The load generator is the official
Socket.IO client in Node (``web/bench/loadgen.mjs``). Per-person limits are lifted
(``SEND_RATE``, ``SEND_BURST`` and the rest) so they do not shape a run. The chat is the whole
product: auth (direct conversations look people up there) and the search service, whose trail
behind the log is measured after each run (``search_trail.py``).

Besides messages in groups, two paths only the chat has, so run against it alone: reactions
(``reactions20x10``) and messages in direct conversations (``direct100x2``, beside the groups of
two of ``100x2``, whose naive and bare runs are its comparison).

``--search`` runs the search benchmark instead (``search.py``: ``./dev bench --search
--quick``), with options of its own.

Prints a table as it goes, writes ``.data/bench/results.json`` (and ``.md``) and a plot of latency
percentiles against offered rate (``docs/bench.svg``). A run that loses or doubles a delivery
is marked failed, not fast.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import SecretStr
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from infra.checks import http_ok
from infra.paths import REPO_ROOT, free_port, venv_python
from infra.processes import ManagedProcess
from infra.services import agents_worker, auth_service, gateway_service, search_service
from infra.stack import Infra, InfraPorts, start_infra
from records.kafka import partitions_of
from records.settings import JwtSettings, KafkaSettings
from records.tokens import issue_token
from records.views import POSITIONS, position_id
from tests.benchmarks import search as search_benchmark
from tests.benchmarks.plot import latency_plot
from tests.benchmarks.search_trail import SearchWatch

RESULTS = REPO_ROOT / ".data" / "bench" / "results.json"
PLOT = REPO_ROOT / "docs" / "bench.svg"
LOADGEN = REPO_ROOT / "web" / "bench" / "loadgen.mjs"
LIMITLESS = "1000000"
LIMITED = ("SEND", "CHANGE", "READ", "TYPING", "DIRECT", "REACTION")
"""The gateway's per-person limits, lifted for a run (``gateway.limits``)."""
PEERS = ("naive", "bare")
"""What the chat is measured against, run after it in this order (``naive.py``, ``bare.py``)."""


@dataclass(frozen=True)
class Workload:
    name: str
    groups: int
    members: int
    rate: float
    seconds: float = 20.0
    kind: Literal["messages", "reactions", "direct"] = "messages"
    """What is sent at ``rate``: messages in new groups, reactions to a few messages of each
    group, or messages in direct conversations (``members`` must be 2)."""
    peers: tuple[str, ...] = PEERS
    """The peers that can run it too: neither has reactions or direct conversations."""


WORKLOADS = [
    Workload("1x2", 1, 2, 2),  # one message at a time on an idle system
    Workload("20x10", 20, 10, 100),
    Workload("20x10", 20, 10, 300),
    Workload("20x10", 20, 10, 500),
    Workload("20x10", 20, 10, 1000),
    Workload("20x10", 20, 10, 2000),
    Workload("4x100", 4, 100, 100),
    Workload("100x2", 100, 2, 1000),
    Workload("direct100x2", 100, 2, 1000, kind="direct", peers=()),  # against 100x2@1000
    Workload("100x2", 100, 2, 2000),
    Workload("reactions20x10", 20, 10, 500, kind="reactions", peers=()),
]
SCALED = [Workload("20x10", 20, 10, rate) for rate in (100, 300, 500, 1000)]
"""Run again on two gateway nodes and two agent workers."""
QUICK = [Workload("20x10", 20, 10, 100, 10), Workload("20x10", 20, 10, 300, 10)]


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class Targets:
    """The chat (servers and services), the naive pipeline and the bare broadcaster, started
    for the run."""

    def __init__(self, work: Path, gateways: int, workers: int) -> None:
        self.work = work
        self.gateways, self.workers = gateways, workers
        self.infra = Infra()
        self.processes: list[ManagedProcess] = []
        self.jwt = JwtSettings(jwt_secret=SecretStr(secrets.token_urlsafe(48)))
        self.gateway_urls: list[str] = []
        self.bare_url = ""
        self.naive_url = ""
        self.auth_url = ""
        self.search_url = ""
        self.names: dict[str, str] = {}

    def start(self) -> None:
        environ = dict(os.environ)
        self.infra = start_infra(self.work / "data", self.work / "logs", InfraPorts.free(), environ)
        run = uuid.uuid4().hex[:8]
        self.names = {"prefix": f"bench-{run}.", "database": f"bench_{run}", "app": f"bench-{run}"}
        env = {
            **environ,
            **self.infra.env,
            "JWT_SECRET": self.jwt.jwt_secret.get_secret_value(),
            "TOPIC_PREFIX": self.names["prefix"],
            "MONGODB_DATABASE": self.names["database"],
            "AGENTS_APP_ID": self.names["app"],
            # A partition for each worker (unless set): a worker with none would only wait.
            "TOPIC_PARTITIONS": environ.get("TOPIC_PARTITIONS", str(self.workers)),
            **{f"{kind}_{bound}": LIMITLESS for kind in LIMITED for bound in ("RATE", "BURST")},
            "MAX_SOCKETS_PER_USER": LIMITLESS,
        }
        ports = [free_port() for _ in range(self.gateways)]
        auth_port, search_port = free_port(), free_port()
        self.auth_url = f"http://127.0.0.1:{auth_port}"
        self.search_url = f"http://127.0.0.1:{search_port}"
        self.processes = [
            gateway_service(
                self.work / f"gateway-{n}.log",
                port=port,
                auth_url=self.auth_url,
                env={**env, "SEARCH_URL": self.search_url},
            )
            for n, port in enumerate(ports)
        ]
        # Registering the people of direct conversations: a hash fit for a bench, not a
        # password (argon2's least), so setting a run up costs seconds.
        cheap = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "8", "ARGON2_PARALLELISM": "1"}
        self.processes.append(auth_service(self.work / "auth.log", port=auth_port,
                                           env={**env, **cheap}))  # fmt: skip
        self.processes.append(
            search_service(
                self.work / "search.log", port=search_port, data_dir=self.work / "search", env=env
            )
        )
        self.processes += [
            agents_worker(
                self.work / f"agents-{n}.log",
                env={**env, "AGENTS_INSTANCE_ID": f"bench-{n}"},
                datadir=self.work / f"agents-{n}",
            )
            for n in range(self.workers)
        ]
        bare_port, naive_port = free_port(), free_port()
        kafka = KafkaSettings(kafka_url=self.infra.env["KAFKA_URL"]).bootstrap_servers
        peers = {
            "naive": (naive_port, ["--kafka", kafka, "--mongodb", self.infra.env["MONGODB_URI"]]),
            "bare": (bare_port, []),
        }
        self.processes += [
            ManagedProcess(
                peer,
                [venv_python(), "-m", f"tests.benchmarks.{peer}", "--port", str(port), *args],
                log_path=self.work / f"{peer}.log",
                env=environ,
                cwd=REPO_ROOT,
                ready=http_ok(f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling"),
            )
            for peer, (port, args) in peers.items()
        ]
        self.processes[0].start_and_wait()  # the first gateway creates the topics
        for process in self.processes[1:]:
            process.start()
        for process in self.processes[1:]:
            process.wait_ready()
        self.bare_url = f"http://127.0.0.1:{bare_port}"
        self.naive_url = f"http://127.0.0.1:{naive_port}"
        self.gateway_urls = [f"http://127.0.0.1:{port}" for port in ports]

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.infra.stop()

    def token(self, name: str, user_id: str | None = None) -> str:
        token, _ = issue_token(
            self.jwt,
            user_id=user_id or name,
            username=name,
            token_type="access",
            ttl=timedelta(hours=2),
        )
        return token

    def register(self, username: str) -> str:
        """A person auth knows (``direct`` looks the other person up there): their id."""
        body = json.dumps({"username": username, "password": secrets.token_urlsafe(12)})
        request = urllib.request.Request(
            f"{self.auth_url}/register",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return str(json.loads(response.read())["user_id"])


def rss_mib(pid: int | None) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pids: list[int | None]) -> float:
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def settle(targets: Targets, within: float = 120.0) -> float:
    """Wait until the chat's services are idle again (under 5% of a core each for a second):
    the backlog of a run past capacity must not slow the next one down. Returns seconds
    waited."""
    pids = [p.pid for p in targets.processes if p.name not in PEERS]
    started = time.monotonic()
    while time.monotonic() - started < within:
        before = cpu_seconds(pids)
        time.sleep(1.0)
        if cpu_seconds(pids) - before < 0.05 * len(pids):
            break
    return time.monotonic() - started


def idle_sockets(targets: Targets, count: int) -> dict[str, Any]:
    """``count`` sockets connected to one gateway node, in groups of 100, doing nothing: the
    node's resident memory before, at most while they are held, and per socket."""
    pid = targets.processes[0].pid
    tokens = [
        [targets.token(f"idle-g{g}m{m}") for m in range(100)] for g in range(max(1, count // 100))
    ]
    spec = {"urls": targets.gateway_urls[:1], "runId": "idle", "groups": tokens, "idle": True,
            "hold": 5}  # fmt: skip
    before = peak = rss_mib(pid)
    loadgen = subprocess.Popen(
        ["node", str(LOADGEN)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO_ROOT
    )
    assert loadgen.stdin is not None
    loadgen.stdin.write(json.dumps(spec).encode())
    loadgen.stdin.close()
    while loadgen.poll() is None:
        peak = max(peak, rss_mib(pid))
        time.sleep(0.25)
    sockets = count if loadgen.returncode == 0 else 0
    return {
        "sockets": sockets,
        "rss_before_mib": before,
        "rss_peak_mib": peak,
        "kib_per_socket": (peak - before) * 1024 / max(sockets, 1),
    }


async def _lags(
    consumer: AIOKafkaConsumer,
    positions: AsyncCollection[dict[str, Any]],
    requests: list[TopicPartition],
    events: list[TopicPartition],
) -> tuple[int, int]:
    """Records not yet decided (requests past the decider's committed offsets) and facts not
    yet projected (events past the projector's recorded positions), over all partitions."""
    request_ends = await consumer.end_offsets(requests)
    # The log's last offsets include transaction markers: a partition is caught up when
    # its position is within a record or two of the end.
    event_ends = await consumer.end_offsets(events)
    undecided = 0
    for tp in requests:
        committed = await consumer.committed(tp) or 0
        undecided += max(0, request_ends[tp] - committed)
    projected = {doc["_id"]: int(doc["offset"]) async for doc in positions.find({})}
    unprojected = sum(
        max(0, event_ends[tp] - 1 - projected.get(position_id(tp.partition), 0)) for tp in events
    )
    return undecided, unprojected


async def _until_caught_up(targets: Targets, within: float) -> dict[str, Any]:
    settings = KafkaSettings(
        kafka_url=targets.infra.env["KAFKA_URL"], topic_prefix=targets.names["prefix"]
    )
    topics = settings.topics
    partitions = await partitions_of(settings, topics.requests)
    requests = [TopicPartition(topics.requests, p) for p in partitions]
    events = [TopicPartition(topics.events, tp.partition) for tp in requests]
    # One consumer (in the decider's group, to read its committed offsets) and one client
    # for every look, not a pair a look.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=f"{targets.names['app']}-decider",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(targets.infra.env["MONGODB_URI"])
    positions = mongo[targets.names["database"]][POSITIONS]
    try:
        started = time.monotonic()
        first = None
        while True:
            undecided, unprojected = await _lags(consumer, positions, requests, events)
            first = first or {"undecided": undecided, "unprojected": unprojected}
            if (undecided == 0 and unprojected == 0) or time.monotonic() - started > within:
                return {**first, "caught_up_s": round(time.monotonic() - started, 2),
                        "left": {"undecided": undecided, "unprojected": unprojected}}  # fmt: skip
            await asyncio.sleep(0.1)
    finally:
        await consumer.stop()
        await mongo.close()


def caught_up(targets: Targets, within: float = 60.0) -> dict[str, Any]:
    """After a run: how long until the decider and the projector had no backlog left (the
    lag at the end of the run), and the backlog when this started."""
    return asyncio.run(_until_caught_up(targets, within))


def run_loadgen(
    urls: list[str],
    tokens: list[list[str]],
    workload: Workload,
    direct_with: list[str] | None = None,
    cpu: CpuShares | None = None,
) -> dict[str, Any]:
    """One run of the load generator; ``direct_with``: per group, the person its first socket
    opens a direct conversation with (the second socket's); ``cpu``: measured while it
    sends."""
    spec: dict[str, Any] = {
        "urls": urls,
        "runId": uuid.uuid4().hex[:8],
        "groups": tokens,
        "rate": workload.rate,
        "seconds": workload.seconds,
        "drain": 10,
        "kind": "reactions" if workload.kind == "reactions" else "messages",
    }
    if direct_with is not None:
        spec["directWith"] = direct_with
    loadgen = subprocess.Popen(
        ["node", str(LOADGEN)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    assert loadgen.stdin is not None and loadgen.stdout is not None
    said: list[str] = []
    listening = threading.Thread(target=_listen, args=(loadgen, said, cpu), daemon=True)
    listening.start()
    stop = threading.Timer(workload.seconds + 300, loadgen.kill)
    stop.start()
    try:
        loadgen.stdin.write(json.dumps(spec).encode())
        loadgen.stdin.close()
        out = loadgen.stdout.read()
        loadgen.wait()
        listening.join()
    finally:
        stop.cancel()
    if loadgen.returncode != 0:
        raise RuntimeError(f"loadgen failed: {''.join(said)[-2000:]}")
    result = dict(json.loads(out.decode().strip().splitlines()[-1]))
    if cpu is not None and cpu.shares:
        result["cpu_cores"] = cpu.shares
    return result


def _listen(loadgen: subprocess.Popen[bytes], said: list[str], cpu: CpuShares | None) -> None:
    """The load generator's progress (kept for an error), and the send phase's bounds."""
    assert loadgen.stderr is not None
    for raw in loadgen.stderr:
        line = raw.decode(errors="replace")
        said.append(line)
        if cpu is not None and line.strip() in ("[loadgen] sending", "[loadgen] sent"):
            cpu.mark(line.strip().removeprefix("[loadgen] "), loadgen.pid)


class CpuShares:
    """How much of a core each process used while the load generator sent (not while it
    connected or drained): the servers', the services', the peers' and its own. Where a run's
    time goes on a machine whose cores are shared by all of them."""

    def __init__(self, targets: Targets) -> None:
        self.pids = {p.name: p.pid for p in [*targets.infra.processes, *targets.processes] if p.pid}
        self._from: tuple[float, dict[str, float]] | None = None
        self.shares: dict[str, float] = {}
        """Process name → share of a core over the send phase (``loadgen`` among them)."""

    def mark(self, phase: str, loadgen: int) -> None:
        now, used = time.monotonic(), self._used({**self.pids, "loadgen": loadgen})
        if phase == "sending":
            self._from = now, used
        elif self._from is not None:
            began, before = self._from
            seconds = max(now - began, 1e-3)
            self.shares = {
                name: round((used[name] - before[name]) / seconds, 2)
                for name in used
                if name in before
            }

    @staticmethod
    def _used(pids: dict[str, int]) -> dict[str, float]:
        used = {}
        for name, pid in pids.items():
            try:
                used[name] = cpu_seconds([pid])
            except OSError:
                continue  # gone
        return used


def row(target: str, workload: Workload, result: dict[str, Any]) -> str:
    """One run as a line; a reactions run's figures are its reactions'."""
    lat = result.get("latency_ms") or {}
    unanswered = result.get("unanswered", 0)
    # A reaction refused otherwise than ``unavailable``, or never answered: a failed run.
    errors = sum(result["errors"].values()) + unanswered if "errors" in result else 0
    ok = "ok" if result["lost"] == 0 and result["duplicates"] == 0 and not errors else "FAILED"
    if ok == "ok" and result.get("refused"):
        sends = "reactions" if result.get("kind") == "reactions" else "sends"
        ok = f"ok, {result['refused']} {sends} refused"  # not accepted: never owed, not lost
        if unanswered:  # a send that timed out is counted as refused, as it always was
            ok += f" ({unanswered} not answered in 30 s)"
    if errors:
        ok += f" (reactions refused: {result['errors']}, {unanswered} not answered)"
    return (
        f"{target:5} {workload.name:14} {workload.rate:6.0f}/s  "
        f"delivered {result['delivered_per_second']:8.0f}/s  "
        f"p50 {lat.get('p50', 0):7.1f} ms  p99 {lat.get('p99', 0):8.1f} ms  "
        f"lost {result['lost']:5}  dup {result['duplicates']:4}  {ok}"
        + (f"  ({result['late']} came after a quiet drain)" if result.get("late") else "")
        + (f"\n      missing: {result['missing']}" if result.get("missing") else "")
    )


def markdown_table(results: list[dict[str, Any]]) -> str:
    """The runs as the README shows them."""
    lines = [
        "| workload | offered | target | delivered/s | p50 | p99 | lost | doubled | refused "
        "| ack p50 | send→decided p50 | decided→received p50 | search trail |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "latency_ms" not in r:
            continue
        w, lat = r["workload"], r.get("latency_ms") or {}

        def ms(stage: str) -> str:
            p50 = (r.get(stage) or {}).get("p50")  # noqa: B023 - called at once
            return "–" if p50 is None else f"{p50:.1f} ms"  # a reaction carries no saved_at

        lines.append(
            f"| {w['name']} | {w['rate']:g}/s | {r['target']} | {r['delivered_per_second']:,.0f} "
            f"| {lat.get('p50', 0):,.1f} ms | {lat.get('p99', 0):,.1f} ms | {r['lost']} "
            f"| {r['duplicates']} | {r.get('refused', 0)} | {ms('ack_ms')} "
            f"| {ms('send_to_decided_ms')} "
            f"| {ms('decided_to_receive_ms')} | {search_trail(r)} |"
        )
    return "\n".join(lines) + "\n"


def search_trail(result: dict[str, Any]) -> str:
    """How long after the newest message the run's last one was findable, and the records the
    index was behind when the load generator returned; "–" for a peer."""
    trail = result.get("search_at_end")
    if not trail:
        return "–"
    seconds = "–" if trail["trail_s"] is None else f"{trail['trail_s']:.2f} s"
    return f"{seconds} ({trail['facts_behind']} behind)"


def start(targets: Targets, warm_up: float) -> None:
    say(
        f"starting the servers, {targets.gateways} gateway(s), {targets.workers} worker(s);"
        f" logs {targets.work}"
    )
    targets.start()
    # A first run warms every part up, its figures not kept: the broker's JIT compiles its
    # hot paths (C1 only here, seconds; C2 took minutes), FerretDB makes its first collections.
    warm = Workload("warmup", 20, 10, 300, warm_up)
    warm_tokens = [[targets.token(f"w-g{g}m{m}") for m in range(10)] for g in range(20)]
    for urls in (targets.gateway_urls, [targets.naive_url], [targets.bare_url]):
        run_loadgen(urls, warm_tokens, warm)


def run_workloads(
    targets: Targets, workloads: list[Workload], name: str, *, with_peers: bool
) -> list[dict[str, Any]]:
    """Each workload against the chat (as ``name``), then the naive pipeline and the bare
    broadcaster, each started once the chat is idle again."""
    results: list[dict[str, Any]] = []
    for n, workload in enumerate(workloads):
        tokens, direct_with = people(targets, workload, f"{name}-{n}")
        runs = [(name, targets.gateway_urls)]
        if with_peers:
            peer_urls = {"naive": [targets.naive_url], "bare": [targets.bare_url]}
            runs += [(peer, peer_urls[peer]) for peer in workload.peers]
        for target, urls in runs:
            waited = settle(targets)
            say(
                f"{target}: {workload.name} at {workload.rate:.0f}/s for {workload.seconds}s"
                f" (the chat was idle again after {waited:.0f} s)"
            )
            # The peers have no direct conversations (they run groups), no search, and
            # keep no positions to catch up.
            chat = target == name
            watch = SearchWatch(targets.search_url).start() if chat else None
            started = time.monotonic()
            try:
                result = run_loadgen(
                    urls, tokens, workload, direct_with if chat else None, CpuShares(targets)
                )
            except BaseException:
                if watch is not None:
                    watch.stop()
                raise
            result["seconds_total"] = time.monotonic() - started
            if watch is not None:
                # The run's messages are owed to the index (a reactions run's are its seed
                # messages, which it does not count: only the lag is waited for).
                search_at_end = watch.at_end(result.get("saved"), result.get("last_saved_at"))
                result["lag_at_end"] = caught_up(targets)
                result["search_at_end"] = search_at_end
            print(row(target, workload, result), flush=True)
            if busy := {k: v for k, v in result.get("cpu_cores", {}).items() if v >= 0.02}:
                print(f"      cores while sending: {busy}", flush=True)
            if "lag_at_end" in result:
                print(f"      lag at the end: {result['lag_at_end']}", flush=True)
                print(f"      search at the end: {result['search_at_end']}", flush=True)
            results.append({"target": target, "workload": asdict(workload), **result})
    return results


def people(
    targets: Targets, workload: Workload, prefix: str
) -> tuple[list[list[str]], list[str] | None]:
    """The sockets' tokens, by group; for direct conversations, the people are registered
    with auth (``direct`` looks the other up there), and each group's second person is whom
    its first opens the conversation with."""
    names = [[f"{prefix}g{g}m{m}" for m in range(workload.members)] for g in range(workload.groups)]
    if workload.kind != "direct":
        return [[targets.token(name) for name in group] for group in names], None
    ids = [[targets.register(name) for name in group] for group in names]
    tokens = [
        [targets.token(name, user_id) for name, user_id in zip(group, group_ids, strict=True)]
        for group, group_ids in zip(names, ids, strict=True)
    ]
    return tokens, [group_ids[1] for group_ids in ids]


def named(only: str) -> Workload:
    """A workload ``--only`` names (``NAME@RATE``): the listed one of that name at any rate,
    so a capacity can be narrowed down between the listed rates."""
    name, _, rate = only.partition("@")
    try:
        known = next(w for w in WORKLOADS if w.name == name)
        return replace(known, rate=float(rate))
    except (StopIteration, ValueError):
        names = sorted({w.name for w in WORKLOADS})
        raise SystemExit(f"--only {only}: expected NAME@RATE, NAME one of {names}") from None


def main() -> None:
    if "--search" in sys.argv[1:]:
        # Its own index, servers and options (--quick, --messages …): none of the chat's.
        search_benchmark.main([arg for arg in sys.argv[1:] if arg != "--search"])
        return
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="--search: the search benchmark instead (./dev bench --search --help)",
    )
    parser.add_argument("--quick", action="store_true", help="two short runs, to try it out")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAMExRATE",
        help="run only these workloads, e.g. --only 100x2@1000 --only reactions20x10@500 "
        "(repeatable)",
    )
    parser.add_argument("--seconds", type=float, help="how long each workload sends")
    parser.add_argument("--idle-sockets", type=int, default=5000, help="0 to skip")
    parser.add_argument(
        "--warm-up",
        type=float,
        metavar="SECONDS",
        help="how long the first run (20x10 at 300/s, not kept) warms the stack up "
        "(30 s; 5 s with --quick)",
    )
    parser.add_argument("--gateways", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.warm_up is None:
        args.warm_up = 5.0 if args.quick else 30.0
    workloads = QUICK if args.quick else WORKLOADS
    if args.only:
        workloads = [named(only) for only in args.only]
    if args.seconds:
        workloads = [replace(w, seconds=args.seconds) for w in workloads]
    work = Path(tempfile.mkdtemp(prefix="chat-bench-"))
    results: list[dict[str, Any]] = []
    targets = Targets(work / "single", args.gateways, args.workers)
    try:
        start(targets, args.warm_up)
        results += run_workloads(targets, workloads, "chat", with_peers=True)
        if args.idle_sockets and not args.quick:
            say(f"{args.idle_sockets} idle sockets on one gateway node")
            memory = idle_sockets(targets, args.idle_sockets)
            print(f"idle sockets: {memory}", flush=True)
            results.append({"target": "chat", "workload": {"name": "idle"}, **memory})
    finally:
        targets.stop()
    if not args.quick and not args.only and (args.gateways, args.workers) == (1, 1):
        # The same 20 x 10 runs on a fresh stack of two gateway nodes and two agent workers:
        # the load generator's sockets alternate between the nodes.
        targets = Targets(work / "pairs", 2, 2)
        try:
            start(targets, args.warm_up)
            results += run_workloads(targets, SCALED, "chat2", with_peers=False)
        finally:
            targets.stop()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    RESULTS.with_suffix(".md").write_text(markdown_table(results))
    PLOT.write_text(latency_plot(results, "20x10"))  # chat2: two nodes, two workers
    say(f"wrote {RESULTS} and {PLOT}")


if __name__ == "__main__":
    main()
