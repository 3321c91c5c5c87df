"""Each fact of the log becomes its client events, with their payloads, in the right rooms."""

from __future__ import annotations

from gateway.client_events import client_events, group_to_client, message_to_client
from records.base import utcnow
from records.facts import (
    DirectOpened,
    GroupCreated,
    InvitationDeclined,
    InvitationRevoked,
    MemberInvited,
    MemberLeft,
    MemberRemoved,
    MessageDeleted,
    MessageEdited,
    MessageSaved,
    ReadMarked,
    UserBlocked,
    UserUnblocked,
)
from records.views import Group, new_direct_document


def test_each_fact_becomes_its_client_event_in_the_right_room() -> None:
    now = utcnow()
    saved = MessageSaved(
        message_id="g:1", group_id="g", seq=1, sender_id="u", sender="Ann",
        client_msg_id="c", body="hi", saved_at=now,
    )  # fmt: skip
    assert client_events(saved) == [("message", ["group:g"], message_to_client(saved))]
    assert message_to_client(saved)["saved_at"] == saved.model_dump(mode="json")["saved_at"]
    edited = MessageEdited(group_id="g", message_id="g:1", seq=1, body="new", by_id="u", change=4)
    ((name, room, payload),) = client_events(edited)
    assert (name, room) == ("message_edited", ["group:g"])
    assert payload == {
        "group_id": "g", "message_id": "g:1", "seq": 1, "body": "new", "change": 4,
        "edited_at": edited.model_dump(mode="json")["occurred_at"],
    }  # fmt: skip
    deleted = MessageDeleted(group_id="g", message_id="g:1", seq=1, by_id="u")
    ((name, _, payload),) = client_events(deleted)
    assert name == "message_deleted"
    assert set(payload) == {"group_id", "message_id", "seq", "change", "deleted_at"}
    left = MemberLeft(group_id="g", user_id="u", username="Ann")
    assert client_events(left) == [
        ("member_left", ["group:g"], {"group_id": "g", "user_id": "u", "username": "Ann"})
    ]  # fmt: skip


def test_a_message_that_names_members_reaches_them_wherever_they_are() -> None:
    saved = MessageSaved(
        message_id="g:2", group_id="g", seq=2, sender_id="ann", sender="Ann",
        client_msg_id="c", body="@bob @cat", saved_at=utcnow(), mentions=["bob", "cat"],
    )  # fmt: skip
    assert client_events(saved) == [
        ("message", ["group:g"], message_to_client(saved)),
        ("mentioned", ["user:bob", "user:cat"],
         {"group_id": "g", "message_id": "g:2", "by": "Ann", "by_id": "ann"}),
    ]  # fmt: skip


def test_an_invitation_goes_to_the_invitee_only() -> None:
    invited = MemberInvited(
        group_id="g", user_id="bob", username="Bob", by_id="ann", by="Ann", group_name="Team"
    )
    assert client_events(invited) == [
        ("invited", ["user:bob"], {"group_id": "g", "by_id": "ann", "by": "Ann", "name": "Team"})
    ]  # fmt: skip


def test_a_removal_and_a_revocation_reach_the_person_they_are_about() -> None:
    removed = MemberRemoved(group_id="g", user_id="bob", username="Bob", by_id="ann")
    assert client_events(removed) == [(
        "member_removed", ["group:g", "user:bob"],
        {"group_id": "g", "user_id": "bob", "username": "Bob", "by_id": "ann"},
    )]  # fmt: skip
    revoked = InvitationRevoked(group_id="g", user_id="cat", username="Cat", by_id="ann")
    assert client_events(revoked) == [(
        "invitation_revoked", ["group:g", "user:cat"],
        {"group_id": "g", "user_id": "cat", "username": "Cat", "by_id": "ann"},
    )]  # fmt: skip
    declined = InvitationDeclined(group_id="g", user_id="cat", username="Cat")
    assert client_events(declined) == [(
        "invitation_declined", ["group:g", "user:cat"],
        {"group_id": "g", "user_id": "cat", "username": "Cat"},
    )]  # fmt: skip


def test_a_read_receipt_reaches_the_group_and_the_readers_other_devices() -> None:
    marked = ReadMarked(group_id="g", user_id="bob", username="Bob", seq=3)
    assert client_events(marked) == [(
        "read", ["group:g", "user:bob"],
        {"group_id": "g", "user_id": "bob", "username": "Bob", "seq": 3},
    )]  # fmt: skip


def test_a_created_group_is_not_broadcast() -> None:
    created = GroupCreated(group_id="g", name="Team", private=False, owner_id="ann", owner="Ann")
    assert client_events(created) == []


def test_a_direct_conversation_begun_tells_each_person_of_the_other() -> None:
    opened = DirectOpened(group_id="dm-1", version=1, user_id="ann", username="Ann",
                          peer_id="bob", peer="Bob")  # fmt: skip
    assert client_events(opened) == [
        ("direct_opened", ["user:bob"],
         {"group_id": "dm-1", "peer": {"user_id": "ann", "username": "Ann"}}),
        ("direct_opened", ["user:ann"],
         {"group_id": "dm-1", "peer": {"user_id": "bob", "username": "Bob"}}),
    ]  # fmt: skip


def test_a_block_is_told_to_the_blockers_sockets_only() -> None:
    who = {"group_id": "dm-1", "by_id": "ann", "by": "Ann", "user_id": "bob", "username": "Bob"}
    assert client_events(UserBlocked(**who)) == [
        ("block_changed", ["user:ann"], {"user_id": "bob", "username": "Bob", "blocked": True})
    ]
    assert client_events(UserUnblocked(**who)) == [
        ("block_changed", ["user:ann"], {"user_id": "bob", "username": "Bob", "blocked": False})
    ]


def test_a_direct_conversation_is_listed_by_the_other_persons_name() -> None:
    opened = DirectOpened(group_id="dm-1", version=1, user_id="ann", username="Ann",
                          peer_id="bob", peer="Bob")  # fmt: skip
    conversation = Group.from_document({"_id": "dm-1", **new_direct_document(opened)})
    listed = group_to_client(conversation, "ann")
    assert (listed["name"], listed["direct"], listed["peer"]) == (
        "Bob", True, {"user_id": "bob", "username": "Bob"}
    )  # fmt: skip
    assert group_to_client(conversation, "bob")["name"] == "Ann"
    group = Group(group_id="g", name="Team", private=False, owner_id="ann", last_seq=0,
                  last_change=0, version=1, members={}, invited={})  # fmt: skip
    listed = group_to_client(group)
    assert (listed["name"], listed["direct"], listed["peer"]) == ("Team", False, None)
