// Message search, at the top of the sidebar: in all the person's groups or only the open one,
// newest first or best match first; the messages found say where they are and show what
// matched marked, a page at a time; one opened shows in its conversation, at it (chat.js
// openAt). The keyboard: "/" comes to the box, Enter searches, Tab or the arrows go through
// the results, Escape closes them.

import { $, fill, formatTime, h, show } from "./dom.js";

const PAGE = 20;
const SNIPPET_CHARS = 240; // a longer body is shown cut to this, around its first match
const CONTEXT_CHARS = 60; // how much of it comes before the match

export class Search {
  constructor(app, signal) {
    this.app = app;
    this.asked = null; // {query, order, group_id?}: the search the results are of
    this.cursor = null; // where its next page starts; null after the last
    this.number = 0; // counts searches: the answer to one asked before the last is dropped
    this.input = $("search-query");
    this.list = $("search-results");
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.search();
    }, { signal });
    // Another scope or order asks again, when there are results to replace.
    for (const id of ["search-scope", "search-order"]) {
      $(id).addEventListener("change", () => {
        if (this.asked && this.input.value.trim()) this.search();
      }, { signal });
    }
    $("search-more").addEventListener("click", () => this.more(), { signal });
    $("search-close").addEventListener("click", () => this.close(), { signal });
    $("search").addEventListener("keydown", (event) => this.key(event), { signal });
    document.addEventListener("keydown", (event) => this.slash(event), { signal });
  }

  /** Logging out: nothing of this person's searches stays on the page. */
  clear() {
    this.number += 1;
    this.asked = null;
    this.input.value = "";
    this.hideResults();
    $("search-error").textContent = "";
    $("search-scope").value = "all";
    $("search-order").value = "newest";
    this.list.setAttribute("aria-busy", "false");
  }

  /** The scope "this group" names the open group, and is there only while one is open. */
  renderScope() {
    const select = $("search-scope");
    const option = select.querySelector('option[value="open"]');
    const group = this.app.conversation.group;
    option.disabled = !group;
    const tag = group ? this.app.tagOf(group) : "";
    const name = group ? `${group.name}${tag ? ` ${tag}` : ""}` : "";
    if (!group) option.textContent = "the open group";
    else option.textContent = group.direct ? `this conversation: ${name}` : `this group: ${name}`;
    if (!group && select.value === "open") select.value = "all";
  }

  // --- asking --------------------------------------------------------------------------

  async search() {
    const group = this.app.conversation.group;
    const onlyOpen = $("search-scope").value === "open" && group;
    this.asked = {
      query: this.input.value,
      order: $("search-order").value,
      ...(onlyOpen ? { group_id: group.id } : {}),
    };
    this.cursor = null;
    await this.ask(true);
  }

  async more() {
    if (this.asked && this.cursor !== null) await this.ask(false);
  }

  async ask(first) {
    const number = first ? ++this.number : this.number;
    const more = $("search-more");
    const keepFocus = !first && document.activeElement === more;
    if (first) this.hideResults();
    $("search-error").textContent = "";
    $("search-status").textContent = first ? "Searching…" : "Loading more…";
    this.list.setAttribute("aria-busy", "true");
    more.disabled = true;
    try {
      const reply = await this.app.connection.call("search", {
        ...this.asked,
        limit: PAGE,
        ...(first ? {} : { cursor: this.cursor }),
      });
      if (number !== this.number) return;
      this.cursor = reply.next_cursor ?? null;
      this.render(reply.results ?? [], first, keepFocus);
    } catch (error) {
      if (number !== this.number) return;
      // The person's query as the server read it: say what is wrong with it.
      $("search-error").textContent = error.message ?? String(error);
      this.renderStatus();
    } finally {
      if (number === this.number) {
        this.list.setAttribute("aria-busy", "false");
        more.disabled = false;
      }
    }
  }

  // --- showing -------------------------------------------------------------------------

  render(results, first, keepFocus) {
    const nodes = results.map((result) => this.resultNode(result));
    if (first) fill(this.list, nodes);
    else this.list.append(...nodes);
    show($("search-panel"), this.list.children.length > 0);
    show($("search-more"), this.cursor !== null);
    this.renderStatus();
    // "Load more" pressed from the keyboard: go on at the first of the new ones.
    if (keepFocus && nodes.length) nodes[0].querySelector("button").focus();
  }

  renderStatus() {
    const count = this.list.children.length;
    let text = "";
    if (this.asked && !$("search-error").textContent) {
      if (count === 0) text = "No messages found.";
      else text = `${count} message${count === 1 ? "" : "s"} found${this.cursor !== null ? ", more below" : ""}.`;
    }
    $("search-status").textContent = text;
  }

  resultNode(result) {
    const group = this.app.groups.get(result.group_id);
    const time = formatTime(result.saved_at);
    const mine = result.sender_id === this.app.session.userId;
    return h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          class: "result",
          dataset: { groupId: result.group_id, seq: result.seq },
          onclick: (event) => this.open(result, event.currentTarget),
        },
        h(
          "span",
          { class: "where" },
          h(
            "span",
            { class: "group-name" },
            !group ? "another group" : group.direct ? `@${group.name}` : group.name,
          ),
          h("span", { class: "sender" }, mine ? `${result.sender} (you)` : result.sender),
          h("time", { datetime: result.saved_at, title: time.long }, time.short),
          result.edited_at ? h("span", { class: "edited" }, "(edited)") : null,
        ),
        h("span", { class: "body" }, highlighted(result.body ?? "", result.highlights)),
      ),
    );
  }

  hideResults() {
    fill(this.list);
    show($("search-panel"), false);
    show($("search-more"), false);
    $("search-status").textContent = "";
  }

  /** Close the results (Escape, or Close), back to the box. */
  close() {
    this.number += 1; // an answer on its way is not wanted any more
    this.asked = null;
    this.hideResults();
    $("search-error").textContent = "";
    this.list.setAttribute("aria-busy", "false");
    this.input.focus();
  }

  /** Open a message found, in its group's conversation, at it. */
  async open(result, button) {
    let group = this.app.groups.get(result.group_id);
    if (!group) {
      // Joined on another page a moment ago: the list of groups has it once read again.
      await this.app.loadGroups().catch(() => {});
      group = this.app.groups.get(result.group_id);
    }
    if (!group) {
      $("search-error").textContent = "You are no longer in that group.";
      return;
    }
    for (const other of this.list.querySelectorAll("button.result")) other.removeAttribute("aria-current");
    button.setAttribute("aria-current", "true");
    this.app.openAt(group, result.seq);
  }

  // --- the keyboard --------------------------------------------------------------------

  key(event) {
    if (event.key === "Escape") {
      if ($("search-panel").hidden && !$("search-status").textContent && !$("search-error").textContent) return;
      event.preventDefault(); // in the box: closing the results, not clearing what was typed
      this.close();
      return;
    }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const buttons = [...this.list.querySelectorAll("button.result")];
    if (!buttons.length) return;
    const at = buttons.indexOf(document.activeElement);
    if (event.target === this.input && event.key === "ArrowDown") buttons[0].focus();
    else if (at === -1) return;
    else if (event.key === "ArrowDown") buttons[Math.min(at + 1, buttons.length - 1)].focus();
    else if (at === 0) this.input.focus();
    else buttons[at - 1].focus();
    event.preventDefault();
  }

  /** "/" anywhere but where one types: to the search box. */
  slash(event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof HTMLElement && target.closest("input, textarea, select, [contenteditable]")) return;
    if ($("chat-view").hidden) return;
    event.preventDefault();
    // On a phone, the sidebar holds it: back from the open conversation to the list.
    if (window.matchMedia("(max-width: 720px)").matches && this.app.conversation.group) this.app.back();
    document.body.classList.remove("in-conversation");
    this.input.focus();
    this.input.select();
  }
}

