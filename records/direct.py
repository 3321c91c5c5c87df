"""Direct conversations: the one private group of two people, whose id is theirs alone.

The id is derived from the two user ids, so whoever opens it first and however often (at
once, on two gateway nodes) every request about it goes to the same group, on the same
partition, and the decider makes it once. It names no one: the ids are hashed, so a group id
seen in a URL or a log says nothing of who talks to whom.
"""

from __future__ import annotations

import hashlib

DIRECT_PREFIX = "dm-"


def direct_group_id(user_id: str, other_id: str) -> str:
    """The direct conversation of two people (the same whichever is named first)."""
    first, second = sorted((user_id, other_id))
    digest = hashlib.sha256(f"{first}\n{second}".encode()).hexdigest()
    return f"{DIRECT_PREFIX}{digest[:40]}"


def is_direct_group_id(group_id: str) -> bool:
    return group_id.startswith(DIRECT_PREFIX)
