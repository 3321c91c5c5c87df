"""Past capacity a send is refused at once with ``unavailable`` and ``retry_after``, keyed on
how long messages take to arrive (``gateway.admission``); sent again as told, it goes
through, once.

The node here admits a send only while messages arrive within a millisecond, which no
message through Kafka's transactions does: every send made just after a message was read
finds the node "past capacity"."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tests.integration.message_path.conftest import (
    NewClient,
    Start,
    connected,
    create_group,
    people,
)


async def test_a_refused_send_sent_again_as_told_goes_through_once(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway(admission_lag=0.001)
    (ann,) = people("ann")
    client = await connected(new_client, url, token_for(ann))
    group_id = await create_group(client)
    first = {"group_id": group_id, "client_msg_id": "first", "body": "one"}
    await client.ok("send", first)  # nothing read yet: no lag known
    assert (await client.next_message())["client_msg_id"] == "first"

    second = {"group_id": group_id, "client_msg_id": "second", "body": "two"}
    refused = await client.call("send", second)
    assert refused["ok"] is False
    error = refused["error"]
    assert error["code"] == "unavailable", refused
    assert error["retry_after"] >= 0.5

    await asyncio.sleep(error["retry_after"])  # as told: the lag it saw has drained by then
    await client.ok("send", second)
    saved = await client.next_message()
    assert (saved["client_msg_id"], saved["seq"]) == ("second", 2)
    history = await client.ok("history", {"group_id": group_id})
    by_seq = sorted(history["messages"], key=lambda m: m["seq"])  # (history: newest first)
    assert [m["client_msg_id"] for m in by_seq] == ["first", "second"], "stored once each"
