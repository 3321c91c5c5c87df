"""The rooms of the gateway's one Socket.IO namespace: one per group, one per person."""

from __future__ import annotations

NAMESPACE = "/"

GROUP_ROOM_PREFIX = "group:"


def group_room(group_id: str) -> str:
    """Every socket that follows the group (it joined, and its catch-up is under way or done)."""
    return f"{GROUP_ROOM_PREFIX}{group_id}"


def user_room(user_id: str) -> str:
    """Every socket of a person on this node: what concerns them in any group."""
    return f"user:{user_id}"
