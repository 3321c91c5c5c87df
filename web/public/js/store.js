// What the page knows of each group: its messages by seq (so a message seen twice is kept
// once, and order is by seq whatever the arrival order), the window of them shown (from the
// older-history cursor up to the newest, or, after a jump to a search result, up to the
// newer-history cursor), who is online and who is typing. A direct conversation is a group
// of two with ``direct`` and ``peer`` (the other person) in its info.

const TYPING_SHOWN_MS = 4_000;
export const QUOTE_CHARS = 100; // a reply's quote: this much of the original (records/views.py)

export class GroupState {
  constructor(info, { listed = true } = {}) {
    this.info = info; // {group_id, name, private, owner_id, last_seq, members, role, direct, peer}
    // Whether the server's ``groups`` has listed it; one added from ``direct_opened`` or the
    // ``direct`` answer may not be in it yet, and is not dropped for that.
    this.listed = listed;
    this.messages = new Map(); // seq → message
    this.pending = new Map(); // client_msg_id → {body, error}
    this.loaded = false; // a page has been read: the newest, or the one around a search result
    this.nextBeforeSeq = null; // history cursor for older messages; null when at the start
    // History cursor for newer messages; null when the window reaches the newest (live
    // messages show as they come). Set after a jump: those past it are kept, not shown yet.
    this.nextAfterSeq = null;
    this.windowNumber = 0; // counts jumps: a page asked for before one does not move the window
    this.lastSeq = info.last_seq ?? 0; // highest seq this page has seen
    this.lastChange = info.last_change ?? 0; // highest edit/delete number this page has seen
    this.unread = info.unread ?? 0; // kept by the server, across reloads and devices
    this.countedSeq = info.last_seq ?? 0; // the server's unread count covers messages up to here
    this.mentions = info.mentions ?? 0;
    this.lastRead = info.last_read_seq ?? 0; // this person's read marker
    this.readers = new Map(); // user_id → the seq they have read up to ("seen by")
    this.divider = null; // show "New messages" before this seq, from when the group was opened
    this.members = []; // [{user_id, username, role, last_read_seq}]
    this.online = new Map(); // user_id → username
    this.typing = new Map(); // user_id → {username, until}
  }

  get id() {
    return this.info.group_id;
  }

  get direct() {
    return Boolean(this.info.direct);
  }

  /** The other person of a direct conversation ({user_id, username}), else null. */
  get peer() {
    return this.direct ? (this.info.peer ?? null) : null;
  }

  /** What the page calls it: a direct conversation by the other person's name. */
  get name() {
    return this.peer?.username ?? this.info.name;
  }

  /** The server's counts, from ``groups`` (on connect and reload). */
  counted(info) {
    this.info = info;
    this.listed = true;
    this.unread = info.unread ?? 0;
    this.countedSeq = Math.max(this.countedSeq, info.last_seq ?? 0);
    this.mentions = info.mentions ?? 0;
    this.lastRead = Math.max(this.lastRead, info.last_read_seq ?? 0);
  }

  /** Someone's read marker moved (a receipt, or this person on another device). */
  readBy(userId, seq) {
    this.readers.set(userId, Math.max(this.readers.get(userId) ?? 0, seq));
  }

  /** Add or update a message; returns "new", "updated" or "same". */
  put(message) {
    const known = this.messages.get(message.seq);
    this.lastSeq = Math.max(this.lastSeq, message.seq);
    if (message.client_msg_id) this.pending.delete(message.client_msg_id);
    if (!known) {
      this.messages.set(message.seq, { ...message });
      return "new";
    }
    const changed =
      known.body !== message.body ||
      known.deleted !== message.deleted ||
      known.edited_at !== message.edited_at ||
      !same(known.reactions, message.reactions) ||
      !same(known.reply_to, message.reply_to);
    Object.assign(known, message);
    return changed ? "updated" : "same";
  }

  edited({ seq, body, edited_at, change }) {
    this.lastChange = Math.max(this.lastChange, change ?? 0);
    const known = this.messages.get(seq);
    if (!known) return null;
    Object.assign(known, { body, edited_at });
    return known;
  }

  deleted({ seq, change }) {
    this.lastChange = Math.max(this.lastChange, change ?? 0);
    const known = this.messages.get(seq);
    if (!known) return null;
    Object.assign(known, { body: "", deleted: true, reactions: [] });
    return known;
  }

