"""Kafka topic names. A prefix lets several deployments (or test runs) share one cluster."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    prefix: str = ""

    @property
    def incoming(self) -> str:
        """``MessageSubmitted`` events from the gateways, keyed by group id."""
        return f"{self.prefix}chat.messages.incoming"

    @property
    def saved(self) -> str:
        """``MessageSaved`` events from the agents, keyed by group id."""
        return f"{self.prefix}chat.messages.saved"

    @property
    def dead_letter(self) -> str:
        """Incoming records the agents could not read, kept verbatim with the reason."""
        return f"{self.prefix}chat.messages.dead-letter"
