"""The Socket.IO packets' JSON codec writes what the standard module writes for the events the
gateway sends, and reads what orjson refuses as the standard module (with engine.io's guard) did."""

from __future__ import annotations

import json
import math

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


def test_what_orjson_refuses_is_read_as_the_standard_module_reads_it() -> None:
    deep: list = []
    for _ in range(400):  # past orjson's limit (255), within the standard module's
        deep = [deep]
    assert json.loads(wire.dumps(["send", {"nested": deep}])) == ["send", {"nested": deep}]
    assert wire.loads(json.dumps(deep)) == deep
    assert math.isnan(wire.loads('{"seq": NaN}')["seq"])
    with pytest.raises(ValueError, match="too large"):  # engine.io's guard, as before
        wire.loads("[" + "9" * 100_000 + "]")
    assert wire.loads(b'{"seq": 42}') == {"seq": 42}
