// The benchmark's load generator: the official Socket.IO client in Node, so the load costs the
// servers as little CPU as it can. Reads a workload as JSON on stdin, prints its result as
// JSON on stdout, and progress on stderr.
//
// Workload: {urls, runId, groups: [[token, ...], ...], rate, seconds, drain, idle?, kind?,
//            directWith?}
//   - every token is one socket, on the gateway nodes of `urls` in turn; a group's first socket
//     creates the group, the others join;
//   - `directWith: [userId, ...]`: instead, a group's first socket opens the direct
//     conversation with that person (`direct`), whose socket (the second) joins it, as the web
//     client does on `direct_opened`;
//   - `rate` messages a second in all, sent round-robin by every socket of every group, for
//     `seconds`; each message carries its send time in its client_msg_id;
//   - every socket records each `message` it gets: latency from send to receive, counted
//     once per (message, socket), a second copy counted as a duplicate;
//   - `kind: "reactions"`: each group first gets a few messages (sent and received as usual),
//     then the sockets send `react` at `rate` instead of messages, each a distinct (person,
//     message, emoji), so every one adds; every socket records each `reaction` it gets, as
//     for messages; a refusal with `unavailable` is counted as refused, any other as an error;
//   - a send not answered in 30 s is counted as `unanswered` (and, as it always was, refused);
//     a reaction not answered is an error: whether it was decided is unknown;
//   - after the sends, it waits until every acknowledged message has reached every socket, or
//     nothing came for `drain` s; what is still owed then is waited for `lateWait` s more (60):
//     what comes then is `late`, what never does is `lost` (the first few in `missing`);
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

const reactions = input.kind === "reactions";
const EMOJIS = [..."😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🙂🤗🤩🤔🤨😐😑😶🙄😏😣😥😮🤐😯😪😫🥱😴😌😛😜😝🤤😒😓"];
const sent = new Map(); // message (or reaction) number -> send time (ms since epoch)
const expected = new Map(); // message number -> sockets that should receive it
const received = new Map(); // message number -> count of sockets that got it
const groupOf = new Map(); // message number -> the group it was sent to
const acknowledged = new Set(); // message numbers the server accepted
const latencies = [];
const toDecided = [];
const fromDecided = [];
const ackLatencies = [];
const numbers = new Map(); // a reaction's "message_id emoji user_id" -> its number
const errors = {}; // reactions refused with another code than `unavailable`: code -> count
let duplicates = 0;
let refused = 0;
let unanswered = 0;
let lastSavedAt = 0; // the newest saved_at received (ms since epoch): when search should have it

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
    const groupId = await open(sockets[0], groups.length);
    await Promise.all(
      sockets.slice(1).map(async (socket) => {
        const joined = await call(socket, "join", { group_id: groupId });
        if (!joined.ok) throw new Error(`join: ${JSON.stringify(joined)}`);
      }),
    );
    groups.push({ groupId, sockets, messageIds: [] });
    if (groups.length % 20 === 0) say(`${connected} sockets connected`);
  }
  return groups;
}

/** The group a group's first socket opens: a new one, or the direct conversation with
 * `directWith[index]`. */
async function open(socket, index) {
  if (input.directWith) {
    const opened = await call(socket, "direct", { user_id: input.directWith[index] });
    if (!opened.ok) throw new Error(`direct: ${JSON.stringify(opened)}`);
    return opened.group_id;
  }
  const created = await call(socket, "create_group", { name: `bench ${input.runId}` });
  if (!created.ok) throw new Error(`create_group: ${JSON.stringify(created)}`);
  return created.group_id;
}

function listen(groups) {
  for (const group of groups) {
    for (const socket of group.sockets) {
      if (reactions) socket.on("reaction", (reaction) => onReaction(reaction));
      else socket.on("message", (message) => onMessage(message));
    }
  }
}

