"""The limit the benchmark measures the chat against: python-socketio alone.

    .venv/bin/python -m tests.benchmarks.bare --port 8090

The same client protocol as far as the benchmark uses it (``create_group``, ``join``,
``send`` acknowledged, ``message`` to the group's room with a ``seq``), on one aiohttp +
python-socketio node with uvloop, its WebSocket frames uncompressed like the gateway's: no
token check, no Kafka, no MongoDB, no Redis, nothing stored. Whatever the chat does beyond
this is what durability, ordering and several nodes cost.
"""

from __future__ import annotations

import argparse
import uuid
from datetime import UTC, datetime
from typing import Any

import socketio
import uvloop
from aiohttp import web

from gateway.transport import websocket_compression


def serve_groups(sio: socketio.AsyncServer, seqs: dict[str, int]) -> None:
    """``create_group`` and ``join`` as the load generator uses them, a group's room and seq
    counter in this process's memory (the benchmark's peers share them: ``naive.py`` too)."""

    @sio.event
    async def create_group(sid: str, data: Any = None) -> dict[str, Any]:
        group_id = uuid.uuid4().hex
        seqs[group_id] = 0
        await sio.enter_room(sid, group_id)
        return {"ok": True, "group_id": group_id}

    @sio.event
    async def join(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await sio.enter_room(sid, data["group_id"])
        return {"ok": True, "group_id": data["group_id"], "last_seq": seqs[data["group_id"]]}


def create_app() -> web.Application:
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
    app = web.Application(middlewares=[websocket_compression(False)])  # framed as the gateway
    sio.attach(app)
    seqs: dict[str, int] = {}
    serve_groups(sio, seqs)

    @sio.event
    async def send(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        group_id = data["group_id"]
        seqs[group_id] += 1
        message = {
            "group_id": group_id,
            "seq": seqs[group_id],
            "client_msg_id": data["client_msg_id"],
            "body": data["body"],
            "saved_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        await sio.emit("message", message, room=group_id)
        return {"ok": True, "client_msg_id": data["client_msg_id"]}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args()
    web.run_app(
        create_app(), host="127.0.0.1", port=args.port, loop=uvloop.new_event_loop(), print=None
    )


if __name__ == "__main__":
    main()
