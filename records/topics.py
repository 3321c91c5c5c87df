"""Kafka topic names. A prefix lets several deployments (or test runs) share one cluster."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    prefix: str = ""

    @property
    def requests(self) -> str:
        """Requests from the gateways (send a message, join, edit …), keyed by group."""
        return f"{self.prefix}chat.group-requests"

    @property
    def events(self) -> str:
        """Facts decided by the agents, keyed by group: the event log, kept forever."""
        return f"{self.prefix}chat.group-events"

    @property
    def replies(self) -> str:
        """Answers to requests, keyed by the gateway node that waits for them."""
        return f"{self.prefix}chat.replies"

    @property
    def dead_letter(self) -> str:
        """Incoming records the agents could not read, kept verbatim with the reason."""
        return f"{self.prefix}chat.dead-letter"

    @property
    def keys(self) -> str:
        """The keys of the sealed bodies in the event log (``records.sealing``), compacted and
        co-partitioned with it: a delete's tombstones erase a message's keys for good."""
        return f"{self.prefix}chat.message-keys"

    @property
    def snapshots(self) -> str:
        """The agents' decision state per partition, at an offset of the event log, compacted
        (a cache of the log's fold: losing it costs a longer fold, nothing else)."""
        return f"{self.prefix}chat.decider-snapshots"
