// The open group: its messages (the newest page first, older ones on scroll), kept in order
// by seq and in view, and who is typing. What the person writes is the composer's
// (composer.js); who is in the group, the members panel's (members.js).

import { Composer } from "./composer.js";
import { $, fill, h, show } from "./dom.js";
import { MembersPanel } from "./members.js";
import { messageNode } from "./messages.js";
import { typingText } from "./store.js";

const PAGE = 50;
const NEAR_TOP_PX = 120;
const NEAR_BOTTOM_PX = 80;
const READ_EVERY_MS = 500;

export class Conversation {
  constructor(app, signal) {
    this.app = app;
    this.group = null;
    this.loadingOlder = false;
    this.typingTimer = null;
    this.readTimer = null;
    this.unsentReads = new Map(); // group → the newest seq read and not yet told the server
    this.list = $("message-list");
    this.pendingList = $("pending-list");
    this.scroller = $("messages");
    this.scroller.addEventListener("scroll", () => {
      if (this.scroller.scrollTop < NEAR_TOP_PX) this.loadOlder();
    }, { signal });
    this.composer = new Composer(this, signal);
    this.members = new MembersPanel(this, signal);
  }

  get call() {
    return this.app.connection.call.bind(this.app.connection);
  }

  get me() {
    return this.app.session.userId;
  }

  /** Show ``group``; read its newest page the first time, and who is in it. */
  async open(group) {
    this.group = group;
    // "New messages" from where this person stopped reading, if anything came since.
    group.divider = group.unread > 0 ? group.lastRead + 1 : null;
    show($("no-conversation"), false);
    show($("conversation-body"), true);
    $("group-title").textContent = group.info.name;
    $("group-kind").textContent = group.info.private ? "private" : "public";
    $("conversation-error").textContent = "";
    $("invite-result").textContent = "";
    this.renderAll();
    this.toBottom();
    await Promise.all([
      group.loaded ? null : this.loadNewest(),
      this.members.load(),
    ]).catch((error) => this.fail(error));
    this.markRead();
  }

  /** Tell the server this person has read the open group to its newest message: their other
   * pages clear the badges, the others see "seen by". The server coalesces these. */
  markRead() {
    const group = this.group;
    if (!group || !group.loaded || document.visibilityState === "hidden") return;
    const seq = group.lastSeq;
    group.unread = 0;
    group.mentions = 0;
    this.app.sidebar.renderGroups();
    if (seq <= group.lastRead) return;
    group.lastRead = seq;
    // At most one `read` per group every READ_EVERY_MS, the newest seq: a busy group would
    // otherwise send one per message and spend the person's allowance.
    this.unsentReads.set(group, seq);
    this.readTimer ??= setTimeout(() => this.sendReads(), READ_EVERY_MS);
  }

  sendReads() {
    this.readTimer = null;
    for (const [group, seq] of this.unsentReads) {
      this.call("read", { group_id: group.id, seq }).catch(() => {
        group.lastRead = 0; // not recorded: the next message or reconnect tries again
      });
    }
    this.unsentReads.clear();
  }

  /** Under the newest message: the other members whose marker has reached it. */
  renderSeen() {
    const group = this.group;
    if (!group) return;
    const newest = group.lastSeq;
    const names = group.members
      .filter((m) => m.user_id !== this.me && (group.readers.get(m.user_id) ?? 0) >= newest)
      .map((m) => m.username)
      .sort();
    $("seen-line").textContent = newest && names.length ? `Seen by ${names.join(", ")}` : "";
  }

  close() {
    this.group = null;
    show($("conversation-body"), false);
    show($("no-conversation"), true);
  }

  isOpen(group) {
    return this.group !== null && this.group === group;
  }

  // --- reading -------------------------------------------------------------------------

