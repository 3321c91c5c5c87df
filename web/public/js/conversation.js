// The open group: its messages (newest first read, older ones on scroll), the composer,
// editing and deleting one's own messages, who is online, who is typing, members and invites.

import { $, fill, h, randomId, show } from "./dom.js";
import { messageNode, pendingNode } from "./messages.js";
import { typingText } from "./store.js";

const PAGE = 50;
const MAX_BODY = 4000;
const TYPING_EVERY_MS = 2_000;
const NEAR_TOP_PX = 120;
const NEAR_BOTTOM_PX = 80;

export class Conversation {
  constructor(app, signal) {
    this.app = app;
    this.group = null;
    this.loadingOlder = false;
    this.lastTypingSent = 0;
    this.typingTimer = null;
    this.list = $("message-list");
    this.pendingList = $("pending-list");
    this.scroller = $("messages");
    this.input = $("composer-input");
    this.scroller.addEventListener("scroll", () => {
      if (this.scroller.scrollTop < NEAR_TOP_PX) this.loadOlder();
    }, { signal });
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    }, { signal });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    }, { signal });
    this.input.addEventListener("input", () => this.typed(), { signal });
    $("invite-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.invite();
    }, { signal });
    $("leave-button").addEventListener("click", () => this.leave(), { signal });
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
    group.unread = 0;
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
      this.loadMembers(),
    ]).catch((error) => this.fail(error));
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

  async loadMembers() {
    const group = this.group;
    const [members, presence] = await Promise.all([
      this.call("members", { group_id: group.id }),
      this.call("presence", { group_id: group.id }),
    ]);
    group.members = members.members;
    group.online = new Map(presence.online.map((u) => [u.user_id, u.username]));
    if (this.isOpen(group)) this.renderPeople();
  }

  // --- rendering -----------------------------------------------------------------------

  renderAll() {
    const group = this.group;
    fill(this.list, group.ordered().map((m) => this.messageNode(m)));
    fill(
      this.pendingList,
      [...group.pending].map(([id, pending]) => this.pendingNode(id, pending)),
    );
    this.renderHistoryStatus();
    this.renderTyping();
    this.renderPeople();
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
    if (stick) this.toBottom();
  }

  messageNode(message) {
    return messageNode(message, this.me, {
      edit: () => this.startEdit(message),
      remove: (button) => this.remove(message, button),
    });
  }

  pendingNode(clientMsgId, pending) {
    return pendingNode(clientMsgId, pending, this.app.session.username, {
      retry: () => this.submit(clientMsgId, pending.body),
      discard: (node) => {
        this.group.pending.delete(clientMsgId);
        node.remove();
      },
    });
  }

  renderTyping() {
    if (!this.group) return;
    const names = this.group.typers();
    $("typing-line").textContent = typingText(names);
    clearTimeout(this.typingTimer);
    if (names.length) this.typingTimer = setTimeout(() => this.renderTyping(), 1_000);
  }

  renderPeople() {
    const group = this.group;
    const online = [...group.online.values()].sort();
    $("online-line").textContent = online.length
      ? `Online: ${online.join(", ")}`
      : "Nobody else is online";
    const amOwner = group.info.owner_id === this.me;
    fill(
      $("member-list"),
      group.members.map((member) =>
        h(
          "li",
          { class: group.online.has(member.user_id) ? "online" : "" },
          h("span", { class: "dot", "aria-hidden": "true" }),
          h("span", {}, member.username),
          member.role === "owner" ? h("span", { class: "badge" }, "owner") : null,
          amOwner && member.user_id !== this.me
            ? h("button", { type: "button", class: "link danger", onclick: () => this.removeMember(member) }, "Remove")
            : null,
        ),
      ),
    );
    $("members-panel").querySelector("summary").textContent =
      `Members (${group.members.length || group.info.members}) & invite`;
  }

  // --- writing -------------------------------------------------------------------------

  send() {
    const body = this.input.value;
    if (!body.trim() || !this.group) return;
    if (body.length > MAX_BODY) {
      $("conversation-error").textContent = `A message has at most ${MAX_BODY} characters.`;
      return;
    }
    this.input.value = "";
    this.submit(randomId(), body);
  }

  async submit(clientMsgId, body, group = this.group) {
    group.pending.set(clientMsgId, { body, error: null });
    this.renderPending(group, clientMsgId);
    if (this.isOpen(group)) this.toBottom();
    try {
      await this.call("send", { group_id: group.id, client_msg_id: clientMsgId, body });
    } catch (error) {
      // Offline: it stays "sending…" and goes out on reconnect (see ChatApp.resendQueued).
      if (error.code !== "offline") this.rejected(group, clientMsgId, error.message);
    }
  }

  /** A send refused at once or later (``message_rejected``): keep it, with Retry. */
  rejected(group, clientMsgId, message) {
    const pending = group.pending.get(clientMsgId);
    if (!pending) return;
    pending.error = message;
    this.renderPending(group, clientMsgId);
  }

  renderPending(group, clientMsgId) {
    if (!this.isOpen(group) || !group.pending.has(clientMsgId)) return;
    const node = this.pendingNode(clientMsgId, group.pending.get(clientMsgId));
    const existing = this.pendingList.querySelector(`li[data-client-msg-id="${CSS.escape(clientMsgId)}"]`);
    if (existing) existing.replaceWith(node);
    else this.pendingList.append(node);
  }

  typed() {
    const now = Date.now();
    if (this.group && this.input.value && now - this.lastTypingSent > TYPING_EVERY_MS) {
      this.lastTypingSent = now;
      this.app.connection.emit("typing", { group_id: this.group.id });
    }
  }

  startEdit(message) {
    const node = this.list.querySelector(`li[data-seq="${Number(message.seq)}"]`);
    if (!node) return;
    const editor = h("textarea", { class: "edit-input", maxlength: MAX_BODY, "aria-label": "Edit message" });
    editor.value = message.body;
    const save = async (event) => {
      event.preventDefault();
      if (!editor.value.trim()) return;
      try {
        await this.call("edit", { message_id: message.message_id, body: editor.value });
        this.group.edited({ seq: message.seq, body: editor.value, edited_at: new Date().toISOString() });
        this.showMessage(this.group.messages.get(message.seq));
      } catch (error) {
        this.fail(error);
      }
    };
    const form = h(
      "form",
      { class: "edit-form", onsubmit: save },
      editor,
      h("div", { class: "row" },
        h("button", { type: "submit" }, "Save"),
        h("button", { type: "button", class: "secondary", onclick: () => this.showMessage(message) }, "Cancel")),
    );
    node.querySelector(".body").replaceWith(form);
    node.querySelector(".actions")?.remove();
    editor.focus();
  }

  /** Delete after a second click on the same button, so a slip of the finger costs nothing. */
  async remove(message, button) {
    if (button.dataset.armed !== "yes") {
      button.dataset.armed = "yes";
      button.textContent = "Really delete?";
      setTimeout(() => {
        button.dataset.armed = "";
        button.textContent = "Delete";
      }, 4_000);
      return;
    }
    try {
      await this.call("delete", { message_id: message.message_id });
      this.group.deleted({ seq: message.seq });
      this.showMessage(this.group.messages.get(message.seq));
    } catch (error) {
      this.fail(error);
    }
  }

  async invite() {
    const input = $("invite-username");
    const username = input.value.trim();
    if (!username) return;
    try {
      await this.call("invite", { group_id: this.group.id, username });
      $("invite-result").textContent = `Invited ${username}.`;
      input.value = "";
    } catch (error) {
      $("invite-result").textContent = `Could not invite ${username}: ${error.message}`;
    }
  }

  async removeMember(member) {
    try {
      await this.call("remove_member", { group_id: this.group.id, user_id: member.user_id });
    } catch (error) {
      this.fail(error);
    }
  }

  async leave() {
    const group = this.group;
    try {
      await this.call("leave", { group_id: group.id });
      this.app.forget(group.id);
    } catch (error) {
      this.fail(error);
    }
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
