"""Where the matched words are in a body, as ``[start, end)`` character offsets.

FTS5's ``highlight()`` returns the body with a mark before and after each part that matched.
The marks are two control characters; a body may hold them too (nothing the chat accepts
refuses them), and a NUL, which cuts SQLite's functions short. So the text the engine
indexes has these three replaced by spaces: the same length, and separators to the
tokenizer as they were, so the offsets read from the marked text are offsets into the body
as it was written (``search.schema`` keeps that body beside, when it differs).
"""

from __future__ import annotations

OPEN = "\x01"
CLOSE = "\x02"
_BLANKED = str.maketrans({"\x00": " ", OPEN: " ", CLOSE: " "})


def indexed_text(body: str) -> str:
    """The body as the engine indexes it: NUL and the marks' characters blanked."""
    return body.translate(_BLANKED)


def offsets(marked: str) -> list[tuple[int, int]]:
    """The ``[start, end)`` offsets, in the unmarked text, of each marked part."""
    found: list[tuple[int, int]] = []
    marks = 0  # marks passed so far: each moves what follows one character on
    at = 0
    while (start := marked.find(OPEN, at)) != -1 and (end := marked.find(CLOSE, start)) != -1:
        found.append((start - marks, end - marks - 1))
        marks += 2
        at = end + 1
    return found
