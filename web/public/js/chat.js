// The signed-in page: the connection, the person's groups and direct conversations, and the
// server's events routed to the group they belong to (the sidebar and the open conversation
// show them); message search (search.js) opens a conversation at a message found. On a phone
// an open conversation is a step in the browser's history: Back returns to the list.

import { Announcer } from "./announce.js";
import { Connection } from "./connection.js";
import { Conversation } from "./conversation.js";
import { Directs } from "./directs.js";
import { $, focusLost } from "./dom.js";
import { Search } from "./search.js";
import { Sidebar } from "./sidebar.js";
import { GroupState } from "./store.js";

const STATUS_TEXT = {
  connecting: "Connecting…",
  online: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};
// As style.css's phone layout: one pane at a time, an open conversation over the list.
const PHONE = window.matchMedia("(max-width: 720px)");

export class ChatApp {
  constructor(session, onSessionLost) {
    this.session = session;
    this.onSessionLost = onSessionLost;
    this.groups = new Map(); // group_id → GroupState
    this.names = new Map(); // user_id → username, of everyone the page has heard of
    this.resumeFrom = null; // group_id → [last seq, last change] seen when the connection dropped
    this.abort = new AbortController(); // removes the page listeners on logout
    this.announcer = new Announcer();
    this.directs = new Directs(this, this.abort.signal);
    this.conversation = new Conversation(this, this.abort.signal);
    this.sidebar = new Sidebar(this, this.abort.signal);
    this.search = new Search(this, this.abort.signal);
    $("back-button").addEventListener("click", () => this.back(), { signal: this.abort.signal });
    $("skip-link").addEventListener("click", (event) => {
      event.preventDefault(); // the address names the open group: the link only moves the focus
      if (this.conversation.group) this.conversation.focusComposer();
      else $("groups-heading").focus();
    }, { signal: this.abort.signal });
    this.connection = new Connection(session, {
      onState: (state) => this.stateChanged(state),
      onConnected: (isReconnect) => this.connected(isReconnect),
      onSessionLost: (error) => this.onSessionLost(error),
    });
    this.listen();
    $("me").textContent = session.username;
    window.addEventListener("hashchange", this.hashChanged, { signal: this.abort.signal });
  }

  /** Logging out: the connection closes, and nothing of this person stays on the page (the
   * next to log in on this tab sees none of their groups, notices or searches). */
  stop() {
    this.abort.abort();
    this.connection.close();
    this.conversation.reset();
    this.sidebar.clear();
    this.directs.clear();
    this.search.clear();
    this.search.renderScope();
    this.groups.clear();
    this.announcer.clear();
    this.renderSkipLink();
    $("me").textContent = "";
    document.body.classList.remove("in-conversation");
    if (window.location.hash || history.state) history.replaceState(null, "", window.location.pathname);
  }

  // --- connection ----------------------------------------------------------------------

  stateChanged(state) {
    const status = $("connection-status");
    status.dataset.state = state;
    status.textContent = STATUS_TEXT[state] ?? state;
    if (state !== "online" && this.resumeFrom === null) {
      // Remember where each group was, so the missed messages are asked for from there.
      this.resumeFrom = new Map(
        [...this.groups].map(([id, group]) => [id, [group.lastSeq, group.lastChange]]),
      );
    }
  }

  async connected(isReconnect) {
    const resumeFrom = this.resumeFrom ?? new Map();
    this.resumeFrom = null;
    try {
      this.directs.loadBlocked();
      await this.loadGroups();
      await this.follow(resumeFrom);
      await this.resendQueued();
      const open = this.conversation.group;
      // Also when its page never came (asked for while the connection was down).
      if (open && isReconnect) {
        await this.conversation.loadNewest();
        await this.conversation.members.load();
      } else if (!open) {
        this.hashChanged();
      }
    } catch (error) {
      this.sidebar.error(error);
    }
  }

