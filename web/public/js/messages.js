// One message as the page shows it: sender, time, "(edited)", the quote of the message it
// replies to, the body as text, a tombstone for a deleted one, its reactions, and Reply and
// React on every message, Edit/Delete on one's own.

import { formatTime, h } from "./dom.js";
import { reactionsNode } from "./reactions.js";

/** @param actions {edit(), remove(button), reply(), react(button), toggle(emoji),
 *   original(seq), nameOf(user_id)}
 * @param found whether it is the search result the conversation was opened at: marked as
 *   the current one, and focusable so the page can take the reader there
 * @param flash whether it is the original a quote was clicked for: marked for a moment */
export function messageNode(message, myId, actions, { found = false, flash = false } = {}) {
  const mine = message.sender_id === myId;
  const time = formatTime(message.saved_at);
  const named = !message.deleted && (message.mentions ?? []).includes(myId);
  const classes = [
    "message",
    mine && "mine",
    message.deleted && "deleted",
    named && "mentions-me",
    found && "search-hit",
    flash && "flash",
  ].filter(Boolean);
  const body = message.deleted
    ? h("p", { class: "body tombstone" }, "This message was deleted.")
    : h("p", { class: "body" }, message.body);
  // Each control has a key (data-focus): when the message is drawn again (an edit, a
  // reaction), the control the keyboard was on gets the focus back.
  const key = (what) => `${what}:${message.seq}`;
  const buttons = message.deleted
    ? null
    : h(
        "div",
        { class: "actions" },
        h(
          "button",
          { type: "button", class: "link", dataset: { focus: key("reply") }, onclick: () => actions.reply() },
          "Reply",
        ),
        h(
          "button",
          {
            type: "button",
            class: "link react",
            "aria-label": "Add a reaction",
            "aria-haspopup": "true",
            "aria-expanded": "false",
            title: "Add a reaction",
            dataset: { focus: key("react") },
            onclick: (e) => actions.react(e.currentTarget),
          },
          h("span", { "aria-hidden": "true" }, "☺+"),
        ),
        mine
          ? h(
              "button",
              { type: "button", class: "link", dataset: { focus: key("edit") }, onclick: () => actions.edit() },
              "Edit",
            )
          : null,
        mine
          ? h(
              "button",
              {
                type: "button",
                class: "link danger",
                dataset: { focus: key("delete") },
                onclick: (e) => actions.remove(e.currentTarget),
              },
              "Delete",
            )
          : null,
      );
  const quote =
    message.reply_to && !message.deleted
      ? quoteNode(message.reply_to, () => actions.original(message.reply_to.seq), key("quote"))
      : null;
  return h(
    "li",
    {
      class: classes.join(" "),
      dataset: { seq: message.seq, messageId: message.message_id },
      "aria-current": found ? "true" : null,
      tabindex: found || flash ? "-1" : null,
    },
    h(
      "div",
      { class: "meta" },
      h("span", { class: "sender" }, mine ? `${message.sender} (you)` : message.sender),
      h("time", { datetime: message.saved_at, title: time.long }, time.short),
      message.edited_at && !message.deleted ? h("span", { class: "edited" }, "(edited)") : null,
      buttons,
    ),
    quote,
    body,
    message.deleted ? null : reactionsNode(message, myId, actions.nameOf, actions.toggle, key),
  );
}

/** Above a reply: whom it answers and the start of what they wrote (or that it is gone);
 * a click goes to the original. */
export function quoteNode(quote, open, focusKey = null) {
  return h(
    "button",
    {
      type: "button",
      class: `quote${quote.deleted ? " gone" : ""}`,
      title: "Show the original message",
      dataset: focusKey ? { focus: focusKey } : null,
      onclick: open,
    },
    h("span", { class: "visually-hidden" }, "In reply to "),
    h("span", { class: "quote-sender" }, quote.sender || "someone"),
    h("span", { class: "visually-hidden" }, ": "),
    h("span", { class: "quote-text" }, quote.deleted ? "Original message deleted" : quote.snippet ?? ""),
  );
}

/** A message on its way (or refused): @param actions {retry(), discard(node)} */
export function pendingNode(clientMsgId, pending, myName, actions) {
  const node = h(
    "li",
    { class: `message mine pending${pending.error ? " failed" : ""}`, dataset: { clientMsgId } },
    h(
      "div",
      { class: "meta" },
      h("span", { class: "sender" }, `${myName} (you)`),
      h("span", { class: "state" }, pending.error ? "not sent" : "sending…"),
    ),
    pending.replyTo
      ? h(
          "p",
          { class: "quote static" },
          h("span", { class: "visually-hidden" }, "In reply to "),
          h("span", { class: "quote-sender" }, pending.replyTo.sender),
          h("span", { class: "quote-text" }, pending.replyTo.snippet),
        )
      : null,
    h("p", { class: "body" }, pending.body),
    pending.error
      ? h(
          "div",
          { class: "actions" },
          h("span", { class: "error" }, pending.error),
          h("button", { type: "button", class: "link", onclick: () => actions.retry() }, "Retry"),
          h("button", { type: "button", class: "link", onclick: () => actions.discard(node) }, "Discard"),
        )
      : null,
  );
  return node;
}
