// One message as the page shows it: sender, time, "(edited)", the body as text, a tombstone
// for a deleted one, and Edit/Delete on one's own.

import { formatTime, h } from "./dom.js";

/** @param actions {edit(), remove(button)} for the person's own messages
 * @param found whether it is the search result the conversation was opened at: marked as
 *   the current one, and focusable so the page can take the reader there */
export function messageNode(message, myId, actions, { found = false } = {}) {
  const mine = message.sender_id === myId;
  const time = formatTime(message.saved_at);
  const named = !message.deleted && (message.mentions ?? []).includes(myId);
  const classes = [
    "message",
    mine && "mine",
    message.deleted && "deleted",
    named && "mentions-me",
    found && "search-hit",
  ].filter(Boolean);
  const body = message.deleted
    ? h("p", { class: "body tombstone" }, "This message was deleted.")
    : h("p", { class: "body" }, message.body);
  const buttons =
    mine && !message.deleted
      ? h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "link", onclick: () => actions.edit() }, "Edit"),
          h(
            "button",
            { type: "button", class: "link danger", onclick: (e) => actions.remove(e.currentTarget) },
            "Delete",
          ),
        )
      : null;
  return h(
    "li",
    {
      class: classes.join(" "),
      dataset: { seq: message.seq, messageId: message.message_id },
      "aria-current": found ? "true" : null,
      tabindex: found ? "-1" : null,
    },
    h(
      "div",
      { class: "meta" },
      h("span", { class: "sender" }, mine ? `${message.sender} (you)` : message.sender),
      h("time", { datetime: message.saved_at, title: time.long }, time.short),
      message.edited_at && !message.deleted ? h("span", { class: "edited" }, "(edited)") : null,
      buttons,
    ),
    body,
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
