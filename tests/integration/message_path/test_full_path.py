"""A person's whole path: register and log in at auth, connect, create, join, send, receive."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from tests.integration.message_path.conftest import ChatClient, create_group, sign_up


async def test_people_registered_at_auth_talk_through_the_gateway(
    auth_url: str,
    start_gateway: Callable[..., Awaitable[str]],
    new_client: Callable[[], ChatClient],
) -> None:
    gateway_url = await start_gateway(auth_service_url=auth_url)
    suffix = secrets.token_hex(4)
    ann_id, ann_token = await sign_up(auth_url, f"ann_{suffix}")
    _, ben_token = await sign_up(auth_url, f"ben_{suffix}")

    ann, ben = new_client(), new_client()
    for client, token in ((ann, ann_token), (ben, ben_token)):
        await client.connect(gateway_url, token)
    group_id = await create_group(ann, "lunch")
    await ben.ok("join", {"group_id": group_id})

    ack = await ann.call("send", {"group_id": group_id, "client_msg_id": "hi", "body": "hi Ben"})
    assert ack == {"ok": True, "client_msg_id": "hi"}
    received = await ben.next_message()
    assert (received["sender"], received["sender_id"], received["body"]) == (
        f"ann_{suffix}", ann_id, "hi Ben"
    )  # fmt: skip
    assert received == await ann.next_message()
