"""Past capacity a send is refused at once with ``unavailable`` and ``retry_after``, keyed on
how long messages take to arrive (``gateway.admission``); sent again as told, it goes
through, once.

The node here admits a send only while messages arrive within a millisecond, which no
message through Kafka's transactions does: a send made just after a message arrived finds
the node "past capacity". (The node shares the test's event loop, whose lateness counts
too: any send may be refused, and is sent again as told.)"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.integration.message_path.conftest import (
    ChatClient,
    NewClient,
    Start,
    connected,
    create_group,
    people,
)


async def send_as_told(client: ChatClient, payload: dict[str, Any]) -> int:
    """Send until accepted, waiting each time as long as the refusal says; the refusals."""
    for refusals in range(20):
        reply = await client.call("send", payload)
        if reply.get("ok") is True:
            return refusals
        error = reply["error"]
        assert error["code"] == "unavailable", reply
        assert error["retry_after"] >= 0.5, reply
        await asyncio.sleep(error["retry_after"])
    raise AssertionError("never admitted")


async def test_a_refused_send_sent_again_as_told_goes_through_once(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway(admission_lag=0.001)
    (ann,) = people("ann")
    client = await connected(new_client, url, token_for(ann))
    group_id = await create_group(client)
    await send_as_told(client, {"group_id": group_id, "client_msg_id": "first", "body": "one"})
    assert (await client.next_message())["client_msg_id"] == "first"

    # Just arrived, the first message took more than a millisecond: the next send is refused.
    second = {"group_id": group_id, "client_msg_id": "second", "body": "two"}
    assert await send_as_told(client, second) >= 1
    saved = await client.next_message()
    assert (saved["client_msg_id"], saved["seq"]) == ("second", 2)
    history = await client.ok("history", {"group_id": group_id})
    by_seq = sorted(history["messages"], key=lambda m: m["seq"])  # (history: newest first)
    assert [m["client_msg_id"] for m in by_seq] == ["first", "second"], "stored once each"
