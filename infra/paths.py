"""Where the runner keeps things, and how it finds free ports.

Everything generated lives under the repository root in ignored folders: ``.cache/`` for what
is downloaded or built once (Kafka jars, the FerretDB binary), ``.data/`` for server state and
logs, so deleting either folder resets the machine to a cold start.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO_ROOT / ".cache"
DATA_DIR = Path(os.environ.get("CHAT_DATA_DIR") or REPO_ROOT / ".data")
"""``CHAT_DATA_DIR`` moves it (the runner's tests run a second stack beside a developer's)."""
LOG_DIR = DATA_DIR / "logs"


def venv_python() -> str:
    """The interpreter running the runner; services use the same one so they see the same deps."""
    return sys.executable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    The port is released before the caller binds it, so a race is possible but rare enough for
    local runs and tests; the OS hands out ephemeral ports in a rotating order.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already accepts connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0