  /** Follow every group (a new socket gets a group's messages only after ``join``), from the
   * last message and the last edit or delete seen: after a drop the server sends what was
   * missed first (messages, then changes), in order, then
   * live ones; a message seen twice is kept once (by seq). */
  async follow(resumeFrom) {
    await Promise.all(
      [...this.groups.values()].map((group) =>
        this.catchUp(
          group,
          resumeFrom.get(group.id)?.[0] ?? group.lastSeq,
          resumeFrom.get(group.id)?.[1] ?? group.lastChange,
        ).catch((error) => {
          if (error.code !== "offline") this.forget(group.id);
        }),
      ),
    );
  }

  /** Join a group from ``sinceSeq``. When more was missed than a join sends (the reply says
   * ``more``), page the rest in order with ``history`` + ``after_seq``, then join again from
   * there: live messages start only once the page has everything before them. */
  async catchUp(group, sinceSeq, sinceChange) {
    let reply = await this.connection.call("join", {
      group_id: group.id,
      since_seq: sinceSeq,
      since_change: sinceChange,
    });
    while (reply.more) {
      let after = reply.last_seq;
      for (;;) {
        const page = await this.connection.call("history", {
          group_id: group.id,
          after_seq: after,
          limit: 100,
        });
        for (const message of page.messages) this.received(message, group);
        if (page.messages.length) after = page.messages[page.messages.length - 1].seq;
        if (page.next_after_seq == null) break;
      }
      reply = await this.connection.call("join", {
        group_id: group.id,
        since_seq: after,
        since_change: sinceChange,
      });
    }
    return reply;
  }

  /** Messages written while the connection was down, or whose answer it lost, go out now;
   * the same client_msg_id makes a resend harmless (the server keeps the first). */
  async resendQueued() {
    for (const group of this.groups.values()) {
      for (const [clientMsgId, pending] of group.pending) {
        if (!pending.error) {
          await this.conversation.composer.submit(clientMsgId, pending.body, group, pending.replyTo);
        }
      }
    }
  }

  async loadGroups() {
    const reply = await this.connection.call("groups");
    const seen = new Set();
    for (const info of reply.groups) {
      seen.add(info.group_id);
      const known = this.groups.get(info.group_id);
      if (known) known.counted(info);
      else this.groups.set(info.group_id, new GroupState(info));
      if (this.conversation.isOpen(this.groups.get(info.group_id))) this.conversation.markRead();
    }
    for (const [id, group] of [...this.groups]) if (!seen.has(id) && group.listed) this.forget(id, false);
    this.sidebar.renderGroups();
    this.conversation.renderHeader();
    this.sidebar.setInvitations(reply.invitations ?? []);
  }

  listen() {
    const on = (event, handler) =>
      this.connection.on(event, (data) => {
        const group = this.groups.get(data?.group_id);
        handler(data, group);
      });
    on("message", (message, group) => this.received(message, group, { live: true }));
    on("message_edited", (change, group) => {
      this.changed(group, group?.edited(change));
      this.requoted(group, { ...change, deleted: false });
    });
    on("message_deleted", (change, group) => {
      this.changed(group, group?.deleted(change));
      this.requoted(group, { ...change, deleted: true });
    });
    on("reaction", (reaction, group) => {
      if (reaction.user_id && reaction.username) this.names.set(reaction.user_id, reaction.username);
      this.changed(group, group?.reacted(reaction));
    });
    on("direct_opened", (opened) => this.directs.opened(opened));
    on("block_changed", (change) => this.directs.blockChanged(change));
    on("member_joined", (member, group) => this.membersChanged(group, member, true));
    on("read", (marker, group) => this.read(group, marker));
    on("mentioned", (mention, group) => {
      if (!group || this.conversation.isOpen(group)) return;
      group.mentions += 1;
      this.sidebar.renderGroups();
      // In a direct conversation the message itself is said (received).
      if (!group.direct) this.announcer.mentioned(mention.by, group.name);
    });
    for (const event of ["invitation_declined", "invitation_revoked"]) {
      on(event, (invitation) => {
        if (invitation.user_id === this.session.userId) this.sidebar.withdrawn(invitation.group_id);
      });
    }
    // Leaving (from this page or another of the person's) and removal alike end it here.
    on("member_left", (member, group) => {
      if (member.user_id === this.session.userId) this.forget(member.group_id);
      else this.membersChanged(group, member, false);
    });
    on("member_removed", (member, group) => {
      if (member.user_id !== this.session.userId) return this.membersChanged(group, member, false);
      if (group) this.sidebar.notice(`You were removed from ${group.info.name}.`);
      this.forget(member.group_id);
    });
    on("invited", (invitation) => this.sidebar.invited(invitation));
    on("typing", (typing, group) => {
      if (!group || typing.user_id === this.session.userId) return;
      group.startedTyping(typing.user_id, typing.username);
      if (this.conversation.isOpen(group)) this.conversation.renderTyping();
    });
    on("presence_changed", (change, group) => {
      if (!group) return;
      if (change.online) group.online.set(change.user_id, change.username);
      else group.online.delete(change.user_id);
      if (this.conversation.isOpen(group)) this.conversation.members.render();
    });
    on("message_rejected", (rejection, group) => {
      if (group) this.conversation.composer.rejected(group, rejection.client_msg_id, rejection.error?.message ?? "refused");
    });
  }