/** ``body`` as text nodes, with its ``[start, end)`` character ranges ``highlights`` as
 * ``<mark>`` elements (never markup made from the body: a body reading "<b>" shows "<b>").
 * The offsets count characters (code points), as the server does. A long body is cut to the
 * part around its first match. */
export function highlighted(body, highlights) {
  const chars = Array.from(body);
  const ranges = merged(highlights, chars.length);
  let [from, to] = [0, chars.length];
  if (chars.length > SNIPPET_CHARS) {
    from = Math.max(0, (ranges[0]?.[0] ?? 0) - CONTEXT_CHARS);
    to = Math.min(chars.length, from + SNIPPET_CHARS);
    from = Math.max(0, to - SNIPPET_CHARS);
  }
  const text = (start, end) => chars.slice(start, end).join("");
  const parts = from > 0 ? ["…"] : [];
  let at = from;
  for (const [start, end] of ranges) {
    const [first, last] = [Math.max(start, at), Math.min(end, to)];
    if (first >= last) continue;
    if (first > at) parts.push(text(at, first));
    parts.push(h("mark", {}, text(first, last)));
    at = last;
  }
  if (at < to) parts.push(text(at, to));
  if (to < chars.length) parts.push("…");
  return parts;
}

/** The ranges within ``length``, in order, overlapping ones joined; anything else dropped. */
function merged(highlights, length) {
  const ranges = (Array.isArray(highlights) ? highlights : [])
    .filter((range) => Array.isArray(range) && Number.isInteger(range[0]) && Number.isInteger(range[1]))
    .map(([start, end]) => [Math.max(0, start), Math.min(length, end)])
    .filter(([start, end]) => start < end)
    .sort((a, b) => a[0] - b[0]);
  const joined = [];
  for (const [start, end] of ranges) {
    const last = joined[joined.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else joined.push([start, end]);
  }
  return joined;
}
