"""What a node keeps of the newest events of each group: unbroken runs of positions only,
bounded per group and in all, a deleted message's body gone."""

from __future__ import annotations

from typing import Any

from gateway.recent import RecentEvents


def message(seq: int, body: str = "hi") -> dict[str, Any]:
    return {"group_id": "g", "seq": seq, "body": body, "deleted": False, "reactions": []}


def change(number: int, seq: int = 1) -> dict[str, Any]:
    return {"group_id": "g", "message_id": f"g:{seq}", "seq": seq, "change": number}


def seqs(events: list[tuple[str, dict[str, Any]]] | None) -> list[int] | None:
    return None if events is None else [int(payload["seq"]) for _, payload in events]


def test_only_what_is_all_there_is_given() -> None:
    recent = RecentEvents()
    for seq in range(5, 11):
        recent.add("g", "message", message(seq))
    assert seqs(recent.between("g", "seq", 6, 10)) == [6, 7, 8, 9, 10]
    assert recent.between("g", "seq", 4, 10) is None, "4 was never read here"
    assert recent.between("g", "seq", 6, 11) is None, "11 is not read yet"
    assert recent.between("h", "seq", 1, 1) is None


def test_a_gap_starts_the_run_again() -> None:
    recent = RecentEvents()
    for seq in (1, 2, 3, 7, 8):
        recent.add("g", "message", message(seq))
    assert recent.between("g", "seq", 2, 3) is None
    assert seqs(recent.between("g", "seq", 7, 8)) == [7, 8]
    assert len(recent) == 2


def test_an_event_read_again_is_kept_once() -> None:
    recent = RecentEvents()
    for seq in (1, 2, 3, 2, 3, 4):
        recent.add("g", "message", message(seq))
    assert seqs(recent.between("g", "seq", 1, 4)) == [1, 2, 3, 4]


def test_changes_are_a_run_of_their_own() -> None:
    recent = RecentEvents()
    recent.add("g", "message", message(1))
    recent.add("g", "message_edited", change(1) | {"body": "hey"})
    recent.add("g", "reaction", change(2) | {"emoji": "👍"})
    events = recent.between("g", "change", 1, 2)
    assert events is not None
    assert [name for name, _ in events] == ["message_edited", "reaction"]


def test_a_deleted_message_loses_its_body_here_too() -> None:
    recent = RecentEvents()
    recent.add("g", "message", message(1, "a secret"))
    recent.add("g", "message_deleted", change(1, seq=1))
    ((_, kept),) = recent.between("g", "seq", 1, 1) or []
    assert kept["body"] == "" and kept["deleted"] is True


def test_bounded_per_group_and_in_all_the_quietest_groups_forgotten_first() -> None:
    recent = RecentEvents(entries=10, per_group=4)
    for seq in range(1, 8):
        recent.add("a", "message", message(seq))
    assert seqs(recent.between("a", "seq", 4, 7)) == [4, 5, 6, 7]
    assert recent.between("a", "seq", 3, 7) is None
    for seq in range(1, 5):
        recent.add("b", "message", message(seq))
    recent.add("a", "message", message(8))  # a is active again, b now the quieter
    for seq in range(1, 5):
        recent.add("c", "message", message(seq))
    assert len(recent) <= 10
    assert recent.between("b", "seq", 1, 4) is None, "the least recently active went first"
    assert seqs(recent.between("a", "seq", 5, 8)) == [5, 6, 7, 8]
    assert seqs(recent.between("c", "seq", 1, 4)) == [1, 2, 3, 4]


def test_a_deleted_message_loses_every_version_of_its_words() -> None:
    recent = RecentEvents()
    recent.add("g", "message", message(1, "secret v1"))
    recent.add("g", "message_edited", change(1, seq=1) | {"body": "secret v2"})
    recent.add("g", "message", message(2, "other"))
    recent.add("g", "message_edited", change(2, seq=2) | {"body": "other v2"})
    recent.add("g", "message_deleted", change(3, seq=1))
    edits = recent.between("g", "change", 1, 2) or []
    assert [payload["body"] for _, payload in edits] == ["", "other v2"]
