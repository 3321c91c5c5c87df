// The open group's people: who is online, the member list (the owner can remove members; a
// name opens a menu to write to that person directly, or block them), inviting someone by
// username, and leaving the group (or the direct conversation).

import { $, fill, h, keepingFocus } from "./dom.js";

export class MembersPanel {
  constructor(conversation, signal) {
    this.conversation = conversation;
    $("invite-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.invite();
    }, { signal });
    $("leave-button").addEventListener("click", () => this.leave(), { signal });
    // Escape folds the panel away, back to its summary (a person's menu in it closes first).
    const panel = $("members-panel");
    panel.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || !panel.open || conversation.app.directs.menu) return;
      event.preventDefault();
      panel.open = false;
      panel.querySelector("summary").focus();
    }, { signal });
  }

  get group() {
    return this.conversation.group;
  }

  async load() {
    const group = this.group;
    const call = this.conversation.call;
    const [members, presence] = await Promise.all([
      call("members", { group_id: group.id }),
      call("presence", { group_id: group.id }),
    ]);
    group.members = members.members;
    for (const member of members.members) {
      group.readBy(member.user_id, member.last_read_seq ?? 0);
      this.conversation.app.names.set(member.user_id, member.username);
    }
    group.online = new Map(presence.online.map((u) => [u.user_id, u.username]));
    if (this.conversation.isOpen(group)) {
      this.render();
      this.conversation.renderSeen();
    }
  }

  render() {
    const group = this.group;
    const me = this.conversation.me;
    const online = [...group.online.values()].sort();
    $("online-line").textContent = online.length
      ? `Online: ${online.join(", ")}`
      : "Nobody else is online";
    const amOwner = group.info.owner_id === me;
    const list = $("member-list");
    keepingFocus(list, () => fill(
      list,
      group.members.map((member) =>
        h(
          "li",
          { class: group.online.has(member.user_id) ? "online" : "" },
          h("span", { class: "dot", "aria-hidden": "true" }),
          this.conversation.app.directs.personNode(member, { message: !group.direct }),
          member.role === "owner" ? h("span", { class: "badge" }, "owner") : null,
          this.conversation.app.directs.isBlocked(member.user_id)
            ? h("span", { class: "badge" }, "blocked by you")
            : null,
          amOwner && member.user_id !== me
            ? h(
                "button",
                {
                  type: "button",
                  class: "link danger",
                  "aria-label": `Remove ${member.username}`,
                  dataset: { focus: `remove:${member.user_id}` },
                  onclick: () => this.removeMember(member),
                },
                "Remove",
              )
            : null,
        ),
      ),
    ), () => $("members-panel").querySelector("summary"));
    const count = group.members.length || group.info.members;
    $("members-panel").querySelector("summary").textContent = group.direct
      ? `Members (${count})`
      : `Members (${count}) & invite`;
  }

  async invite() {
    const input = $("invite-username");
    const username = input.value.trim();
    if (!username) return;
    try {
      await this.conversation.call("invite", { group_id: this.group.id, username });
      $("invite-result").textContent = `Invited ${username}.`;
      input.value = "";
    } catch (error) {
      $("invite-result").textContent = `Could not invite ${username}: ${error.message}`;
    }
  }

  async removeMember(member) {
    try {
      await this.conversation.call("remove_member", { group_id: this.group.id, user_id: member.user_id });
    } catch (error) {
      this.conversation.fail(error);
    }
  }

  async leave() {
    const group = this.group;
    try {
      await this.conversation.call("leave", { group_id: group.id });
      this.conversation.app.forget(group.id);
    } catch (error) {
      this.conversation.fail(error);
    }
  }
}
