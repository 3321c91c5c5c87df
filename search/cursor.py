"""The opaque ``next_cursor`` of a search, bound to the request it came from.

A cursor carries a fingerprint of what was asked (the query, the order, the groups, the
senders): given with anything else it is refused, so a page can never continue another
search. It holds only positions, never what decides what the caller may read (the groups
come with every request), so a forged one can at most skip or repeat results.

- ``newest``: the rowid of the last message given; the next page is older than it.
- ``relevance``: the window the next result is in (its rowid range, fixed when the pages
  reached it, and how it is ranked: ``search.pages``) and the next result's rank in it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass

from records.search import SearchRequest


class CursorInvalid(ValueError):
    """A cursor that is not one of this search's."""


@dataclass(frozen=True)
class Cursor:
    below: int | None = None
    """``newest``: the next page's messages have rowids below this one."""
    offset: int = 0
    """``relevance``: the next result's rank in its window (0: the best)."""
    window: tuple[int, int] | None = None
    """``relevance``: the rowids of the window ranked, ``[low, high]``."""
    scoped: bool = False
    """``relevance``: the engine keeps the groups itself (``search.query``)."""


def fingerprint(request: SearchRequest) -> str:
    asked = [
        request.query.model_dump(mode="json"),
        request.order,
        sorted(set(request.group_ids)),
        sorted(set(request.sender_ids)),
    ]
    digest = hashlib.blake2b(json.dumps(asked, sort_keys=True).encode(), digest_size=12)
    return digest.hexdigest()


def encode(request: SearchRequest, cursor: Cursor) -> str:
    fields: dict[str, object] = {"f": fingerprint(request)}
    if cursor.below is not None:
        fields["b"] = cursor.below
    else:
        fields["o"] = cursor.offset
        fields["w"] = list(cursor.window) if cursor.window else None
        fields["s"] = cursor.scoped
    raw = json.dumps(fields, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(request: SearchRequest) -> Cursor | None:
    """The request's cursor (None on a first page); ``CursorInvalid`` if it is not one this
    search gave."""
    if request.cursor is None:
        return None
    try:
        text = request.cursor
        fields = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if not isinstance(fields, dict) or fields.get("f") != fingerprint(request):
            raise CursorInvalid("the cursor belongs to another search: start from the first page")
        if request.order == "newest":
            return Cursor(below=_integer(fields["b"]))
        window = fields["w"]
        return Cursor(
            offset=_integer(fields["o"]),
            window=(_integer(window[0]), _integer(window[1])) if window is not None else None,
            scoped=fields["s"] is True,
        )
    except CursorInvalid:
        raise
    except (ValueError, KeyError, TypeError, IndexError, binascii.Error) as exc:
        raise CursorInvalid("the cursor is not one this service gave") from exc


def _integer(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"not a position: {value!r}")
    return value
