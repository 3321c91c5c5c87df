// What the page knows of each group: its messages by seq (so a message seen twice is kept
// once, and order is by seq whatever the arrival order), the history cursor, who is online
// and who is typing.

const TYPING_SHOWN_MS = 4_000;

export class GroupState {
  constructor(info) {
    this.info = info; // {group_id, name, private, owner_id, last_seq, members, role}
    this.messages = new Map(); // seq → message
    this.pending = new Map(); // client_msg_id → {body, error}
    this.loaded = false; // the newest page has been read
    this.nextBeforeSeq = null; // history cursor for older messages; null when at the start
    this.lastSeq = info.last_seq ?? 0; // highest seq this page has seen
    this.lastChange = info.last_change ?? 0; // highest edit/delete number this page has seen
    this.unread = info.unread ?? 0; // kept by the server, across reloads and devices
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

  /** The server's counts, from ``groups`` (on connect and reload). */
  counted(info) {
    this.info = info;
    this.unread = info.unread ?? 0;
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
      known.edited_at !== message.edited_at;
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
    Object.assign(known, { body: "", deleted: true });
    return known;
  }

  /** Messages oldest first. */
  ordered() {
    return [...this.messages.values()].sort((a, b) => a.seq - b.seq);
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

export function typingText(names) {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}
