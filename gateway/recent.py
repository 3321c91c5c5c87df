"""The newest messages and changes of each group this node has read of the log, as its
sockets were sent them: what a socket that comes back after a moment away is filled from.

A socket that joins with ``since_seq`` and ``since_change`` is sent what it missed before
anything live (``Delivery.fill``). From the views, that waits for the projector to write
them, a round or more behind the log under load; and in a rolling restart every socket of
the stopped node comes back at once, each waiting for the views. What a socket missed in a
few seconds away, this node read from the log a moment ago: sent from here, the socket is
served as soon as the agents answer its join. Only an unbroken run of positions is kept per
group and kind, so what is here is exactly what the log holds; anything older, or a group
this node has not read long enough, still comes from the views.

Bounded by entries in all (the least recently active groups forgotten first) and per group.
A deleted message's body is dropped here as the views drop it.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from gateway.gate import ORDERED

Event = tuple[str, dict[str, Any]]
"""A client event's name and payload, as delivered."""


@dataclass
class _Run:
    """An unbroken run of one kind's positions in one group (``first`` is the oldest)."""

    events: deque[Event] = field(default_factory=deque)
    first: int = 0

    @property
    def last(self) -> int:
        return self.first + len(self.events) - 1


class RecentEvents:
    def __init__(self, entries: int = 50_000, per_group: int = 200) -> None:
        self.limit = entries
        self.per_group = per_group
        self._groups: OrderedDict[str, dict[str, _Run]] = OrderedDict()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, group_id: str, event: str, payload: dict[str, Any]) -> None:
        """Keep an ordered event (``gateway.gate.ORDERED``) read from the log, in log order."""
        if self.limit == 0:
            return
        kind = ORDERED[event]
        position = int(payload.get(kind) or 0)
        if position == 0:
            return  # an edit from before changes were numbered: not in any run
        runs = self._groups.get(group_id)
        if runs is None:
            runs = self._groups[group_id] = {}
        self._groups.move_to_end(group_id)
        run = runs.get(kind)
        if run is None or position != run.last + 1:
            if run is not None and position <= run.last:
                return  # read again (the reader resumed a little before): kept already
            self._size -= len(run.events) if run is not None else 0
            run = runs[kind] = _Run(first=position)  # a gap: what is kept starts here
        run.events.append((event, payload))
        self._size += 1
        if len(run.events) > self.per_group:
            run.events.popleft()
            run.first += 1
            self._size -= 1
        if event == "message_deleted":
            self._erase(runs, int(payload["seq"]))
        while self._size > self.limit and self._groups:
            _, forgotten = self._groups.popitem(last=False)
            self._size -= sum(len(r.events) for r in forgotten.values())

    def between(self, group_id: str, kind: str, first: int, last: int) -> list[Event] | None:
        """The events of ``kind`` (``seq`` or ``change``) at positions ``first`` to ``last``,
        if every one of them is here; None if any is not."""
        run = self._groups.get(group_id, {}).get(kind)
        if run is None or first < run.first or last > run.last or first > last:
            return None
        start = first - run.first
        return [run.events[i] for i in range(start, start + last - first + 1)]

    @staticmethod
    def _erase(runs: dict[str, _Run], seq: int) -> None:
        """A deleted message's words are gone from what is kept, every version of them: the
        message a tombstone, its edits without their body (as the views keep them)."""
        messages, changes = runs.get("seq"), runs.get("change")
        if messages is not None and messages.first <= seq <= messages.last:
            index = seq - messages.first
            event, message = messages.events[index]
            messages.events[index] = (
                event,
                message | {"body": "", "deleted": True, "reactions": []},
            )
        for index, (event, change) in enumerate(changes.events if changes else ()):
            if event == "message_edited" and int(change["seq"]) == seq:
                assert changes is not None
                changes.events[index] = (event, change | {"body": ""})
