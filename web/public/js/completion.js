// "@" completion in the composer: typing "@" and the start of a name lists the group's members
// whose names start so; ArrowUp/ArrowDown choose, Enter or Tab puts "@username " in, Escape
// closes. The server finds mentions by the same "@username" (agents/decisions.py).
// For a screen reader the list is the composer's (aria-controls, aria-autocomplete) and the
// name chosen its active descendant (aria-activedescendant), read out as the arrows move; the
// composer stays a multi-line textbox (a textarea may not be a combobox).

import { $, fill, h, show } from "./dom.js";

const MENTION_BEFORE_CARET = /(?:^|[^\w@])@([A-Za-z0-9_.-]{0,32})$/;
const MAX_SHOWN = 8;

export class MentionCompleter {
  constructor(input, members, signal) {
    this.input = input;
    this.members = members; // () => [{user_id, username}] of the open group, not oneself
    this.list = $("mention-list");
    this.choices = [];
    this.chosen = 0;
    this.start = -1; // where the "@" being completed is in the text
    input.addEventListener("input", () => this.update(), { signal });
    input.addEventListener("keydown", (event) => this.key(event), { signal });
    // Closed once the focus has left for good (the page may move it and give it back).
    input.addEventListener("blur", () => setTimeout(() => {
      if (document.activeElement !== input) this.close();
    }, 150), { signal });
  }

  get open() {
    return this.choices.length > 0;
  }

  update() {
    const caret = this.input.selectionStart ?? this.input.value.length;
    const found = MENTION_BEFORE_CARET.exec(this.input.value.slice(0, caret));
    if (!found) return this.close();
    const prefix = found[1].toLowerCase();
    this.start = caret - found[1].length - 1;
    this.choices = this.members()
      .filter((m) => m.username.toLowerCase().startsWith(prefix))
      .slice(0, MAX_SHOWN);
    this.chosen = Math.min(this.chosen, Math.max(0, this.choices.length - 1));
    this.render();
  }

  key(event) {
    if (!this.open || event.isComposing) return;
    const moves = { ArrowDown: 1, ArrowUp: -1 };
    if (event.key in moves) {
      this.chosen = (this.chosen + moves[event.key] + this.choices.length) % this.choices.length;
      this.renderChosen();
    } else if (event.key === "Enter" || event.key === "Tab") {
      this.pick(this.choices[this.chosen]);
    } else if (event.key === "Escape") {
      this.close();
    } else {
      return;
    }
    event.preventDefault(); // the composer does not send on an Enter that picked a name
  }

  pick(member) {
    const caret = this.input.selectionStart ?? this.input.value.length;
    const text = this.input.value;
    const inserted = `@${member.username} `;
    this.input.value = text.slice(0, this.start) + inserted + text.slice(caret);
    const at = this.start + inserted.length;
    this.input.setSelectionRange(at, at);
    this.close();
    this.input.focus();
  }

  close() {
    this.choices = [];
    this.chosen = 0;
    this.render();
  }

  render() {
    show(this.list, this.open);
    fill(
      this.list,
      this.choices.map((member, index) =>
        h(
          "li",
          {
            id: `mention-option-${index}`,
            role: "option",
            class: "mention-choice",
            // mousedown, not click: it comes before the input's blur closes the list
            onmousedown: (event) => {
              event.preventDefault();
              this.pick(member);
            },
          },
          `@${member.username}`,
        ),
      ),
    );
    this.renderChosen();
  }

  /** The name chosen: marked in the list, and the composer's active descendant. */
  renderChosen() {
    for (const [index, option] of [...this.list.children].entries()) {
      option.setAttribute("aria-selected", String(index === this.chosen));
    }
    if (this.open) this.input.setAttribute("aria-activedescendant", `mention-option-${this.chosen}`);
    else this.input.removeAttribute("aria-activedescendant");
  }
}
