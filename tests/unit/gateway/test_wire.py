"""The Socket.IO packets' JSON codec writes what the standard module writes for the events the
gateway sends, and cannot be made to parse a huge integer (what engine.io's guard was for)."""

from __future__ import annotations

import json

import orjson
import pytest
import socketio

from gateway import wire


def test_packets_encode_as_with_the_standard_module() -> None:
    data = ["message", {"group_id": "g1", "seq": 7, "body": "héllo \u2028 \"q\"", "mentions": [],
                        "edited": None, "ok": True, "score": 1.5}]  # fmt: skip
    assert json.loads(wire.dumps(data, separators=(",", ":"))) == data
    assert wire.dumps(data, separators=(",", ":")) == json.dumps(
        data, separators=(",", ":"), ensure_ascii=False
    )
    assert wire.dumps({1: "a"}) == '{"1":"a"}'  # a key that is not a string, as json does


def test_a_socketio_packet_round_trips() -> None:
    class Packet(socketio.packet.Packet):  # not the shared class: other tests use it
        json = wire

    sent = Packet(socketio.packet.EVENT, ["send", {"group_id": "g1", "body": "hi"}], id=3)
    got = Packet(encoded_packet=sent.encode())
    assert (got.packet_type, got.id, got.data) == (socketio.packet.EVENT, 3, sent.data)


def test_huge_numbers_cost_nothing_and_never_become_huge_integers() -> None:
    # The standard module turns digits into an int in time quadratic in their count
    # (engine.io's guard refused over 100); orjson reads past 64 bits as a double.
    assert isinstance(wire.loads('{"seq": ' + "9" * 200 + "}")["seq"], float)
    with pytest.raises(orjson.JSONDecodeError):
        wire.loads("[" + "9" * 100_000 + "]")  # past a double: refused
    with pytest.raises(orjson.JSONDecodeError):
        wire.loads('{"seq": NaN}')
    assert wire.loads(b'{"seq": 42}') == {"seq": 42}