  /** The newest page; also after a reconnect, to catch edits and deletions made meanwhile. */
  async loadNewest() {
    const group = this.group;
    const reply = await this.call("history", { group_id: group.id, limit: PAGE });
    const firstTime = !group.loaded;
    for (const message of reply.messages) group.put(message);
    if (firstTime) group.nextBeforeSeq = reply.next_before_seq;
    group.loaded = true;
    if (!this.isOpen(group)) return;
    this.renderAll();
    if (firstTime) this.toBottom();
    this.fillScreen();
  }

  /** Older messages, kept in view where the reader was. */
  async loadOlder() {
    const group = this.group;
    if (!group || !group.loaded || this.loadingOlder || group.nextBeforeSeq === null) return;
    this.loadingOlder = true;
    $("history-status").textContent = "Loading older messages…";
    try {
      const reply = await this.call("history", {
        group_id: group.id,
        before_seq: group.nextBeforeSeq,
        limit: PAGE,
      });
      for (const message of reply.messages) group.put(message);
      group.nextBeforeSeq = reply.next_before_seq;
      if (!this.isOpen(group)) return;
      const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
      this.renderAll();
      this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
    } catch (error) {
      this.fail(error);
    } finally {
      this.loadingOlder = false;
      this.renderHistoryStatus();
    }
    this.fillScreen();
  }

  /** Keep reading older pages while they do not fill the screen (nothing to scroll yet). */
  fillScreen() {
    if (this.scroller.scrollHeight <= this.scroller.clientHeight + NEAR_TOP_PX) {
      queueMicrotask(() => this.loadOlder());
    }
  }

  // --- rendering -----------------------------------------------------------------------

  renderAll() {
    const group = this.group;
    const nodes = [];
    for (const message of group.ordered()) {
      if (group.divider !== null && message.seq === group.divider) {
        nodes.push(h("li", { class: "divider", role: "separator" }, "New messages"));
      }
      nodes.push(this.messageNode(message));
    }
    fill(this.list, nodes);
    fill(
      this.pendingList,
      [...group.pending].map(([id, pending]) => this.composer.pendingNode(id, pending)),
    );
    this.renderHistoryStatus();
    this.renderTyping();
    this.renderSeen();
    this.members.render();
  }

  renderHistoryStatus() {
    const group = this.group;
    let text = "";
    if (!group.loaded) text = "Loading…";
    else if (group.nextBeforeSeq === null) {
      text = group.messages.size ? "This is the beginning of the conversation." : "No messages yet: say hello!";
    }
    $("history-status").textContent = text;
  }

  /** A message that arrived, changed or was deleted: put it in its place by seq. */
  showMessage(message) {
    const stick = this.nearBottom() || message.sender_id === this.me;
    const node = this.messageNode(message);
    const existing = this.list.querySelector(`li[data-seq="${Number(message.seq)}"]`);
    if (existing) existing.replaceWith(node);
    else {
      let after = this.list.lastElementChild;
      while (after && Number(after.dataset.seq) > message.seq) after = after.previousElementSibling;
      if (after) after.after(node);
      else this.list.prepend(node);
    }
    if (message.client_msg_id) {
      this.pendingList.querySelector(`li[data-client-msg-id="${CSS.escape(message.client_msg_id)}"]`)?.remove();
    }
    this.renderHistoryStatus();
    this.renderSeen();
    if (stick) this.toBottom();
  }

  messageNode(message) {
    return messageNode(message, this.me, {
      edit: () => this.composer.startEdit(message),
      remove: (button) => this.composer.remove(message, button),
    });
  }

  renderTyping() {
    if (!this.group) return;
    const names = this.group.typers();
    $("typing-line").textContent = typingText(names);
    clearTimeout(this.typingTimer);
    if (names.length) this.typingTimer = setTimeout(() => this.renderTyping(), 1_000);
  }

  // --- helpers -------------------------------------------------------------------------

  nearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  toBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  fail(error) {
    $("conversation-error").textContent = error.message ?? String(error);
  }
}
