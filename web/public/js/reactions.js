// Reactions under a message: a chip per emoji with its count (the person's own pressed), who
// reacted on hover (title) or on a long press, and a small picker of common emoji. A click on
// a chip or a pick toggles the person's reaction (``react``); the counts come back to every
// member's page as ``reaction`` events (chat.js).

import { h } from "./dom.js";

export const EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀"];
const LONG_PRESS_MS = 500;

/**
 * @param message the message, with ``reactions: [{emoji, count, user_ids}]``
 * @param myId the person's user id
 * @param nameOf (user_id) → username, or null when the page does not know them
 * @param toggle (emoji) → the person's reaction with it, on or off
 * @param key (what) → the data-focus key of a chip (the message's: its focus survives a redraw)
 */
export function reactionsNode(message, myId, nameOf, toggle, key = (what) => what) {
  const reactions = (message.reactions ?? []).filter((r) => r.count > 0);
  if (!reactions.length) return null;
  const row = h("div", { class: "reactions", role: "group", "aria-label": "Reactions" });
  const whoLine = h("p", { class: "reactors muted", role: "status", hidden: true });
  for (const reaction of reactions) {
    const mine = (reaction.user_ids ?? []).includes(myId);
    const who = reactorsText(reaction, myId, nameOf);
    const chip = h(
      "button",
      {
        type: "button",
        class: `reaction${mine ? " mine" : ""}`,
        "aria-pressed": String(mine),
        "aria-label": `${reaction.emoji} ${reaction.count}`,
        title: who,
        dataset: { emoji: reaction.emoji, focus: key(`reaction ${reaction.emoji}`) },
      },
      h("span", { class: "emoji" }, reaction.emoji),
      h("span", { class: "count" }, reaction.count),
    );
    onLongPress(chip, () => {
      whoLine.textContent = who;
      whoLine.hidden = false;
    });
    chip.addEventListener("click", (event) => {
      if (chip.dataset.pressedLong === "yes") {
        chip.dataset.pressedLong = ""; // the press showed who; it does not also toggle
        event.preventDefault();
        return;
      }
      toggle(reaction.emoji);
    });
    row.append(chip);
  }
  return h("div", { class: "reaction-block" }, row, whoLine);
}

/** "ann, ben and you reacted with 👍" (and how many more the page has no names for). */
export function reactorsText(reaction, myId, nameOf) {
  const ids = reaction.user_ids ?? [];
  const names = ids.filter((id) => id !== myId).map((id) => nameOf(id) ?? "someone");
  if (ids.includes(myId)) names.push("you");
  const others = Math.max(0, reaction.count - ids.length);
  if (others) names.push(`${others} more`);
  const list =
    names.length <= 1 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
  return `${list || "someone"} reacted with ${reaction.emoji}`;
}

/** The picker: one button per emoji, each toggling the person's reaction with it.
 * @param close () → the picker closes (a pick, or Escape) */
export function pickerNode(toggle, close) {
  const picker = h(
    "div",
    {
      class: "picker",
      role: "group",
      "aria-label": "Pick a reaction",
      onkeydown: (event) => {
        if (event.key !== "Escape") return;
        event.preventDefault();
        event.stopPropagation();
        close();
      },
    },
    EMOJI.map((emoji) =>
      h(
        "button",
        {
          type: "button",
          class: "pick",
          "aria-label": `React with ${emoji}`,
          title: `React with ${emoji}`,
          onclick: () => {
            close();
            toggle(emoji);
          },
        },
        emoji,
      ),
    ),
  );
  return picker;
}

/** ``action`` after a press held LONG_PRESS_MS (touch screens have no hover for the title);
 * the click that ends such a press is marked on the element, for its handler to skip. */
function onLongPress(node, action) {
  let timer = null;
  const cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  node.addEventListener("pointerdown", () => {
    cancel();
    node.dataset.pressedLong = "";
    timer = setTimeout(() => {
      timer = null;
      node.dataset.pressedLong = "yes";
      action();
    }, LONG_PRESS_MS);
  });
  for (const event of ["pointerup", "pointerleave", "pointercancel"]) node.addEventListener(event, cancel);
  // A held finger would otherwise open the browser's menu over the chip.
  node.addEventListener("contextmenu", (event) => event.preventDefault());
}
