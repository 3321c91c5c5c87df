// Building the page from data: every piece of text goes in as a text node, never as markup.

/**
 * h("li", {class: "x", dataset: {seq: 3}, onclick: fn}, "text", childNode, ...)
 * Strings and numbers become text nodes; null/undefined/false children are dropped.
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export const $ = (id) => document.getElementById(id);

/** Replace all of a node's children. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

export function show(node, visible) {
  node.hidden = !visible;
}

/** "14:05" today, "3 Mar 14:05" otherwise; the full date as a tooltip. */
export function formatTime(iso) {
  if (!iso) return { short: "", long: "" };
  const when = new Date(iso);
  const sameDay = when.toDateString() === new Date().toDateString();
  const time = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const day = when.toLocaleDateString([], { day: "numeric", month: "short" });
  return { short: sameDay ? time : `${day} ${time}`, long: when.toLocaleString() };
}

/** A random id for client_msg_id; works outside secure contexts too. */
export function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Build ``container``'s children anew without losing the keyboard's place: a control that had
 * the focus (known by its ``data-focus`` key) has it again in the new nodes; when it is gone,
 * ``otherwise()`` says where the focus goes (if it returns an element). */
export function keepingFocus(container, render, otherwise = () => null) {
  const active = document.activeElement;
  const inside = active instanceof HTMLElement && active !== container && container.contains(active);
  const key = inside ? active.dataset.focus : undefined;
  render();
  if (!inside || container.contains(active)) return;
  const again = key ? container.querySelector(`[data-focus="${CSS.escape(key)}"]`) : null;
  (again ?? otherwise())?.focus({ preventScroll: true });
}

/** Whether the focus is lost: on nothing, on the page itself, or on something now hidden. */
export function focusLost() {
  const active = document.activeElement;
  return !active || active === document.body || !active.checkVisibility?.();
}
