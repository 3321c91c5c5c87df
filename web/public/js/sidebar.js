// The sidebar: the person's groups and direct conversations (each with its unread badge; two
// groups of the same name told apart by a tag), their pending invitations (to private groups),
// creating a group and finding public ones. Joining or creating lists the group and opens it.

import { $, fill, h, keepingFocus, show } from "./dom.js";

export class Sidebar {
  constructor(app, signal) {
    this.app = app;
    this.invitations = new Map(); // group_id → {group_id, name, by_id, by}
    $("create-group-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.createGroup();
    }, { signal });
    $("find-groups-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.findGroups();
    }, { signal });
  }

  /** Logging out: nothing of this person's lists, notices or half-typed names stays. */
  clear() {
    fill($("group-list"));
    fill($("direct-list"));
    fill($("found-groups"));
    fill($("invitation-list"));
    this.invitations.clear();
    show($("invitations-section"), false);
    show($("no-groups"), true);
    show($("no-directs"), true);
    $("sidebar-error").textContent = "";
    for (const id of ["new-group-name", "find-groups-query", "new-direct-username"]) $(id).value = "";
    $("new-group-private").checked = false;
  }

  // --- groups --------------------------------------------------------------------------

  renderGroups() {
    const byName = (a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
    const all = [...this.app.groups.values()].sort(byName);
    const groups = all.filter((group) => !group.direct);
    const directs = all.filter((group) => group.direct);
    show($("no-groups"), groups.length === 0);
    show($("no-directs"), directs.length === 0);
    // Drawn again on every badge change: the keyboard keeps its place in the list.
    for (const [list, listed] of [[$("group-list"), groups], [$("direct-list"), directs]]) {
      const items = listed.map((group) => h("li", {}, this.groupButton(group)));
      keepingFocus(list, () => fill(list, items), () => $("groups-heading"));
    }
  }

  /** The keyboard to ``group`` in the list, or to the list's heading when it is not there. */
  focusGroup(group) {
    const button = group && this.app.groups.has(group.id)
      ? document.querySelector(`#sidebar button.group[data-group-id="${CSS.escape(group.id)}"]`)
      : null;
    (button ?? $("groups-heading")).focus();
  }

  /** A group, or a direct conversation (said so, to the eye and to a screen reader), with
   * its badges. */
  groupButton(group) {
    const tag = this.app.tagOf(group);
    const blocked = group.peer && this.app.directs.isBlocked(group.peer.user_id);
    return h(
      "button",
      {
        type: "button",
        class: group.direct ? "group direct" : "group",
        "aria-current": group === this.app.conversation.group ? "true" : null,
        dataset: { groupId: group.id, focus: `group:${group.id}` },
        onclick: () => this.app.open(group),
      },
      group.direct ? h("span", { class: "avatar", "aria-hidden": "true" }, initial(group.name)) : null,
      group.direct ? h("span", { class: "visually-hidden" }, "Direct message with ") : null,
      h("span", { class: "name" }, group.name),
      tag ? h("span", { class: "group-tag", title: `group ${group.id}` }, tag) : null,
      group.info.private && !group.direct ? h("span", { class: "badge" }, "private") : null,
      blocked ? h("span", { class: "badge" }, "blocked") : null,
      group.mentions
        ? h("span", { class: "mention-count", title: "mentions of you" }, `@${group.mentions}`)
        : null,
      group.unread ? h("span", { class: "unread", title: "unread messages" }, group.unread) : null,
    );
  }

  async createGroup() {
    const name = $("new-group-name").value.trim();
    if (!name) return;
    try {
      const reply = await this.app.connection.call("create_group", {
        name,
        private: $("new-group-private").checked,
      });
      $("new-group-name").value = "";
      $("new-group-private").checked = false;
      await this.opened(reply.group_id);
    } catch (error) {
      this.error(error);
    }
  }

  async findGroups() {
    const groups = this.app.groups;
    try {
      const reply = await this.app.connection.call("find_groups", { query: $("find-groups-query").value.trim() });
      fill(
        $("found-groups"),
        reply.groups.length
          ? reply.groups.map((found) =>
              h(
                "li",
                { class: "found" },
                h("span", { class: "name" }, found.name),
                h("span", { class: "muted" }, `${found.members} member${found.members === 1 ? "" : "s"}`),
                groups.has(found.group_id)
                  ? h("button", { type: "button", class: "secondary", onclick: () => this.app.open(groups.get(found.group_id)) }, "Open")
                  : h("button", { type: "button", onclick: () => this.join(found.group_id) }, "Join"),
              ),
            )
          : [h("li", { class: "muted" }, "No public group has that in its name.")],
      );
    } catch (error) {
      this.error(error);
    }
  }

  async join(groupId) {
    try {
      await this.app.connection.call("join", { group_id: groupId });
      this.invitations.delete(groupId);
      this.renderInvitations();
      fill($("found-groups"));
      await this.opened(groupId);
    } catch (error) {
      this.error(error);
    }
  }

  /** Turn an invitation down: it is gone for good, on every page of the person. */
  async decline(groupId) {
    try {
      await this.app.connection.call("decline", { group_id: groupId });
      this.withdrawn(groupId);
    } catch (error) {
      this.error(error);
    }
  }

  /** An invitation declined here or elsewhere, or revoked by the group. */
  withdrawn(groupId) {
    this.invitations.delete(groupId);
    this.renderInvitations();
  }

  /** After creating or joining: list the group and open it. */
  async opened(groupId) {
    $("sidebar-error").textContent = "";
    await this.app.loadGroups();
    const group = this.app.groups.get(groupId);
    if (group) this.app.open(group);
  }

  error(error) {
    this.notice(error.message ?? String(error));
  }

  notice(text) {
    $("sidebar-error").textContent = text;
  }

  // --- invitations ---------------------------------------------------------------------

  /** The server's list (on every connect): it holds those not yet joined. */
  setInvitations(invitations) {
    this.invitations = new Map(invitations.map((invitation) => [invitation.group_id, invitation]));
    this.renderInvitations();
  }

  /** One that just came (``invited``). */
  invited(invitation) {
    this.invitations.set(invitation.group_id, invitation);
    this.renderInvitations();
  }

  renderInvitations() {
    const shown = [...this.invitations.values()]
      .filter((i) => !this.app.groups.has(i.group_id))
      .sort((a, b) => a.name.localeCompare(b.name));
    show($("invitations-section"), shown.length > 0);
    keepingFocus(
      $("invitation-list"),
      () => fill($("invitation-list"), shown.map((invitation) => this.invitationNode(invitation))),
      () => $("groups-heading"),
    );
  }

  invitationNode({ group_id: groupId, name, by }) {
    return h(
      "li",
      { class: "invitation", dataset: { groupId } },
      h(
        "div",
        { class: "what" },
        h("span", { class: "name" }, name),
        h("span", { class: "muted by" }, `invited by ${by}`),
      ),
      h(
        "button",
        { type: "button", dataset: { focus: `join:${groupId}` }, onclick: () => this.join(groupId) },
        "Join",
      ),
      h(
        "button",
        {
          type: "button",
          class: "link",
          dataset: { focus: `decline:${groupId}` },
          onclick: () => this.decline(groupId),
        },
        "Decline",
      ),
    );
  }
}

/** The first letter of a name, for a direct conversation's round mark. */
function initial(name) {
  return (Array.from(name ?? "")[0] ?? "?").toUpperCase();
}
