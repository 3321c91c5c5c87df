"""A page stores each message as one JSON string; read back, it gives clients exactly what
the live ``message`` event gave them, and pages written as nested documents still read."""

from __future__ import annotations

from gateway.client_events import message_to_client, slot_to_client
from records.base import utcnow
from records.facts import MessageSaved
from records.views import message_slot, read_slot, slot_value


def test_a_stored_slot_reads_back_as_the_live_payload() -> None:
    saved = MessageSaved(message_id="g:7", group_id="g", seq=7, sender_id="ann", sender="Ann",
                         client_msg_id="c7", body="héllo 👋", saved_at=utcnow(),
                         mentions=["bob"])  # fmt: skip
    stored = slot_value(message_slot(saved))
    assert isinstance(stored, str)
    assert slot_to_client("g", read_slot(stored)) == message_to_client(saved)
    legacy = message_slot(saved)  # as pages held it before: a nested document
    assert slot_to_client("g", read_slot(legacy)) == message_to_client(saved)
