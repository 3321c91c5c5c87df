"""Groups and users are spread over a fixed set of collections (FerretDB reads a whole
collection to find an ``_id``), the same way in every process."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

from records.views import (
    VIEW_SHELVES,
    group_shelf,
    is_view,
    position_id,
    user_shelf,
)


def test_groups_spread_evenly_over_the_shelves() -> None:
    shelves = Counter(group_shelf(f"group-{n}") for n in range(25_600))
    assert len(shelves) == VIEW_SHELVES
    assert max(shelves.values()) < 2 * 25_600 / VIEW_SHELVES


def test_a_group_and_a_user_of_the_same_id_are_in_collections_of_their_own_kind() -> None:
    assert group_shelf("x").startswith("groups.")
    assert user_shelf("x").startswith("user_groups.")
    assert group_shelf("x").split(".", 1)[1] == user_shelf("x").split(".", 1)[1]


def test_the_shelf_of_an_id_is_the_same_in_another_process() -> None:
    ids = ["ann", "group-7", "ünïcode", ""]
    here = [group_shelf(i) for i in ids]
    code = f"from records.views import group_shelf; print([group_shelf(i) for i in {ids!r}])"
    there = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
        cwd=".",
    ).stdout.strip()
    assert there == repr(here)


def test_shelves_and_earlier_layouts_are_views_a_replay_drops() -> None:
    assert is_view(group_shelf("g")) and is_view(user_shelf("u"))
    assert is_view("groups") and is_view("user_groups")
    assert not is_view("users") and not is_view("groupsx")


def test_positions_of_this_layout_are_not_those_of_the_earlier_one() -> None:
    assert position_id(0) != "events:0"
    assert position_id(0) != position_id(1)
