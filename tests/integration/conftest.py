"""The one seam through which every integration test gets its real servers.

``servers`` is session-scoped: see ``tests.integration.servers`` for the order in which
servers are found. A test that needs a server and finds none fails, naming it.
"""

from __future__ import annotations

import pytest

from tests.integration.servers import (
    Servers,
    ServersMissing,
    check_reachable,
    servers_from_environment,
)


@pytest.fixture(scope="session")
async def servers() -> Servers:
    try:
        found = servers_from_environment()
        await check_reachable(found)
    except ServersMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    return found