  /** A message from the server: ``live`` when it came as an event (as it was saved, or
   * caught up on after a drop), not in a page of history. */
  received(message, group, { live = false } = {}) {
    if (!group) return; // a group this page does not list yet: loadGroups will bring it
    if (message.sender_id && message.sender) this.names.set(message.sender_id, message.sender);
    group.typing.delete(message.sender_id);
    const open = this.conversation.isOpen(group);
    const mine = message.sender_id === this.session.userId;
    // The server's count (``groups``) already has the messages up to countedSeq.
    const uncounted = message.seq > group.countedSeq && !mine;
    // A direct message not read yet is news, also one caught up on after a drop.
    const directNews = live && !mine && !open && group.direct && message.seq > group.lastRead;
    if (!group.loaded && !open) {
      // Not read yet: count it; its newest page is read when the group is opened.
      if (message.seq > group.lastSeq && uncounted) group.unread += 1;
      group.lastSeq = Math.max(group.lastSeq, message.seq);
      this.sidebar.renderGroups();
      if (directNews) this.announcer.direct(group, message);
      return;
    }
    const outcome = group.put(message);
    if (outcome === "same") return;
    if (open) {
      // While the newest page is still being read, it is shown with that page.
      if (group.loaded) this.conversation.showMessage(group.messages.get(message.seq));
      this.conversation.renderTyping();
      this.conversation.markRead();
      if (live && outcome === "new" && uncounted) this.announcer.message(group, message);
    } else if (outcome === "new" && uncounted) {
      group.unread += 1;
      this.sidebar.renderGroups();
    }
    if (outcome === "new" && directNews) this.announcer.direct(group, message);
  }

  /** A read marker moved: this person's (on any of their pages: the badges clear) or
   * another member's (a receipt: "seen by"). */
  read(group, marker) {
    if (!group) return;
    if (marker.user_id === this.session.userId) {
      group.lastRead = Math.max(group.lastRead, marker.seq);
      if (marker.seq >= group.lastSeq) {
        group.unread = 0;
        group.mentions = 0;
      }
      this.sidebar.renderGroups();
      return;
    }
    group.readBy(marker.user_id, marker.seq);
    if (this.conversation.isOpen(group)) this.conversation.renderSeen();
  }

  changed(group, message) {
    if (message && this.conversation.isOpen(group)) this.conversation.showMessage(message);
  }

  /** An original was edited or deleted: the quotes of its replies follow (and the reply
   * being written, when it answers it). */
  requoted(group, change) {
    if (!group) return;
    for (const reply of group.requoted(change)) this.changed(group, reply);
    if (this.conversation.isOpen(group)) {
      this.conversation.composer.originalChanged(change.message_id, change.body, change.deleted);
    }
  }

  /** A person's name, from the group's members or anything else the page has seen. */
  nameOf(userId, group = null) {
    if (userId === this.session.userId) return this.session.username;
    return group?.members.find((m) => m.user_id === userId)?.username ?? this.names.get(userId) ?? null;
  }

