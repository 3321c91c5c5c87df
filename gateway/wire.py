"""The JSON codec of the gateway's Socket.IO packets: orjson behind the ``json`` module's
``dumps``/``loads``, as python-socketio takes it (``AsyncServer(json=...)``).

Every event in and out is a JSON text: with the standard module, encoding and decoding them
(and building a decoder for each packet, which engine.io's integer guard makes the standard
module do) was a tenth of a gateway node's CPU at 1,000 sends a second. What orjson refuses
(nesting past its depth limit, NaN, a number past a double) goes to the standard module with
engine.io's guard, as before: such a packet is read, or refused, exactly as it was.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from engineio import json as guarded_json

DUMP_OPTIONS = orjson.OPT_NON_STR_KEYS
"""As the standard module: a key that is not a string is written as one."""


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps``; its formatting arguments (socketio asks for compact separators) are
    what orjson writes anyway."""
    try:
        return orjson.dumps(obj, option=DUMP_OPTIONS).decode()
    except TypeError:  # nested past orjson's limit, or a type it does not write
        return json.dumps(obj, **kwargs)


def loads(text: str | bytes, **kwargs: Any) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return guarded_json.loads(text, **kwargs)
