"""What text the chat accepts: no lone surrogates, no bidirectional overrides, and nothing that
is all invisible.

JSON lets a client send a lone surrogate (``"\\ud800"``), which no UTF-8 store or log can hold;
bidirectional controls (U+202A–U+202E, U+2066–U+2069) make a message or a name read
differently from what it says; and a body of zero-width characters is an empty message that
looks like nothing in the list. Ordinary right-to-left text needs none of these controls.
"""

from __future__ import annotations

import re
import unicodedata

_SURROGATE = re.compile("[\ud800-\udfff]")
_BIDI_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Hangul fillers and the blank Braille pattern: letters by category, blank on screen."""
_DEFAULT_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
"""Unicode's Default_Ignorable_Code_Point: drawn as nothing. Some are marks (Mn), not format
characters: the combining grapheme joiner, variation selectors, Mongolian free variation
selectors, Khmer inherent vowels."""


def has_lone_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be accepted, or None."""
    if _SURROGATE.search(text):
        return "contains a lone surrogate (not valid Unicode text)"
    if _BIDI_CONTROL.search(text):
        return "contains a bidirectional override or isolate control"
    return None


def is_invisible(text: str) -> bool:
    """True if nothing of ``text`` would show: only whitespace, format characters (zero-width
    space and joiners, word joiner, byte-order mark …), controls, blank letters and the other
    default-ignorable code points (variation selectors, the combining grapheme joiner …)."""
    return all(
        char.isspace()
        or char in _INVISIBLE_LETTERS
        or _DEFAULT_IGNORABLE.match(char) is not None
        or unicodedata.category(char) in ("Cf", "Cc", "Zs", "Zl", "Zp")
        for char in text
    )
