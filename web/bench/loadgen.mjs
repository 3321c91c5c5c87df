// The benchmark's load generator: the official Socket.IO client in Node, so the load costs the
// servers as little CPU as it can. Reads a workload as JSON on stdin, prints its result as
// JSON on stdout, and progress on stderr.
//
// Workload: {urls, runId, groups: [[token, ...], ...], rate, seconds, drain, idle?}
//   - every token is one socket, on the gateway nodes of `urls` in turn; a group's first socket
//     creates the group, the others join;
//   - `rate` messages a second in all, sent round-robin by every socket of every group, for
//     `seconds`; each message carries its send time in its client_msg_id;
//   - every socket records each `message` it gets: latency from send to receive, counted
//     once per (message, socket), a second copy counted as a duplicate;
//   - `idle: true` only connects and joins, then reports the sockets' count.
import { io } from "socket.io-client";
import { performance } from "node:perf_hooks";

const input = await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (chunk) => (text += chunk));
  process.stdin.on("end", () => resolve(JSON.parse(text)));
});

const say = (message) => process.stderr.write(`[loadgen] ${message}\n`);
const now = () => performance.timeOrigin + performance.now();

let sockets = 0;

function connect(token) {
  const url = input.urls[sockets++ % input.urls.length];
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      auth: { token },
      transports: ["websocket"],
      reconnection: false,
      timeout: 30000,
    });
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (error) => reject(error));
  });
}

function call(socket, event, payload, timeout = 30000) {
  return socket.timeout(timeout).emitWithAck(event, payload);
}

const sent = new Map(); // message number -> send time (ms since epoch)
const expected = new Map(); // message number -> sockets that should receive it
const received = new Map(); // message number -> count of sockets that got it
const acknowledged = new Set(); // message numbers the server accepted
const latencies = [];
const toDecided = [];
const fromDecided = [];
const ackLatencies = [];
let duplicates = 0;
let refused = 0;

async function setUp() {
  const groups = [];
  let connected = 0;
  for (const tokens of input.groups) {
    const sockets = [];
    // Connect a group's sockets in parallel, groups one after the other: thousands of
    // handshakes at once would only measure the accept queue.
    const batch = await Promise.all(tokens.map((token) => connect(token)));
    sockets.push(...batch);
    connected += batch.length;
    const created = await call(sockets[0], "create_group", { name: `bench ${input.runId}` });
    if (!created.ok) throw new Error(`create_group: ${JSON.stringify(created)}`);
    const groupId = created.group_id;
    await Promise.all(
      sockets.slice(1).map(async (socket) => {
        const joined = await call(socket, "join", { group_id: groupId });
        if (!joined.ok) throw new Error(`join: ${JSON.stringify(joined)}`);
      }),
    );
    for (const socket of sockets) {
      socket.on("message", (message) => onMessage(message));
    }
    groups.push({ groupId, sockets });
    if (groups.length % 20 === 0) say(`${connected} sockets connected`);
  }
  return groups;
}

function onMessage(message) {
  const at = now();
  const [runId, number] = String(message.client_msg_id).split(".");
  if (runId !== input.runId) return;
  const n = Number(number);
  const count = (received.get(n) ?? 0) + 1;
  received.set(n, count);
  if (count > expected.get(n)) {
    duplicates += 1;
    return;
  }
  const start = sent.get(n);
  latencies.push(at - start);
  const decided = Date.parse(message.saved_at);
  if (!Number.isNaN(decided)) {
    toDecided.push(decided - start);
    fromDecided.push(at - decided);
  }
}

async function load(groups) {
  const senders = [];
  for (const group of groups) {
    group.sockets.forEach((socket, index) => senders.push({ socket, group, index }));
  }
  // Interleave groups, so consecutive sends go to different groups.
  senders.sort((a, b) => a.index - b.index);
  const total = Math.round(input.rate * input.seconds);
  const started = now();
  let next = 0;
  let acked = 0;
  const acks = [];
  while (next < total) {
    const due = Math.min(total, Math.floor(((now() - started) / 1000) * input.rate) + 1);
    for (; next < due; next++) {
      const { socket, group } = senders[next % senders.length];
      const number = next;
      const clientMsgId = `${input.runId}.${number}`;
      const at = now();
      sent.set(next, at);
      expected.set(next, group.sockets.length);
      acks.push(
        call(socket, "send", { group_id: group.groupId, client_msg_id: clientMsgId, body: `m${next}` })
          .then((reply) => {
            if (reply.ok) {
              acked += 1;
              acknowledged.add(number);
              ackLatencies.push(now() - at);
            } else refused += 1;
          })
          .catch(() => (refused += 1)),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const sendSeconds = (now() - started) / 1000;
  await Promise.all(acks);
  // Drain: wait until every expected delivery has come, or nothing moved for `drain` s.
  // Only acknowledged messages are owed: a refused send was never accepted (the client is told
  // and may send it again), so it cannot be lost.
  const want = [...acknowledged].reduce((sum, n) => sum + expected.get(n), 0);
  let last = -1;
  let quietSince = now();
  for (;;) {
    const got = latencies.length;
    if (got >= want) break;
    if (got !== last) [last, quietSince] = [got, now()];
    if (now() - quietSince > input.drain * 1000) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { total, acked, sendSeconds, want, elapsed: (now() - started) / 1000 };
}

function percentiles(values) {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1] };
}

const groups = await setUp();
say(`${groups.length} groups, ${sockets} sockets ready`);
let result = { sockets };
if (!input.idle) {
  const run = await load(groups);
  const delivered = latencies.length;
  result = {
    ...result,
    sent: run.total,
    acknowledged: run.acked,
    refused,
    offered_rate: input.rate,
    send_rate: run.total / run.sendSeconds,
    deliveries_expected: run.want,
    delivered,
    lost: [...acknowledged].reduce(
      (sum, n) => sum + Math.max(0, expected.get(n) - (received.get(n) ?? 0)),
      0,
    ),
    duplicates,
    delivered_per_second: delivered / run.elapsed,
    latency_ms: percentiles(latencies),
    ack_ms: percentiles(ackLatencies),
    send_to_decided_ms: percentiles(toDecided),
    decided_to_receive_ms: percentiles(fromDecided),
  };
} else {
  await new Promise((resolve) => setTimeout(resolve, (input.hold ?? 3) * 1000));
}
process.stdout.write(JSON.stringify(result) + "\n");
for (const group of groups) for (const socket of group.sockets) socket.close();
process.exit(0);
