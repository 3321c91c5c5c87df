// Direct conversations and blocking. A direct conversation is a private group of two, opened
// with ``direct`` (by username from the sidebar's form, or from a person's name); the other
// person's pages hear of it with ``direct_opened``, list it at once and follow it (``join``),
// so its badge counts before it is opened. A person's name (in the members list, in a direct
// conversation's header) opens a small menu: write to them, block or unblock them.

import { $, fill, h } from "./dom.js";
import { GroupState } from "./store.js";

export class Directs {
  constructor(app, signal) {
    this.app = app;
    this.blocked = new Map(); // user_id → username: the people this person blocks
    this.menu = null; // the open person menu: {node, button}
    $("new-direct-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("new-direct-username");
      const username = input.value.trim();
      if (!username) return;
      this.start({ username }, () => {
        input.value = "";
      });
    }, { signal });
    $("unblock-button").addEventListener("click", () => {
      const peer = this.app.conversation.group?.peer;
      if (peer) this.setBlocked(peer, false);
    }, { signal });
    document.addEventListener("click", (event) => {
      const { node, button } = this.menu ?? {};
      if (node && !node.contains(event.target) && !button.contains(event.target)) this.closeMenu();
    }, { signal });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.menu) {
        const { button } = this.menu;
        this.closeMenu();
        button.focus();
      }
    }, { signal });
  }

  get call() {
    return this.app.connection.call.bind(this.app.connection);
  }

  clear() {
    this.closeMenu();
    this.blocked.clear();
    fill($("direct-list"));
    $("new-direct-username").value = "";
  }

  // --- opening ---------------------------------------------------------------------------

  /** Open the direct conversation with ``target`` ({username} or {user_id}) and show it;
   * ``done`` runs once it is open. A refusal (no such person, a block) is said in plain
   * words where the person asked. */
  async start(target, done = () => {}) {
    const fromSidebar = "username" in target;
    if (fromSidebar) $("sidebar-error").textContent = "";
    try {
      const reply = await this.call("direct", target);
      const group = this.listed(reply.group_id, reply.peer);
      done();
      this.app.open(group);
    } catch (error) {
      const text = refusal(error, target.username);
      if (fromSidebar || !this.app.conversation.group) this.app.sidebar.notice(text);
      else this.app.conversation.fail({ message: text });
    }
  }

  /** ``direct_opened``: a conversation begun with this person (by the other, or by them on
   * another device), or one they had left that the other wrote in again. Listed at once and
   * followed: its messages count before it is opened. The server's counts come first (one
   * left and come back to has messages read long ago), then the messages after them. */
  async opened({ group_id: groupId, peer }) {
    if (!groupId || !peer || this.app.groups.has(groupId)) return;
    const group = this.listed(groupId, peer);
    try {
      await this.app.loadGroups().catch((error) => {
        if (error.code === "offline") throw error;
      });
      if (this.app.groups.get(groupId) !== group) return; // gone again meanwhile
      await this.app.catchUp(group, group.countedSeq, group.lastChange);
    } catch (error) {
      if (error.code !== "offline") this.app.sidebar.error(error);
    }
  }

  /** The conversation as the page lists it: known, or added until ``groups`` lists it. */
  listed(groupId, peer) {
    this.app.names.set(peer.user_id, peer.username);
    let group = this.app.groups.get(groupId);
    if (!group) {
      const info = {
        group_id: groupId,
        name: peer.username,
        private: true,
        owner_id: "",
        last_seq: 0,
        members: 2,
        direct: true,
        peer,
      };
      group = new GroupState(info, { listed: false });
      this.app.groups.set(groupId, group);
      this.app.sidebar.renderGroups();
    }
    return group;
  }

  // --- blocking --------------------------------------------------------------------------

  isBlocked(userId) {
    return this.blocked.has(userId);
  }

  /** The people this person blocks (on every connect). An older server does not know the
   * request: nobody is blocked then. */
  async loadBlocked() {
    try {
      const reply = await this.call("blocked", {});
      this.blocked = new Map((reply.blocked ?? []).map((u) => [u.user_id, u.username]));
      this.render();
    } catch {
      // Kept as it was: the next connect asks again.
    }
  }

  async setBlocked(person, blocked) {
    try {
      const reply = await this.call(blocked ? "block" : "unblock", { user_id: person.user_id });
      const { user_id: userId, username } = person;
      this.blockChanged({ user_id: userId, username, blocked: reply.blocked ?? blocked });
    } catch (error) {
      const text = `Could not ${blocked ? "block" : "unblock"} ${person.username}: ${error.message}`;
      if (this.app.conversation.group) this.app.conversation.fail({ message: text });
      else this.app.sidebar.notice(text);
    }
  }

  /** ``block_changed`` (this person's pages) or a ``block``/``unblock`` answer. */
  blockChanged({ user_id: userId, username, blocked }) {
    if (!userId) return;
    if (blocked) this.blocked.set(userId, username ?? this.app.nameOf(userId) ?? "");
    else this.blocked.delete(userId);
    this.render();
  }

  render() {
    this.app.conversation.renderHeader();
    if (this.app.conversation.group) this.app.conversation.members.render();
    this.app.sidebar.renderGroups();
  }

  // --- a person's name and its menu ------------------------------------------------------

  /** ``person`` ({user_id, username}) as a button that opens what can be done: write to
   * them (``message``: not from their own conversation), block or unblock them. Oneself is
   * plain text. */
  personNode(person, { message = true } = {}) {
    if (person.user_id === this.app.session.userId) return h("span", { class: "person" }, person.username);
    const wrapper = h("span", { class: "person" });
    const button = h(
      "button",
      {
        type: "button",
        class: "person-name",
        "aria-haspopup": "menu",
        "aria-expanded": "false",
        title: `What to do with ${person.username}`,
        dataset: { focus: `person:${person.user_id}` },
        onclick: () => this.toggleMenu(wrapper, button, person, message),
      },
      person.username,
    );
    wrapper.append(button);
    return wrapper;
  }

  toggleMenu(wrapper, button, person, message) {
    const wasFor = this.menu?.button === button;
    this.closeMenu();
    if (wasFor) return;
    const blocked = this.isBlocked(person.user_id);
    const item = (text, action) =>
      h(
        "button",
        {
          type: "button",
          role: "menuitem",
          onclick: () => {
            this.closeMenu();
            action();
          },
        },
        text,
      );
    const node = h(
      "div",
      { class: "person-menu", role: "menu", "aria-label": person.username },
      message ? item("Send a direct message", () => this.start({ user_id: person.user_id })) : null,
      blocked
        ? item(`Unblock ${person.username}`, () => this.setBlocked(person, false))
        : item(`Block ${person.username}`, () => this.setBlocked(person, true)),
    );
    wrapper.append(node);
    button.setAttribute("aria-expanded", "true");
    this.menu = { node, button };
    node.querySelector("button")?.focus();
  }

  closeMenu() {
    if (!this.menu) return;
    this.menu.node.remove();
    this.menu.button.setAttribute("aria-expanded", "false");
    this.menu = null;
  }
}

/** A refused ``direct`` in plain words. */
function refusal(error, username) {
  if (error.code === "user_not_found") return `There is nobody called ${username ?? "that"}.`;
  if (error.code === "not_allowed") return error.message || "You cannot write to yourself.";
  if (error.code === "blocked") return error.message || "You cannot write to this person.";
  return error.message ?? String(error);
}