function onMessage(message) {
  const at = now();
  const [runId, number] = String(message.client_msg_id).split(".");
  if (runId !== input.runId) return;
  const decided = Date.parse(message.saved_at);
  if (!Number.isNaN(decided)) lastSavedAt = Math.max(lastSavedAt, decided);
  const start = count(Number(number), at);
  if (start !== undefined && !Number.isNaN(decided)) {
    toDecided.push(decided - start);
    fromDecided.push(at - decided);
  }
}

function onReaction(reaction) {
  const at = now();
  const n = numbers.get(`${reaction.message_id} ${reaction.emoji} ${reaction.user_id}`);
  if (n === undefined || !reaction.reacted) return; // not this run's, or not an add
  count(n, at);
}

/** A delivery of number `n` to one socket: its latency, or a duplicate. Returns its send
 * time, or undefined for a duplicate. */
function count(n, at) {
  const times = (received.get(n) ?? 0) + 1;
  received.set(n, times);
  if (times > expected.get(n)) {
    duplicates += 1;
    return undefined;
  }
  const start = sent.get(n);
  latencies.push(at - start);
  return start;
}

/** The person of a token (its `sub`): a reaction names who reacted by id. */
function userIdOf(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).sub;
}

/** Before reactions: `perGroup` messages in each group, sent by its first socket and waited
 * for on every socket, so each reaction is on a message every member has. */
