"""The delivery gate: each event once, in order; a hole is held for filling, never skipped."""

from __future__ import annotations

from gateway.gate import DROP, HOLD, HOLE, SEND, DeliveryGate


def message(seq: int) -> dict[str, int]:
    return {"seq": seq}


def test_the_next_message_is_sent_and_one_sent_before_is_dropped() -> None:
    gate = DeliveryGate()
    gate.follow("s", "g", 3, 0, hold=False)
    assert gate.admit("s", "g", "message", message(4)) == SEND
    assert gate.admit("s", "g", "message", message(4)) == DROP
    assert gate.admit("s", "g", "message", message(2)) == DROP


def test_a_message_past_a_hole_is_held_and_everything_after_it_too() -> None:
    gate = DeliveryGate()
    stream = gate.follow("s", "g", 3, 0, hold=False)
    assert gate.admit("s", "g", "message", message(6)) == HOLE
    assert gate.admit("s", "g", "message", message(7)) == HOLD
    assert stream.held == [("message", message(6)), ("message", message(7))]
    assert stream.cursors["seq"] == 3, "the cursor does not move past the hole"


def test_edits_and_deletes_are_ordered_by_their_change_number() -> None:
    gate = DeliveryGate()
    gate.follow("s", "g", 0, 1, hold=False)
    assert gate.admit("s", "g", "message_edited", {"seq": 1, "change": 2}) == SEND
    assert gate.admit("s", "g", "message_deleted", {"seq": 1, "change": 2}) == DROP
    assert gate.admit("s", "g", "message_deleted", {"seq": 1, "change": 4}) == HOLE


def test_a_following_socket_holds_until_its_catch_up_is_done() -> None:
    gate = DeliveryGate()
    gate.follow("s", "g", 0, 0, hold=True)
    assert gate.admit("s", "g", "message", message(1)) == HOLD


def test_a_disconnected_socket_is_forgotten() -> None:
    gate = DeliveryGate()
    gate.connected("s", "u")
    gate.follow("s", "g", 0, 0, hold=False)
    gate.disconnected("s")
    assert gate.streams == {} and gate.sockets_of("u") == []


def test_a_socket_in_the_room_without_a_cursor_is_sent_nothing() -> None:
    """A socket on its way out must not be sent the group again from its first message."""
    gate = DeliveryGate()
    assert gate.admit("s", "g", "message", message(7)) == DROP
    assert gate.streams == {}
