// What the person writes in the open group: new messages (shown as "sending…" until saved,
// kept and resent after a reconnect, with Retry when refused), typing notices, and edits and
// deletions of their own messages.

import { MentionCompleter } from "./completion.js";
import { $, h, randomId } from "./dom.js";
import { pendingNode } from "./messages.js";

export const MAX_BODY = 4000;
const TYPING_EVERY_MS = 2_000;

export class Composer {
  constructor(conversation, signal) {
    this.conversation = conversation;
    this.lastTypingSent = 0;
    this.input = $("composer-input");
    // Registered first: an Enter that picks a name is not a send.
    this.completer = new MentionCompleter(this.input, () => this.others(), signal);
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    }, { signal });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !event.defaultPrevented) {
        event.preventDefault();
        this.send();
      }
    }, { signal });
    this.input.addEventListener("input", () => this.typed(), { signal });
  }

  get group() {
    return this.conversation.group;
  }

  /** The open group's members a message can name: everyone but oneself. */
  others() {
    const me = this.conversation.app.session.userId;
    return (this.group?.members ?? []).filter((m) => m.user_id !== me);
  }

  // --- new messages --------------------------------------------------------------------

  send() {
    const body = this.input.value;
    if (!body.trim() || !this.group) return;
    if (body.length > MAX_BODY) {
      $("conversation-error").textContent = `A message has at most ${MAX_BODY} characters.`;
      return;
    }
    this.input.value = "";
    this.completer.close();
    // Written while reading back from a search result: it shows with the newest messages.
    if (!this.group.atNewest) this.conversation.toNewest();
    this.submit(randomId(), body);
  }

  async submit(clientMsgId, body, group = this.group) {
    group.pending.set(clientMsgId, { body, error: null });
    this.renderPending(group, clientMsgId);
    if (this.conversation.isOpen(group)) this.conversation.toBottom();
    try {
      await this.conversation.call("send", { group_id: group.id, client_msg_id: clientMsgId, body });
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
    if (!this.conversation.isOpen(group) || !group.pending.has(clientMsgId)) return;
    const list = this.conversation.pendingList;
    const node = this.pendingNode(clientMsgId, group.pending.get(clientMsgId));
    const existing = list.querySelector(`li[data-client-msg-id="${CSS.escape(clientMsgId)}"]`);
    if (existing) existing.replaceWith(node);
    else list.append(node);
  }

  pendingNode(clientMsgId, pending) {
    return pendingNode(clientMsgId, pending, this.conversation.app.session.username, {
      retry: () => this.submit(clientMsgId, pending.body),
      discard: (node) => {
        this.group.pending.delete(clientMsgId);
        node.remove();
      },
    });
  }

  typed() {
    const now = Date.now();
    if (this.group && this.input.value && now - this.lastTypingSent > TYPING_EVERY_MS) {
      this.lastTypingSent = now;
      this.conversation.app.connection.emit("typing", { group_id: this.group.id });
    }
  }

  // --- one's own messages: edit and delete ---------------------------------------------

  startEdit(message) {
    const conversation = this.conversation;
    const node = conversation.list.querySelector(`li[data-seq="${Number(message.seq)}"]`);
    if (!node) return;
    const editor = h("textarea", { class: "edit-input", maxlength: MAX_BODY, "aria-label": "Edit message" });
    editor.value = message.body;
    const save = async (event) => {
      event.preventDefault();
      if (!editor.value.trim()) return;
      try {
        await conversation.call("edit", { message_id: message.message_id, body: editor.value });
        this.group.edited({ seq: message.seq, body: editor.value, edited_at: new Date().toISOString() });
        conversation.showMessage(this.group.messages.get(message.seq));
      } catch (error) {
        conversation.fail(error);
      }
    };
    const form = h(
      "form",
      { class: "edit-form", onsubmit: save },
      editor,
      h("div", { class: "row" },
        h("button", { type: "submit" }, "Save"),
        h("button", { type: "button", class: "secondary", onclick: () => conversation.showMessage(message) }, "Cancel")),
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
      await this.conversation.call("delete", { message_id: message.message_id });
      this.group.deleted({ seq: message.seq });
      this.conversation.showMessage(this.group.messages.get(message.seq));
    } catch (error) {
      this.conversation.fail(error);
    }
  }
}
