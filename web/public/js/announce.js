// What a screen reader hears of what comes in while the person is elsewhere on the page: one
// short line in a polite live region (#announcements, visually hidden) per new message of the
// open group, and per mention or direct message in another. Only live messages are said:
// history paged in, and what a reconnect catches up on, are not news.

import { $, h } from "./dom.js";

const KEPT_LINES = 20; // older lines go (removals are not read out: aria-relevant's default)
const SAID_CHARS = 120; // a long body is cut: the line is a notice, the message is on the page

export class Announcer {
  constructor(node = $("announcements")) {
    this.node = node;
    this.said = new Map(); // group_id → the newest seq said: a message is said once at most
  }

  /** One line, read once. */
  say(text) {
    this.node.append(h("p", {}, text));
    while (this.node.childElementCount > KEPT_LINES) this.node.firstElementChild.remove();
  }

  /** A new message of the open group: "ann: the body". */
  message(group, message) {
    if (!this.first(group, message)) return;
    const body = message.deleted ? "a deleted message" : short(message.body ?? "");
    this.say(`${message.sender}: ${body}`);
  }

  /** A direct message in a conversation that is not open. */
  direct(group, message) {
    if (!this.first(group, message)) return;
    this.say(`Direct message from ${message.sender}: ${short(message.body ?? "")}`);
  }

  /** Someone named the person in a group that is not open. */
  mentioned(by, groupName) {
    this.say(`${by || "Someone"} mentioned you in ${groupName}`);
  }

  clear() {
    this.node.replaceChildren();
    this.said.clear();
  }

  first(group, message) {
    if (message.seq <= (this.said.get(group.id) ?? 0)) return false;
    this.said.set(group.id, message.seq);
    return true;
  }
}

function short(text) {
  const chars = Array.from(text.replace(/\s+/g, " ").trim());
  return chars.length > SAID_CHARS ? `${chars.slice(0, SAID_CHARS).join("")}…` : chars.join("");
}
