// What the person writes in the open group: new messages (shown as "sending…" until saved,
// kept and resent after a reconnect, with Retry when refused), replies (the quote above the
// composer until sent or cancelled), typing notices, and edits and deletions of their own
// messages. A send's error shows under the composer until a later send goes through.

import { MentionCompleter } from "./completion.js";
import { $, focusLost, h, randomId, show } from "./dom.js";
import { pendingNode } from "./messages.js";
import { QUOTE_CHARS } from "./store.js";

export const MAX_BODY = 4000;
const TYPING_EVERY_MS = 2_000;
const BUSY_TRIES = 5; // sends refused as "unavailable", each after its retry_after, before an error shows

export class Composer {
  constructor(conversation, signal) {
    this.conversation = conversation;
    this.lastTypingSent = 0;
    this.replyTo = null; // {message_id, seq, sender, snippet}: what the next message answers
    this.errorShown = ""; // the send error this composer put under it, if still there
    this.input = $("composer-input");
    // Registered first: an Enter that picks a name is not a send.
    this.completer = new MentionCompleter(this.input, () => this.others(), signal);
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    }, { signal });
    this.input.addEventListener("keydown", (event) => {
      if (event.isComposing || event.defaultPrevented) return;
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        this.send();
      } else if (event.key === "Escape" && this.replyTo) {
        event.preventDefault();
        this.cancelReply();
      }
    }, { signal });
    $("reply-cancel").addEventListener("click", () => {
      this.cancelReply();
      this.input.focus();
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
      this.showError(`A message has at most ${MAX_BODY} characters.`);
      return;
    }
    this.input.value = "";
    this.completer.close();
    const replyTo = this.replyTo;
    this.cancelReply();
    // Written while reading back from a search result: it shows with the newest messages.
    if (!this.group.atNewest) this.conversation.toNewest();
    this.submit(randomId(), body, this.group, replyTo);
  }

  /** Send (or send again: the same ``clientMsgId``) a message, in answer to ``replyTo``. */
  async submit(clientMsgId, body, group = this.group, replyTo = null, busyTries = 0) {
    group.pending.set(clientMsgId, { body, replyTo, error: null });
    this.renderPending(group, clientMsgId);
    if (this.conversation.isOpen(group)) this.conversation.toBottom();
    const message = { group_id: group.id, client_msg_id: clientMsgId, body };
    if (replyTo) message.reply_to = replyTo.message_id;
    try {
      await this.conversation.call("send", message);
      if (this.conversation.isOpen(group)) this.clearError();
    } catch (error) {
      // Offline: it stays "sending…" and goes out on reconnect (see ChatApp.resendQueued).
      if (error.code === "offline") return;
      // Too busy just now: it stays "sending…" and goes again when the server said, a few
      // times before the person is asked (the same client_msg_id: never saved twice).
      if (error.code === "unavailable" && error.retryAfter && busyTries < BUSY_TRIES) {
        setTimeout(() => {
          if (group.pending.get(clientMsgId)?.error === null) {
            this.submit(clientMsgId, body, group, replyTo, busyTries + 1);
          }
        }, error.retryAfter * 1000);
        return;
      }
      this.rejected(group, clientMsgId, error.message);
    }
  }

  /** A send refused at once or later (``message_rejected``): keep it, with Retry, and say
   * why under the composer. */
  rejected(group, clientMsgId, message) {
    const pending = group.pending.get(clientMsgId);
    if (!pending) return;
    pending.error = message;
    this.renderPending(group, clientMsgId);
    if (this.conversation.isOpen(group)) this.showError(`Not sent: ${message}`);
  }

  showError(text) {
    $("conversation-error").textContent = text;
    this.errorShown = text;
  }

  /** A send went through: a send's error shown before is out of date (another is kept). */
  clearError() {
    const line = $("conversation-error");
    if (this.errorShown && line.textContent === this.errorShown) line.textContent = "";
    this.errorShown = "";
  }

  // --- replies -------------------------------------------------------------------------

  /** "Reply" on a message: its quote above the composer, the composer focused. */
  startReply(message) {
    this.replyTo = {
      message_id: message.message_id,
      seq: message.seq,
      sender: message.sender,
      snippet: Array.from(message.body ?? "").slice(0, QUOTE_CHARS).join(""),
    };
    $("reply-sender").textContent = message.sender;
    $("reply-snippet").textContent = this.replyTo.snippet;
    show($("reply-bar"), true);
    this.input.focus();
  }

  cancelReply() {
    this.replyTo = null;
    show($("reply-bar"), false);
    $("reply-sender").textContent = "";
    $("reply-snippet").textContent = "";
  }

  /** The original was deleted (or edited) before the reply went: the quote follows it. */
  originalChanged(messageId, body, deleted) {
    if (this.replyTo?.message_id !== messageId) return;
    if (deleted) {
      this.cancelReply();
      this.showError("The message you were replying to was deleted.");
      return;
    }
    this.replyTo.snippet = Array.from(body ?? "").slice(0, QUOTE_CHARS).join("");
    $("reply-snippet").textContent = this.replyTo.snippet;
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
      retry: () => this.submit(clientMsgId, pending.body, this.group, pending.replyTo),
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
    // Saved or cancelled, the keyboard is back on the message's Edit.
    const done = () => {
      conversation.showMessage(this.group.messages.get(message.seq) ?? message);
      conversation.focusMessage(message.seq, "edit");
    };
    const save = async (event) => {
      event.preventDefault();
      if (!editor.value.trim()) return;
      try {
        await conversation.call("edit", { message_id: message.message_id, body: editor.value });
        this.group.edited({ seq: message.seq, body: editor.value, edited_at: new Date().toISOString() });
        done();
      } catch (error) {
        conversation.fail(error);
      }
    };
    const form = h(
      "form",
      {
        class: "edit-form",
        onsubmit: save,
        onkeydown: (event) => {
          if (event.key !== "Escape") return;
          event.preventDefault();
          done();
        },
      },
      editor,
      h("div", { class: "row" },
        h("button", { type: "submit" }, "Save"),
        h("button", { type: "button", class: "secondary", onclick: done }, "Cancel")),
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
      // The button is gone with the message: the keyboard goes on writing.
      const node = this.conversation.list.querySelector(`li[data-seq="${Number(message.seq)}"]`);
      if (focusLost() || node?.contains(document.activeElement)) this.input.focus();
    } catch (error) {
      this.conversation.fail(error);
    }
  }
}
