"""The JSON codec of the gateway's Socket.IO packets: orjson behind the ``json`` module's
``dumps``/``loads``, as python-socketio takes it (``AsyncServer(json=...)``).

Every event in and out is a JSON text: with the standard module, encoding and decoding them
(and building a decoder for each packet, which engine.io's integer guard makes the standard
module do) was a tenth of a gateway node's CPU at 1,000 sends a second. The guard kept huge
integers out (the standard module parses them in quadratic time); orjson reads a number past
64 bits as a double and refuses one past a double, and NaN: such a packet is malformed.
"""

from __future__ import annotations

from typing import Any

import orjson

DUMP_OPTIONS = orjson.OPT_NON_STR_KEYS
"""As the standard module: a key that is not a string is written as one."""


def dumps(obj: Any, **_: Any) -> str:
    """``json.dumps``; its formatting arguments (socketio asks for compact separators) are
    what orjson writes anyway."""
    return orjson.dumps(obj, option=DUMP_OPTIONS).decode()


def loads(text: str | bytes, **_: Any) -> Any:
    return orjson.loads(text)
