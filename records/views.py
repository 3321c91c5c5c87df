"""The MongoDB views of the event log, defined once: collection, ``_id``, document ↔ record.
The agents' projector writes them, the gateway reads them, both through this module, so the
two can never drift apart. What clients are sent of them is the gateway's
(``gateway.client_events``).

- ``groups.<shelf>``: one document per group (``_id`` = group id): name, owner, members and
  pending invitations keyed by user id, and the group's positions: ``last_seq`` (messages),
  ``last_change`` (edits and deletes), ``version`` (membership facts). A group's shelf is one
  of ``VIEW_SHELVES`` collections, picked by a hash of its id (``group_shelf``).
  A direct conversation's document has ``direct`` (the two people, user id → username,
  whether or not both are in it now) and ``blocked_by`` (which of them blocks the other).
- ``user_groups.<shelf>``: one document per user (``_id`` = user id): their groups and
  pending invitations, keyed by group id, and the people they block (``blocked``, keyed by
  user id); shelved the same way (``user_shelf``).
- ``pages.<group>.<shelf>``: messages as they are now (edited bodies, tombstones),
  ``PAGE_SIZE`` to a document (``_id`` = page number), ``PAGES_PER_SHELF`` documents to a
  collection. A page of history is one or two reads by ``_id`` in collections that never hold
  more than 250 messages, however long the chat: FerretDB scans a collection for an ``_id``
  (measured: 480 ms for the last of 1,000 pages in one collection; with a million messages
  stored, a page p99 of 58 ms on shelves of 1,000 messages, 19 ms on shelves of 250).
- ``changes.<group>.<shelf>``: each edit or delete at its position among the group's changes
  (``_id`` = change number), for a client that was away; shelved the same way.
- ``public_groups``: one small document per public group (``_id`` = group id): its name and
  the name's words, case-folded, under an index, so ``find_groups`` is an index range per word
  of the query and never a scan of every group.
- ``projector_positions``: the next offset of the event log each partition's projection
  will apply (``_id`` = ``events:<partition>``), written after the views it covers.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from records.facts import (
    DirectOpened,
    GroupCreated,
    MemberInvited,
    MessageDeleted,
    MessageEdited,
    MessageSaved,
    ReactionToggled,
    ReplyTo,
    UserBlocked,
)

GROUPS_PREFIX = "groups."
USER_GROUPS_PREFIX = "user_groups."
POSITIONS = "projector_positions"
PUBLIC_GROUPS = "public_groups"
PAGES_PREFIX = "pages."
CHANGES_PREFIX = "changes."
EARLIER_VIEWS = ("groups", "user_groups")
"""Collections of an earlier layout (every group in one, every user in one): no longer read or
written; a replay drops them with the rest."""
VIEWS = (POSITIONS, PUBLIC_GROUPS, *EARLIER_VIEWS)
"""The projector's fixed collections; with every shelf (``groups.*``, ``user_groups.*``,
``pages.*``, ``changes.*``), a replay drops them all and rebuilds them (``is_view``)."""
SHELF_PREFIXES = (GROUPS_PREFIX, USER_GROUPS_PREFIX, PAGES_PREFIX, CHANGES_PREFIX)

VIEW_SHELVES = 256
"""Collections the groups are spread over, and the users: FerretDB finds an ``_id`` by reading
every document of its collection (with 340 groups in one, an update of a group took 20 ms and
was three quarters of the projector's time; with a few a shelf, a millisecond or two), real
MongoDB by its index either way. Changing it moves every document: ``LAYOUT`` goes up with it."""

LAYOUT = 2
"""The views' layout, part of the projector's recorded positions (``position_id``): views
recorded under an earlier layout are not found, so the projector builds these from the start
of the log (its writes are idempotent) while the old ones stay untouched until a replay."""

PAGE_SIZE = 50
REACTION_USER_IDS = 50
"""People listed under each emoji of a message (``user_ids``); ``count`` counts them all."""
QUOTE_CHARS = 100
"""Characters of the original a reply's quote shows."""
PAGES_PER_SHELF = 5
CHANGES_PER_SHELF = 1000


_WORD = re.compile(r"\w+")


def name_words(text: str) -> list[str]:
    """The words of a group's name (or a query), case-folded, each once, in order."""
    return list(dict.fromkeys(_WORD.findall(text.casefold())))


def words_query(query: str) -> dict[str, Any]:
    """Public groups with a word starting with each word of ``query``: anchored prefixes,
    which an index on ``words`` answers as ranges."""
    words = name_words(query)
    return {"$and": [{"words": {"$regex": f"^{re.escape(w)}"}} for w in words]} if words else {}


def is_view(collection: str) -> bool:
    return collection in VIEWS or collection.startswith(SHELF_PREFIXES)


def _shelf_of(key: str) -> str:
    """A stable spread (the same in every process, unlike ``hash``), as two hex digits."""
    return f"{zlib.crc32(key.encode()) % VIEW_SHELVES:02x}"


def group_shelf(group_id: str) -> str:
    """The collection that holds a group's document."""
    return f"{GROUPS_PREFIX}{_shelf_of(group_id)}"


def user_shelf(user_id: str) -> str:
    """The collection that holds a user's groups and invitations."""
    return f"{USER_GROUPS_PREFIX}{_shelf_of(user_id)}"


def group_view(
    database: AsyncDatabase[dict[str, Any]], group_id: str
) -> AsyncCollection[dict[str, Any]]:
    """The collection of ``database`` that holds a group's document."""
    return database[group_shelf(group_id)]


def user_view(
    database: AsyncDatabase[dict[str, Any]], user_id: str
) -> AsyncCollection[dict[str, Any]]:
    """The collection of ``database`` that holds a user's groups and invitations."""
    return database[user_shelf(user_id)]


def page_of(seq: int) -> int:
    return (seq - 1) // PAGE_SIZE


def slot_of(seq: int) -> str:
    """The key of a message inside its page."""
    return str((seq - 1) % PAGE_SIZE)


def page_shelf(group_id: str, page: int) -> str:
    """The collection that holds a page."""
    return f"{PAGES_PREFIX}{group_id}.{page // PAGES_PER_SHELF}"


def change_shelf(group_id: str, change: int) -> str:
    return f"{CHANGES_PREFIX}{group_id}.{(change - 1) // CHANGES_PER_SHELF}"


def position_id(partition: int) -> str:
    return f"events:{partition}@{LAYOUT}"


def iso(moment: datetime) -> str:
    """A time as clients get it: ISO 8601 in UTC with a ``Z``."""
    return moment.isoformat().replace("+00:00", "Z")


# --- messages -------------------------------------------------------------------------------


def message_slot(fact: MessageSaved) -> dict[str, Any]:
    """A saved message as its page slot holds it until it is edited or deleted."""
    return {
        **fact.model_dump(exclude={"type", "group_id", "sealed", "key_no", "requested_at"}),
        "reactions": [],
        "edited_at": None,
        "deleted": False,
        "deleted_at": None,
    }


def slot_value(slot: dict[str, Any]) -> str:
    """A slot as a page stores it: one JSON string, its times as clients get them. FerretDB
    reads and rewrites a document field by field (a page of 50 messages as nested documents
    is 550 fields: 6 ms a read, 11 ms a write of ten slots, against 2.5 and 3.6 ms as 50
    strings), and a page is only ever read whole, never queried inside."""
    return orjson.dumps(
        {key: iso(value) if isinstance(value, datetime) else value for key, value in slot.items()}
    ).decode()


def read_slot(value: str | dict[str, Any]) -> dict[str, Any]:
    """A slot as stored: a JSON string, or (pages written before) a nested document."""
    return orjson.loads(value) if isinstance(value, str) else dict(value)


async def slots_between(
    database: AsyncDatabase[dict[str, Any]], group_id: str, first: int, last: int
) -> AsyncIterator[dict[str, Any]]:
    """The page slots of messages ``first <= seq <= last`` that are written, oldest first."""
    for page in range(page_of(first), page_of(last) + 1) if first <= last else ():
        doc = await database[page_shelf(group_id, page)].find_one({"_id": page})
        slots = (doc or {}).get("m", {})
        for key in sorted(slots, key=int):
            slot = read_slot(slots[key])
            if first <= int(slot["seq"]) <= last:
                yield slot


# --- edits and deletes ----------------------------------------------------------------------


def change_document(fact: MessageEdited | MessageDeleted | ReactionToggled) -> dict[str, Any]:
    """A change at its number in ``changes.<group>``: an edit, a delete or a reaction (which
    has ``reaction`` and no ``body``)."""
    document = {
        "group_id": fact.group_id,
        "change": fact.change,
        "message_id": fact.message_id,
        "seq": fact.seq,
        "deleted": isinstance(fact, MessageDeleted),
        "body": fact.body if isinstance(fact, MessageEdited) else "",
        "at": fact.occurred_at,
    }
    if isinstance(fact, ReactionToggled):
        document["reaction"] = {
            "emoji": fact.emoji,
            "user_id": fact.user_id,
            "username": fact.username,
            "reacted": fact.reacted,
            "count": fact.count,
        }
    return document


def reacted_slot(slot: dict[str, Any], fact: ReactionToggled) -> dict[str, Any]:
    """A message's page slot once ``fact`` added or took back a reaction: ``reactions`` in
    the order each emoji was first used, ``count`` from the fact, the first
    ``REACTION_USER_IDS`` people kept by id. Applying the same fact twice gives the same."""
    reactions = [dict(r) for r in slot.get("reactions") or []]
    entry = next((r for r in reactions if r["emoji"] == fact.emoji), None)
    if entry is None:
        entry = {"emoji": fact.emoji, "count": 0, "user_ids": []}
        reactions.append(entry)
    user_ids = [u for u in entry["user_ids"] if u != fact.user_id]
    if fact.reacted and len(user_ids) < REACTION_USER_IDS:
        user_ids.append(fact.user_id)
    entry["user_ids"], entry["count"] = user_ids, fact.count
    return slot | {"reactions": [r for r in reactions if r["count"] > 0]}


def quote(reply_to: ReplyTo | dict[str, Any], original: dict[str, Any] | None) -> dict[str, Any]:
    """A reply's ``reply_to`` as clients get it, from the original's slot as it is now: its
    sender and first ``QUOTE_CHARS`` characters, or ``deleted`` and no words once it is
    deleted (or not found: a view rebuilt without it)."""
    ref = reply_to.model_dump() if isinstance(reply_to, ReplyTo) else dict(reply_to)
    ref = {key: ref[key] for key in ("message_id", "seq", "sender_id")}
    if original is None or original.get("deleted"):
        return {**ref, "sender": original["sender"] if original else "", "deleted": True}
    snippet = str(original.get("body", ""))[:QUOTE_CHARS]
    return {**ref, "sender": original["sender"], "snippet": snippet, "deleted": False}


# --- groups ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A ``groups`` document as the gateway uses it."""

    group_id: str
    name: str
    private: bool
    owner_id: str
    last_seq: int
    last_change: int
    version: int
    members: dict[str, dict[str, Any]]
    invited: dict[str, dict[str, Any]]
    direct: dict[str, str] | None = None
    """A direct conversation's two people, user id → username (None: a group)."""
    blocked_by: tuple[str, ...] = ()
    """Of a direct conversation's two people, those who block the other."""

    def peer_of(self, user_id: str) -> dict[str, str] | None:
        """The other person of a direct conversation, as clients get them."""
        for peer_id, username in (self.direct or {}).items():
            if peer_id != user_id:
                return {"user_id": peer_id, "username": username}
        return None

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Group:
        return cls(
            group_id=doc["_id"],
            name=doc["name"],
            private=bool(doc["private"]),
            owner_id=doc["owner_id"],
            last_seq=int(doc.get("last_seq", 0)),
            last_change=int(doc.get("last_change", 0)),
            version=int(doc.get("version", 0)),
            members=doc.get("members", {}),
            invited=doc.get("invited", {}),
            direct=doc.get("direct"),
            blocked_by=tuple(doc.get("blocked_by", ())),
        )


# --- what the projector writes: each fact's part of the documents -------------------------


def edited_slot(slot: dict[str, Any], fact: MessageEdited) -> dict[str, Any]:
    """A message's page slot once ``fact`` edited it."""
    return slot | {"body": fact.body, "edited_at": iso(fact.occurred_at), "mentions": fact.mentions}


def deleted_slot(slot: dict[str, Any], fact: MessageDeleted) -> dict[str, Any]:
    """A message's page slot once ``fact`` deleted it: a tombstone, the body gone."""
    return slot | {
        "body": "",
        "deleted": True,
        "deleted_at": iso(fact.occurred_at),
        "reactions": [],
    }


def new_group_document(fact: GroupCreated) -> dict[str, Any]:
    """A group's document as its creation writes it (the ``_id`` aside): its owner the one
    member, every position at 0 but the membership ``version``."""
    return {
        "name": fact.name,
        "private": fact.private,
        "owner_id": fact.owner_id,
        "owner": fact.owner,
        **_first_positions(fact),
        "members": {fact.owner_id: member_entry(fact.owner, "owner", fact.occurred_at, 0)},
        "invited": {},
    }


def _first_positions(fact: GroupCreated | DirectOpened) -> dict[str, Any]:
    """A new group's moment and positions: every one at 0 but its membership ``version``."""
    return {
        "created_at": fact.occurred_at,
        "last_seq": 0,
        "last_change": 0,
        "counted_seq": 0,
        "counted_change": 0,
        "version": fact.version,
    }


def new_direct_document(fact: DirectOpened) -> dict[str, Any]:
    """A direct conversation's document as its opening writes it: private, no owner, both
    people members (each a ``member``), ``direct`` naming them."""
    people = {fact.user_id: fact.username, fact.peer_id: fact.peer}
    return {
        "name": "",
        "private": True,
        "owner_id": "",
        "owner": "",
        **_first_positions(fact),
        "members": {
            uid: member_entry(name, "member", fact.occurred_at, 0) for uid, name in people.items()
        },
        "invited": {},
        "direct": people,
        "blocked_by": [],
    }


def block_entry(fact: UserBlocked) -> dict[str, Any]:
    """A blocked person in their blocker's ``user_groups`` ``blocked``, keyed by user id."""
    return {"username": fact.username, "at": fact.occurred_at}


def member_entry(username: str, role: str, joined_at: datetime, read_seq: int) -> dict[str, Any]:
    """A member in its group's ``members``: read up to ``read_seq`` on joining, so nothing is
    unread yet (the projector keeps ``unread`` and ``mentions`` from there)."""
    return {
        "username": username,
        "role": role,
        "joined_at": joined_at,
        "last_read_seq": read_seq,
        "unread": 0,
        "mentions": 0,
    }


def invitation_entry(fact: MemberInvited) -> dict[str, Any]:
    """A pending invitation in its group's ``invited``, keyed by the invited user's id."""
    return {"username": fact.username, "by_id": fact.by_id, "at": fact.occurred_at}


def pending_invitation(fact: MemberInvited) -> dict[str, Any]:
    """A pending invitation in the invited user's ``user_groups`` ``invited``, keyed by the
    group's id."""
    return {"name": fact.group_name, "by_id": fact.by_id, "by": fact.by, "at": fact.occurred_at}


def user_group_entry(joined_at: datetime) -> dict[str, Any]:
    """A group in its member's ``user_groups`` ``groups``, keyed by the group's id."""
    return {"joined_at": joined_at}


def public_group_document(fact: GroupCreated) -> dict[str, Any]:
    """A public group as ``find_groups`` searches it (the ``_id`` aside)."""
    return {"name": fact.name, "words": name_words(fact.name)}
