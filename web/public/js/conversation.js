// The open group: its messages, kept in order by seq and in view, and who is typing. It opens
// at the newest page (older ones load on scroll), or at a search result: the page around it,
// older and newer ones on scroll, until the newest is reached and live ones show again.
// It opens where the person stopped reading (the "New messages" divider), else at the bottom.
// A reply's quote takes the reader to the original, read around it if it is not loaded.
// What the person writes is the composer's (composer.js); who is in the group, the members
// panel's (members.js).

import { Composer } from "./composer.js";
import { $, fill, h, keepingFocus, show } from "./dom.js";
import { MembersPanel } from "./members.js";
import { messageNode } from "./messages.js";
import { pickerNode } from "./reactions.js";
import { typingText } from "./store.js";

const PAGE = 50;
const NEAR_TOP_PX = 120;
const NEAR_BOTTOM_PX = 80;
const NEAR_END_PX = 120; // this close to the end of a window that stops short: read on
const READ_EVERY_MS = 500;
const FLASH_MS = 3_000; // how long the original of a clicked quote stays marked
// A touch screen's keyboard would cover the messages: there the group's name takes the focus.
const TOUCH = window.matchMedia("(pointer: coarse)");

export class Conversation {
  constructor(app, signal) {
    this.app = app;
    this.group = null;
    // {group, seq, mark}: where the group was opened: a search result ("search", marked), the
    // original of a quote ("flash", marked for a moment), or the "New messages" divider.
    this.found = null;
    this.picker = null; // the open reaction picker: {node, button}
    this.loadingOlder = false;
    this.loadingNewer = false;
    this.typingTimer = null;
    this.readTimer = null;
    this.unsentReads = new Map(); // group → the newest seq read and not yet told the server
    this.list = $("message-list");
    this.pendingList = $("pending-list");
    this.scroller = $("messages");
    this.scroller.addEventListener("scroll", () => {
      if (this.scroller.scrollTop < NEAR_TOP_PX) this.loadOlder();
      if (this.nearEnd()) this.loadNewer();
    }, { signal });
    $("to-newest").addEventListener("click", () => this.toNewest(), { signal });
    // A click anywhere but the reaction picker (or the button that opened it) closes it.
    document.addEventListener("click", (event) => {
      const { node, button } = this.picker ?? {};
      if (node && !node.contains(event.target) && !button.contains(event.target)) this.closePicker();
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

  /** Show ``group`` at its newest messages (read the first time, and again after a jump to
   * a search result), and who is in it; with more unread than a page, the messages around
   * the first unread one. */
  async open(group) {
    if (!this.isOpen(group) && group.unread >= PAGE && group.lastRead > 0) {
      return this.openAt(group, group.lastRead + 1, "divider");
    }
    this.found = null;
    if (!group.atNewest) group.toNewest();
    this.show(group);
    this.renderAll();
    this.land();
    await Promise.all([
      group.loaded ? null : this.loadNewest(),
      this.members.load(),
    ]).catch((error) => this.fail(error));
    this.markRead();
  }

  /** Show ``group`` at message ``seq``: the messages around it, it in the middle; ``mark``
   * says why: a search result ("search": marked and focused), the original of a quote
   * ("flash": marked for a moment), the first unread message ("divider": the view starts at
   * the "New messages" line). Older and newer ones load as the person scrolls. */
  async openAt(group, seq, mark = "search") {
    const found = { group, seq, mark };
    const switching = !this.isOpen(group);
    this.found = found;
    if (switching) this.show(group);
    try {
      if (!group.shows(seq)) {
        if (switching) this.renderAll(); // the window it had, until the new one comes
        $("history-status").textContent = "Loading…";
        const reply = await this.call("history", { group_id: group.id, around_seq: seq, limit: PAGE });
        if (this.found !== found) {
          // Another was opened meanwhile: these messages are kept, its window stays.
          for (const message of reply.messages) group.put(message);
          return;
        }
        group.jumped(reply);
      }
      if (this.found !== found || !this.isOpen(group)) return;
      this.renderAll();
      if (mark === "divider") this.land();
      else this.scrollToFound();
      this.markRead();
      this.fillScreen();
      if (switching) await this.members.load();
    } catch (error) {
      this.fail(error);
    }
  }

  /** The header and panes of ``group``. */
  show(group) {
    this.group = group;
    // "New messages" from where this person stopped reading, if anything came since.
    group.divider = group.unread > 0 ? group.lastRead + 1 : null;
    show($("no-conversation"), false);
    show($("conversation-body"), true);
    this.closePicker();
    this.composer.cancelReply();
    this.renderHeader();
    $("conversation-error").textContent = "";
    $("invite-result").textContent = "";
  }

  /** The title: a group's name (and, when another of the person's groups has the same, a
   * tag that tells them apart), or the other person of a direct conversation, whose name
   * opens what can be done about them (block); a line when one of them blocks the other. */
  renderHeader() {
    const group = this.group;
    if (!group) return;
    const peer = group.peer;
    const title = $("group-title");
    keepingFocus(title, () => {
      if (peer) fill(title, this.app.directs.personNode(peer, { message: false }));
      else title.textContent = group.name;
    });
    $("group-kind").textContent = group.direct ? "direct message" : group.info.private ? "private" : "public";
    $("group-tag").textContent = this.app.tagOf(group);
    $("conversation-body").classList.toggle("direct", group.direct);
    show($("invite-form"), !group.direct);
    $("leave-button").textContent = group.direct ? "Leave this conversation" : "Leave this group";
    const blocking = peer ? this.app.directs.isBlocked(peer.user_id) : false;
    show($("blocked-line"), blocking);
    $("blocked-text").textContent = blocking
      ? `You block ${peer.username}: neither of you can write here until you unblock them.`
      : "";
  }

  /** From a window that stops short of the newest message to the newest: the person asked,
   * or is writing (what they send shows with the newest). */
  async toNewest() {
    const group = this.group;
    if (!group || group.atNewest) return;
    this.found = null;
    group.toNewest();
    this.renderAll();
    try {
      await this.loadNewest();
      this.markRead();
    } catch (error) {
      this.fail(error);
    }
  }

  /** Tell the server this person has read the open group to the newest message shown: their
   * other pages clear the badges, the others see "seen by". The server coalesces these. */
  markRead() {
    const group = this.group;
    if (!group || !group.loaded || document.visibilityState === "hidden") return;
    // A window that stops short (a search result's) is read up to its end; the badges stay
    // for the newer messages, not seen yet.
    const seq = group.newestShown;
    if (group.atNewest && (group.unread || group.mentions)) {
      group.unread = 0;
      group.mentions = 0;
      this.app.sidebar.renderGroups();
    }
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

  /** Under the newest message (when it is shown): the other members whose marker has
   * reached it. */
  renderSeen() {
    const group = this.group;
    if (!group) return;
    const newest = group.atNewest ? group.lastSeq : 0;
    const names = group.members
      .filter((m) => m.user_id !== this.me && (group.readers.get(m.user_id) ?? 0) >= newest)
      .map((m) => m.username)
      .sort();
    $("seen-line").textContent = newest && names.length ? `Seen by ${names.join(", ")}` : "";
  }

  close() {
    this.group = null;
    this.found = null;
    this.closePicker();
    this.composer.cancelReply();
    show($("conversation-body"), false);
    show($("no-conversation"), true);
  }

  /** Logging out: nothing of this person's conversation stays on the page. */
  reset() {
    this.close();
    clearTimeout(this.readTimer);
    clearTimeout(this.typingTimer);
    this.readTimer = null;
    this.unsentReads.clear();
    for (const id of ["message-list", "pending-list", "member-list", "mention-list"]) fill($(id));
    for (const id of [
      "group-title", "group-kind", "group-tag", "online-line", "seen-line", "typing-line",
      "history-status", "newer-status", "conversation-error", "invite-result", "blocked-text",
    ]) $(id).textContent = "";
    show($("blocked-line"), false);
    show($("mention-list"), false);
    $("composer-input").value = "";
    $("invite-username").value = "";
    $("members-panel").open = false;
  }

  isOpen(group) {
    return this.group !== null && this.group === group;
  }

  /** The keyboard to the open group: its composer (its name, on a touch screen). */
  focusComposer() {
    if (!this.group) return;
    if (TOUCH.matches) $("group-title").focus({ preventScroll: true });
    else $("composer-input").focus({ preventScroll: true });
  }

  /** The keyboard to a control of message ``seq`` (``what``: "edit", "reply"…), or to the
   * message itself. */
  focusMessage(seq, what) {
    const node = this.list.querySelector(`li[data-seq="${Number(seq)}"]`);
    if (!node) return;
    const control = node.querySelector(`[data-focus="${CSS.escape(`${what}:${seq}`)}"]`);
    if (control) control.focus({ preventScroll: true });
    else focusable(node).focus({ preventScroll: true });
  }

  // --- reading -------------------------------------------------------------------------

  /** The newest page; also after a reconnect, to catch edits and deletions made meanwhile
   * (kept and shown once the window reaches them, when it stops short of the newest). */
  async loadNewest() {
    const group = this.group;
    const number = group.windowNumber;
    const reply = await this.call("history", { group_id: group.id, limit: PAGE });
    for (const message of reply.messages) group.put(message);
    if (number !== group.windowNumber) return; // a jump to a search result came first
    const firstTime = !group.loaded;
    if (firstTime) group.nextBeforeSeq = reply.next_before_seq;
    group.loaded = true;
    if (!this.isOpen(group)) return;
    this.renderAll();
    if (firstTime) this.land();
    this.fillScreen();
  }

  /** Older messages, kept in view where the reader was. */
  async loadOlder() {
    const group = this.group;
    if (!group || !group.loaded || this.loadingOlder || group.nextBeforeSeq === null) return;
    this.loadingOlder = true;
    $("history-status").textContent = "Loading older messages…";
    try {
      const number = group.windowNumber;
      const reply = await this.call("history", {
        group_id: group.id,
        before_seq: group.nextBeforeSeq,
        limit: PAGE,
      });
      group.olderPage(reply, number);
      if (!this.isOpen(group)) return;
      const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
      this.renderAll();
      this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
    } catch (error) {
      this.fail(error);
    } finally {
      this.loadingOlder = false;
      if (this.group) this.renderHistoryStatus();
    }
    this.fillScreen();
  }

  /** Newer messages, after a window that stops short of the newest (a search result's),
   * added below the reader; once the window reaches the newest, live ones show again. */
  async loadNewer() {
    const group = this.group;
    if (!group || !group.loaded || this.loadingNewer || group.atNewest) return;
    this.loadingNewer = true;
    $("newer-status").textContent = "Loading newer messages…";
    let grew = false;
    try {
      const [number, after] = [group.windowNumber, group.nextAfterSeq];
      const reply = await this.call("history", { group_id: group.id, after_seq: after, limit: PAGE });
      group.newerPage(reply, after, number);
      grew = group.nextAfterSeq !== after;
      if (!this.isOpen(group)) return;
      const top = this.scroller.scrollTop;
      this.renderAll();
      this.scroller.scrollTop = top;
      this.markRead();
    } catch (error) {
      this.fail(error);
    } finally {
      this.loadingNewer = false;
      if (this.group) this.renderNewerStatus();
    }
    // A page that brought nothing new (the views behind the live messages) waits for the
    // next scroll rather than asking again at once.
    if (grew) this.fillScreen();
  }

  /** Keep reading pages while they do not fill the screen (nothing to scroll yet). */
  fillScreen() {
    if (this.scroller.scrollHeight <= this.scroller.clientHeight + NEAR_TOP_PX) {
      queueMicrotask(() => {
        this.loadOlder();
        this.loadNewer();
      });
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
    keepingFocus(this.list, () => {
      this.closePicker();
      fill(this.list, nodes);
    });
    fill(
      this.pendingList,
      [...group.pending].map(([id, pending]) => this.composer.pendingNode(id, pending)),
    );
    this.renderHistoryStatus();
    this.renderNewerStatus();
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

  /** Under a window that stops short of the newest: that newer messages follow, and a way
   * straight to the newest. */
  renderNewerStatus() {
    const group = this.group;
    const short = group.loaded && !group.atNewest;
    if (!this.loadingNewer || !short) {
      $("newer-status").textContent = short ? "Newer messages load as you scroll down." : "";
    }
    show($("to-newest"), short);
  }

  /** A message that arrived, changed or was deleted: put it in its place by seq, if the
   * window shows it (one past a window that stops short waits until the window gets there). */
  showMessage(message) {
    if (message.client_msg_id) {
      this.pendingList.querySelector(`li[data-client-msg-id="${CSS.escape(message.client_msg_id)}"]`)?.remove();
    }
    if (!this.group.shows(message.seq)) return;
    const node = this.messageNode(message);
    const existing = this.list.querySelector(`li[data-seq="${Number(message.seq)}"]`);
    // A new message of one's own brings the view down to it; a change (an edit, a reaction)
    // of an older one leaves the view where it is.
    const stick = this.nearBottom() || (!existing && message.sender_id === this.me);
    // A control the keyboard was on has the focus again, or the message itself does.
    keepingFocus(this.list, () => {
      if (existing && this.picker && existing.contains(this.picker.node)) this.closePicker();
      if (existing) existing.replaceWith(node);
      else {
        let after = this.list.lastElementChild;
        while (after && Number(after.dataset.seq) > message.seq) after = after.previousElementSibling;
        if (after) after.after(node);
        else this.list.prepend(node);
      }
    }, () => focusable(node));
    this.renderHistoryStatus();
    this.renderSeen();
    if (stick) this.toBottom();
  }

  messageNode(message) {
    const at = this.found?.group === this.group && this.found.seq === message.seq;
    const group = this.group;
    return messageNode(message, this.me, {
      edit: () => this.composer.startEdit(message),
      remove: (button) => this.composer.remove(message, button),
      reply: () => this.composer.startReply(message),
      react: (button) => this.togglePicker(message, button),
      toggle: (emoji) => this.react(message, emoji),
      original: (seq) => this.showOriginal(seq),
      nameOf: (userId) => this.app.nameOf(userId, group),
    }, { found: at && this.found.mark === "search", flash: at && this.found.mark === "flash" });
  }

  /** The message opened at (a search result, a quote's original): in the middle of the
   * view, and focused, so a keyboard user reads on from there. */
  scrollToFound() {
    const found = this.found;
    const node = found && this.list.querySelector(`li[data-seq="${Number(found.seq)}"]`);
    if (!node) return;
    node.scrollIntoView({ block: "center" });
    node.focus({ preventScroll: true });
    if (found.mark === "flash") {
      setTimeout(() => {
        if (this.found === found) this.found = null;
        node.classList.remove("flash");
      }, FLASH_MS);
    }
  }

  /** Where an opened group starts: at the "New messages" divider when there is one, a
   * little of what was read above it; else at the newest message. */
  land() {
    const divider = this.list.querySelector("li.divider");
    if (!divider) return this.toBottom();
    const offset = divider.getBoundingClientRect().top - this.scroller.getBoundingClientRect().top;
    this.scroller.scrollTop += offset - 8;
  }

  // --- replies and reactions -----------------------------------------------------------

  /** A quote was clicked: its original, in view and marked a moment; read around it first
   * when it is not among the messages shown (as a search result is). */
  async showOriginal(seq) {
    const group = this.group;
    if (!group) return;
    const found = { group, seq, mark: "flash" };
    if (group.shows(seq) && group.messages.has(seq)) {
      this.found = found;
      const node = this.list.querySelector(`li[data-seq="${Number(seq)}"]`);
      node?.classList.add("flash");
      node?.setAttribute("tabindex", "-1");
      this.scrollToFound();
      return;
    }
    await this.openAt(group, seq, "flash");
  }

  async react(message, emoji) {
    try {
      await this.call("react", { message_id: message.message_id, emoji });
    } catch (error) {
      this.fail(error);
    }
  }

  togglePicker(message, button) {
    const wasFor = this.picker?.button === button;
    this.closePicker();
    if (wasFor) return;
    const node = pickerNode(
      (emoji) => this.react(message, emoji),
      () => {
        this.closePicker();
        button.focus();
      },
    );
    // Its buttons share the key of the one that opened it: when the message is drawn again
    // under the picker (someone's reaction), the focus goes back to that button.
    for (const pick of node.querySelectorAll("button")) pick.dataset.focus = button.dataset.focus;
    button.closest("li.message")?.append(node);
    button.setAttribute("aria-expanded", "true");
    this.picker = { node, button };
    node.querySelector("button")?.focus();
  }

  closePicker() {
    if (!this.picker) return;
    this.picker.node.remove();
    this.picker.button.setAttribute("aria-expanded", "false");
    this.picker = null;
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

  nearEnd() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_END_PX;
  }

  toBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  fail(error) {
    $("conversation-error").textContent = error.message ?? String(error);
  }
}

/** ``node``, focusable from script (not a Tab stop). */
function focusable(node) {
  if (!node.hasAttribute("tabindex")) node.tabIndex = -1;
  return node;
}