  /** Someone's reaction came or went (``reaction``): the count is the server's, the people
   * shown are those the page knows of. Returns the message, or null when it is not here. */
  reacted({ seq, emoji, user_id: userId, reacted, count, change }) {
    this.lastChange = Math.max(this.lastChange, change ?? 0);
    const known = this.messages.get(seq);
    if (!known || known.deleted) return null;
    const reactions = (known.reactions ?? []).map((r) => ({ ...r, user_ids: [...(r.user_ids ?? [])] }));
    let entry = reactions.find((r) => r.emoji === emoji);
    if (!entry) {
      entry = { emoji, count: 0, user_ids: [] };
      reactions.push(entry);
    }
    entry.user_ids = entry.user_ids.filter((id) => id !== userId);
    if (reacted) entry.user_ids.push(userId);
    entry.count = Math.max(count ?? 0, entry.user_ids.length);
    known.reactions = reactions.filter((r) => r.count > 0);
    return known;
  }

  /** The replies here that quote the message an edit or delete changed, their quotes made
   * anew from it (as the server makes them: the first QUOTE_CHARS characters, or deleted). */
  requoted({ message_id: messageId, body, deleted }) {
    const replies = [];
    for (const message of this.messages.values()) {
      const quote = message.reply_to;
      if (!quote || quote.message_id !== messageId) continue;
      const { snippet, ...rest } = quote;
      message.reply_to = deleted
        ? { ...rest, deleted: true }
        : { ...rest, snippet: Array.from(body ?? "").slice(0, QUOTE_CHARS).join(""), deleted: false };
      replies.push(message);
    }
    return replies;
  }

  /** The messages shown, oldest first. */
  ordered() {
    return [...this.messages.values()].filter((m) => this.shows(m.seq)).sort((a, b) => a.seq - b.seq);
  }

  // --- the window shown: [oldest loaded … newest loaded, or live] ------------------------
  // The map may also hold messages outside it (from an earlier window, or live ones that
  // came while the window ends before them): they are right, but what lies between them and
  // the window is not known yet, so they wait until the window reaches them.

  /** Whether the window holds ``seq`` (messages outside it are kept, not shown). */
  shows(seq) {
    if (!this.loaded) return false;
    if (this.nextBeforeSeq !== null && seq < this.nextBeforeSeq) return false;
    return this.nextAfterSeq === null || seq <= this.nextAfterSeq;
  }

  /** The window reaches the newest message: live ones show as they come. */
  get atNewest() {
    return this.nextAfterSeq === null;
  }

  /** The newest seq shown (the read marker may move up to it). */
  get newestShown() {
    return this.nextAfterSeq ?? this.lastSeq;
  }

  /** Back to the newest page, read again (``loadNewest``); nothing is shown until then. */
  toNewest() {
    this.loaded = false;
    this.nextAfterSeq = null;
    this.windowNumber += 1;
  }

  /** The page of ``history`` + ``around_seq``: it becomes the window. */
  jumped(reply) {
    for (const message of reply.messages) this.put(message);
    this.loaded = true;
    this.windowNumber += 1;
    this.nextBeforeSeq = reply.next_before_seq ?? null;
    this.newerLoaded(reply.next_after_seq ?? newestOf(reply.messages, 0));
  }

  /** A page of ``history`` + ``after_seq`` from ``after`` (within window ``number``). */
  newerPage(reply, after, number) {
    for (const message of reply.messages) this.put(message);
    if (number !== this.windowNumber || this.nextAfterSeq !== after) return;
    this.newerLoaded(reply.next_after_seq ?? newestOf(reply.messages, after));
  }

  /** The window now ends at ``seq``; it goes on over messages the map already holds in a
   * row (live ones among them) and, once it reaches the newest seen, it is open-ended. */
  newerLoaded(seq) {
    let end = seq;
    while (this.messages.has(end + 1)) end += 1;
    this.nextAfterSeq = end >= this.lastSeq ? null : end;
  }

  /** A page of ``history`` + ``before_seq`` (within window ``number``). */
  olderPage(reply, number) {
    for (const message of reply.messages) this.put(message);
    if (number === this.windowNumber) this.nextBeforeSeq = reply.next_before_seq ?? null;
  }

  startedTyping(userId, username) {
    this.typing.set(userId, { username, until: Date.now() + TYPING_SHOWN_MS });
  }

  /** Usernames typing right now (entries that ran out are dropped). */
  typers() {
    const now = Date.now();
    for (const [userId, entry] of this.typing) if (entry.until <= now) this.typing.delete(userId);
    return [...this.typing.values()].map((entry) => entry.username);
  }
}

function same(a, b) {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** The highest seq of a page of messages, or ``otherwise`` when it has none. */
function newestOf(messages, otherwise) {
  return messages.reduce((newest, message) => Math.max(newest, message.seq), otherwise);
}

export function typingText(names) {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}
