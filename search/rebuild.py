"""``python -m search rebuild``: the index dropped and built again from the event log.

Run it with the service stopped (the index refuses a second process: ``IndexInUse``). A
message deleted is absent after it: its keys are erased (its bodies read as nothing), or its
delete comes later in the log and is applied as it was live. Stopped half way, the index is
consistent up to the position it records, and the service resumes from there.
"""

from __future__ import annotations

import asyncio
import logging
import time

from search.follower import Follower
from search.index import MessageIndex
from search.settings import Settings

log = logging.getLogger(__name__)


async def rebuild(settings: Settings) -> Follower:
    """Build the index from the start of the log up to its end as it is now."""
    index = MessageIndex(settings.index_path, readers=1)
    await asyncio.to_thread(index.open, empty=True)
    started = time.monotonic()
    try:
        follower = Follower(settings, index)
        await follower.follow(until_caught_up=True)
        await asyncio.to_thread(index.purge)  # one segment: compact, and nothing deleted in it
    finally:
        await asyncio.to_thread(index.close)
    took = time.monotonic() - started
    log.info("rebuilt the index from %d facts in %.0f s", follower.applied, took)
    return follower
