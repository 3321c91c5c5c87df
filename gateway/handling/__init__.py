"""The gateway's Socket.IO handlers, by concern: ``connection`` (a socket's life),
``messages``, ``groups``, ``direct`` (conversations of two, blocks), ``presence`` and
``search``; what they share, and the namespace that dispatches to them, in ``namespace``.

A new client event is a command model in ``gateway.commands``, one function registered with
``@handles(event, bucket=...)`` in the module of its concern, and its payloads in
``gateway.client_events``. Importing this package registers every handler.
"""

from __future__ import annotations

from gateway.handling import connection, direct, groups, messages, presence, search
from gateway.handling.namespace import BUCKETS, ChatNamespace

__all__ = [
    "BUCKETS", "ChatNamespace", "connection", "direct", "groups", "messages", "presence",
    "search",
]  # fmt: skip