  /** What tells a group apart from another of the person's with the same name: the end of
   * its id ("#3f9c"), as long as it needs to be; "" when its name is its own. */
  tagOf(group) {
    if (group.direct) return "";
    const name = group.name.trim().toLowerCase();
    const twins = [...this.groups.values()].filter(
      (other) => other !== group && !other.direct && other.name.trim().toLowerCase() === name,
    );
    if (!twins.length) return "";
    for (let length = 4; length < group.id.length; length += 2) {
      const tag = group.id.slice(-length);
      if (twins.every((other) => other.id.slice(-length) !== tag)) return `#${tag}`;
    }
    return `#${group.id}`;
  }
  membersChanged(group, member, joined) {
    if (!group) return;
    group.members = group.members.filter((m) => m.user_id !== member.user_id);
    if (!joined) group.online.delete(member.user_id); // gone from the group, online or not
    if (joined) group.members.push({ user_id: member.user_id, username: member.username, role: "member" });
    group.members.sort((a, b) => a.username.localeCompare(b.username));
    group.info.members = group.members.length;
    if (!this.conversation.isOpen(group)) return;
    this.conversation.members.render();
    // Presence is announced at connect; someone who joins now is online without an event.
    if (joined) this.conversation.members.load().catch(() => {});
  }

  /** The person is no longer in the group (left or removed). */
  forget(groupId, render = true) {
    const group = this.groups.get(groupId);
    this.groups.delete(groupId);
    if (group && this.conversation.isOpen(group)) this.closeConversation(false);
    if (render) this.sidebar.renderGroups();
  }

  // --- navigation ----------------------------------------------------------------------

  hashChanged = () => {
    const id = decodeURIComponent(window.location.hash.slice(1));
    const group = this.groups.get(id);
    if (group && !this.conversation.isOpen(group)) this.open(group);
    // Back (the browser's, or "←") to where no group is open: the list, and none open.
    if (!id && this.conversation.group) this.closeConversation();
    if (!id) document.body.classList.remove("in-conversation");
  };

  /** "←" on a phone: as the browser's Back when the conversation was a step of it. */
  back() {
    if (history.state?.chat === "open") history.back(); // hashChanged closes it
    else this.closeConversation();
  }

  /** No group open any more: what comes in counts as unread, the list shows (on a phone).
   * The keyboard's place, when it was in the conversation, goes to the list: to the group
   * left, when it is still there. */
  closeConversation(render = true) {
    const group = this.conversation.group;
    const hadFocus = $("conversation").contains(document.activeElement) ||
      document.activeElement === $("back-button") || focusLost();
    this.conversation.close();
    this.search.renderScope();
    document.body.classList.remove("in-conversation");
    this.renderSkipLink();
    if (window.location.hash) history.replaceState(null, "", window.location.pathname);
    if (render) this.sidebar.renderGroups();
    if (hadFocus) this.sidebar.focusGroup(group);
  }

  /** Open ``group`` (chosen in the list, joined, created, written to), the keyboard at its
   * composer. */
  open(group) {
    this.showing(group);
    this.conversation.open(group);
    this.sidebar.renderGroups();
    this.search.renderScope();
    this.conversation.focusComposer();
  }

  /** Open ``group`` at message ``seq`` (a search result), with the messages around it. */
  openAt(group, seq) {
    this.showing(group);
    this.conversation.openAt(group, seq);
    this.sidebar.renderGroups();
    this.search.renderScope();
  }

  /** The address names the open group (a reload opens it again). On a phone, opening one
   * from the list is a step the browser's Back undoes, rather than leaving the chat. */
  showing(group) {
    const url = `#${encodeURIComponent(group.id)}`;
    if (PHONE.matches && history.state?.chat !== "open") {
      if (window.location.hash) history.replaceState(null, "", window.location.pathname);
      history.pushState({ chat: "open" }, "", url);
    } else if (decodeURIComponent(window.location.hash.slice(1)) !== group.id) {
      history.replaceState(history.state, "", url);
    }
    document.body.classList.add("in-conversation");
    this.renderSkipLink();
  }

  /** The skip link goes to the open conversation, else to the list of groups. */
  renderSkipLink() {
    $("skip-link").textContent = document.body.classList.contains("in-conversation")
      ? "Skip to the conversation"
      : "Skip to your groups";
  }
}
