"""Edits and deletes by the author only, as events: live notices and history that shows them."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.message_path.conftest import (
    NewClient,
    Start,
    connected,
    create_group,
    sent_before_a_marker,
)


async def test_the_author_edits_and_deletes_and_history_shows_it(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    alice, bob = new_client(), new_client()
    await alice.connect(url, token_for("alice"))
    await bob.connect(url, token_for("bob"))
    group_id = await create_group(alice)
    await bob.ok("join", {"group_id": group_id})
    for n in (1, 2):
        await alice.ok("send", {"group_id": group_id, "client_msg_id": f"a{n}", "body": f"v{n}"})
    first, second = await bob.next_message(), await bob.next_message()

    edit = {"message_id": first["message_id"], "body": "v1, edited"}
    assert (await bob.call("edit", edit))["error"]["code"] == "not_author"
    assert (await bob.call("delete", {"message_id": first["message_id"]}))["error"][
        "code"
    ] == "not_author"
    await alice.ok("edit", edit)
    edited = await bob.next("message_edited")
    assert (edited["message_id"], edited["seq"], edited["body"]) == (
        first["message_id"],
        1,
        edit["body"],
    )
    assert edited["edited_at"]
    assert await alice.next("message_edited") == edited

    await alice.ok("delete", {"message_id": second["message_id"]})
    deleted = await bob.next("message_deleted")
    assert (deleted["message_id"], deleted["seq"]) == (second["message_id"], 2)
    again = await alice.call("edit", {"message_id": second["message_id"], "body": "back"})
    assert again["error"]["code"] == "message_deleted"
    await alice.ok("delete", {"message_id": second["message_id"]})  # deleting twice is fine

    history = (await bob.ok("history", {"group_id": group_id}))["messages"]
    tombstone, current = history
    assert (tombstone["seq"], tombstone["deleted"], tombstone["body"]) == (2, True, "")
    assert (current["seq"], current["body"], current["edited_at"]) == (
        1,
        "v1, edited",
        edited["edited_at"],
    )
    assert current["deleted"] is False


async def test_changes_to_unknown_or_foreign_messages_are_refused(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    alice, eve = new_client(), new_client()
    await alice.connect(url, token_for("alice"))
    await eve.connect(url, token_for("eve"))
    group_id = await create_group(alice)
    await alice.ok("send", {"group_id": group_id, "client_msg_id": "x", "body": "mine"})
    message = await alice.next_message()

    missing = await alice.call("edit", {"message_id": f"{group_id}:99", "body": "?"})
    assert missing["error"]["code"] == "message_not_found"
    foreign = await eve.call("delete", {"message_id": message["message_id"]})
    assert foreign["error"]["code"] == "not_a_member"
    malformed = await alice.call("edit", {"message_id": "no-seq", "body": "?"})
    assert malformed["error"]["code"] == "invalid_payload"
    empty = await alice.call("edit", {"message_id": message["message_id"], "body": "  "})
    assert empty["error"]["code"] == "body_empty"


async def test_a_client_that_was_away_gets_the_edits_and_deletes_it_missed(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    bob = await connected(new_client, url, token_for("bob"))
    joined = await bob.ok("join", {"group_id": group_id})
    assert (joined["last_seq"], joined["last_change"]) == (0, 0)
    for n in (1, 2, 3):
        await alice.ok("send", {"group_id": group_id, "client_msg_id": f"a{n}", "body": f"v{n}"})
    messages = [await bob.next_message() for _ in range(3)]
    await alice.ok("edit", {"message_id": messages[0]["message_id"], "body": "v1 again"})
    first_change = await bob.next("message_edited")
    assert first_change["change"] == 1
    await bob.sio.disconnect()

    await alice.ok("edit", {"message_id": messages[1]["message_id"], "body": "v2 again"})
    await alice.ok("delete", {"message_id": messages[2]["message_id"]})
    await alice.ok("send", {"group_id": group_id, "client_msg_id": "a4", "body": "v4"})
    for _ in range(4):  # everything is saved before Bob comes back
        await alice.next_message()
    for _ in range(2):
        await alice.next("message_edited")
    await alice.next("message_deleted")
    bob = await connected(new_client, url, token_for("bob"))
    back = await bob.ok("join", {"group_id": group_id, "since_seq": 3, "since_change": 1})
    assert (back["last_seq"], back["last_change"]) == (4, 3)
    assert (await bob.next_message())["seq"] == 4
    edited, deleted = await bob.next("message_edited"), await bob.next("message_deleted")
    assert (edited["change"], edited["seq"], edited["body"]) == (2, 2, "v2 again")
    assert (deleted["change"], deleted["seq"]) == (3, 3)

    await alice.ok("edit", {"message_id": messages[0]["message_id"], "body": "v1, third"})
    live = await bob.next("message_edited")
    assert (live["change"], live["body"]) == (4, "v1, third")
    # A later fact of the group: a change sent twice would have reached Bob before it.
    assert await sent_before_a_marker(alice, group_id, bob) == [[]]
    assert bob.taken("message_edited") == [] and bob.taken("message_deleted") == []


async def test_a_delete_erases_the_earlier_versions_too(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway()
    alice = await connected(new_client, url, token_for("alice"))
    group_id = await create_group(alice)
    await alice.ok("send", {"group_id": group_id, "client_msg_id": "s", "body": "secret v1"})
    message_id = (await alice.next_message())["message_id"]
    await alice.ok("edit", {"message_id": message_id, "body": "secret v2"})
    await alice.next("message_edited")
    await alice.ok("delete", {"message_id": message_id})
    await alice.next("message_deleted")

    # A client that was away asks for every change: the edit is there, its body is not.
    bob = await connected(new_client, url, token_for("bob"))
    await bob.ok("join", {"group_id": group_id, "since_seq": 0, "since_change": 0})
    (message,) = [await bob.next_message()]
    assert (message["body"], message["deleted"]) == ("", True)
    edited, deleted = await bob.next("message_edited"), await bob.next("message_deleted")
    assert (edited["change"], edited["body"]) == (1, "")
    assert deleted["change"] == 2
    history = (await bob.ok("history", {"group_id": group_id}))["messages"]
    assert [(m["body"], m["deleted"]) for m in history] == [("", True)]