async function seed(groups, perGroup) {
  const got = new Map(); // client_msg_id -> [message_id, sockets that have it]
  for (const group of groups) {
    for (const socket of group.sockets) {
      socket.on("message", (message) => {
        const entry = got.get(message.client_msg_id) ?? [message.message_id, 0];
        got.set(message.client_msg_id, [entry[0], entry[1] + 1]);
      });
    }
  }
  await Promise.all(
    groups.map(async (group, g) => {
      for (let k = 0; k < perGroup; k++) {
        const clientMsgId = `${input.runId}-seed.${g}.${k}`;
        const reply = await call(group.sockets[0], "send", {
          group_id: group.groupId,
          client_msg_id: clientMsgId,
          body: `seed ${k}`,
        });
        if (!reply.ok) throw new Error(`send: ${JSON.stringify(reply)}`);
      }
    }),
  );
  const deadline = now() + 60000;
  for (const [g, group] of groups.entries()) {
    for (let k = 0; k < perGroup; k++) {
      const id = `${input.runId}-seed.${g}.${k}`;
      while ((got.get(id)?.[1] ?? 0) < group.sockets.length) {
        if (now() > deadline) throw new Error(`seed message ${id} not received by all`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      group.messageIds.push(got.get(id)[0]);
    }
  }
}

/** The `n`-th send of the run, by `sender` (its `turn`-th): a message, or a reaction to a
 * message of its group, distinct from its others (every message, then the next emoji). */
function nextSend(sender, n, turn) {
  const { socket, group } = sender;
  if (!reactions) {
    const payload = { group_id: group.groupId, client_msg_id: `${input.runId}.${n}`, body: `m${n}` };
    return { socket, event: "send", payload };
  }
  const messageId = group.messageIds[turn % group.messageIds.length];
  const emoji = EMOJIS[Math.floor(turn / group.messageIds.length) % EMOJIS.length];
  numbers.set(`${messageId} ${emoji} ${sender.userId}`, n);
  return { socket, event: "react", payload: { message_id: messageId, emoji, reacted: true } };
}

function refusal(reply) {
  const code = reply?.error?.code ?? "unknown";
  if (!reactions || code === "unavailable") refused += 1;
  else errors[code] = (errors[code] ?? 0) + 1;
}

async function load(groups) {
  const senders = [];
  for (const group of groups) {
    group.sockets.forEach((socket, index) => {
      const userId = reactions ? userIdOf(group.tokens[index]) : undefined;
      senders.push({ socket, group, index, userId, turns: 0 });
    });
  }
  // Interleave groups, so consecutive sends go to different groups.
  senders.sort((a, b) => a.index - b.index);
  const total = Math.round(input.rate * input.seconds);
  say("sending"); // the bench measures each server's CPU from here to "sent"
  const started = now();
  let next = 0;
  let acked = 0;
  const acks = [];
  while (next < total) {
    const due = Math.min(total, Math.floor(((now() - started) / 1000) * input.rate) + 1);
    for (; next < due; next++) {
      const sender = senders[next % senders.length];
      const number = next;
      const { socket, event, payload } = nextSend(sender, number, sender.turns++);
      const at = now();
      sent.set(next, at);
      groupOf.set(next, sender.group.groupId);
      expected.set(next, sender.group.sockets.length);
      acks.push(
        call(socket, event, payload)
          .then((reply) => {
            if (reply.ok) {
              acked += 1;
              acknowledged.add(number);
              ackLatencies.push(now() - at);
            } else refusal(reply);
          })
          // No answer in time: a send counts as refused, as it always has (never owed, though
          // it may yet be saved and delivered); a reaction's fate is unknown, an error.
          .catch(() => {
            unanswered += 1;
            if (!reactions) refused += 1;
          }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const sendSeconds = (now() - started) / 1000;
  say("sent");
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
  const elapsed = (now() - started) / 1000;
  // Still owed after a quiet drain: late or lost? Waited for a while longer (`lateWait` s),
  // and what comes then is counted as late, not lost.
  const beforeLate = latencies.length;
  const lateUntil = now() + (input.lateWait ?? 60) * 1000;
  while (latencies.length < want && now() < lateUntil) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { total, acked, sendSeconds, want, elapsed, late: latencies.length - beforeLate };
}

function percentiles(values) {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1] };
}

const groups = await setUp();
input.groups.forEach((tokens, g) => (groups[g].tokens = tokens));
say(`${groups.length} groups, ${sockets} sockets ready`);
let result = { sockets };
if (!input.idle) {
  if (reactions) {
    // Enough messages that no socket reacts twice alike: each has EMOJIS.length per message.
    const perSocket = Math.ceil((input.rate * input.seconds) / sockets);
    await seed(groups, Math.max(3, Math.ceil(perSocket / EMOJIS.length)));
  }
  listen(groups);
  const run = await load(groups);
  const delivered = latencies.length;
  result = {
    ...result,
    sent: run.total,
    acknowledged: run.acked,
    refused,
    unanswered,
    // Messages saved (received by a socket at least once), unanswered sends too: what the
    // search index owes the run.
    ...(reactions ? { errors } : { saved: received.size }),
    kind: reactions ? "reactions" : "messages",
    offered_rate: input.rate,
    send_rate: run.total / run.sendSeconds,
    deliveries_expected: run.want,
    delivered,
    lost: [...acknowledged].reduce(
      (sum, n) => sum + Math.max(0, expected.get(n) - (received.get(n) ?? 0)),
      0,
    ),
    // The first few owed and never received: which message of which group, and how many
    // of its sockets lack it.
    missing: [...acknowledged]
      .filter((n) => (received.get(n) ?? 0) < expected.get(n))
      .slice(0, 10)
      .map((n) => ({ n, group: groupOf.get(n), lacking: expected.get(n) - (received.get(n) ?? 0) })),
    late: run.late,
    duplicates,
    delivered_per_second: (delivered - run.late) / run.elapsed,
    latency_ms: percentiles(latencies),
    ack_ms: percentiles(ackLatencies),
    send_to_decided_ms: percentiles(toDecided),
    decided_to_receive_ms: percentiles(fromDecided),
    last_saved_at: lastSavedAt || null,
  };
} else {
  await new Promise((resolve) => setTimeout(resolve, (input.hold ?? 3) * 1000));
}
process.stdout.write(JSON.stringify(result) + "\n");
for (const group of groups) for (const socket of group.sockets) socket.close();
process.exit(0);
