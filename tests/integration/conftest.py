"""The one seam through which every integration test gets its real servers.

``servers`` is session-scoped: servers named by ``KAFKA_URL``, ``MONGODB_URI`` and
``REDIS_URL`` are used as they are; for the others, containers are started through
testcontainers (see ``tests.integration.containers``) and thrown away when the session ends.
Tests name their own databases, topics and groups, so one set of servers serves the session.
A test that needs a server and finds none fails, naming it and how to get it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.integration.containers import EngineMissing, ServerContainers, start_containers
from tests.integration.servers import (
    HOW_TO,
    VARIABLES,
    Servers,
    ServersMissing,
    check_reachable,
    urls_from_environment,
)


@pytest.fixture(scope="session")
async def servers() -> AsyncIterator[Servers]:
    urls = urls_from_environment()
    containers = ServerContainers()
    missing = [role for role in VARIABLES if role not in urls]
    try:
        if missing:
            started, containers = await start_containers(missing)
            urls.update(started)
        found = Servers(urls["kafka"], urls["mongodb"], urls["redis"])
        await check_reachable(found)
    except EngineMissing as exc:
        names = ", ".join(VARIABLES[role] for role in missing)
        pytest.fail(f"{names} not set and {exc}. To get servers: {HOW_TO}", pytrace=False)
    except ServersMissing as exc:
        await asyncio.to_thread(containers.stop)
        pytest.fail(str(exc), pytrace=False)
    try:
        yield found
    finally:
        await asyncio.to_thread(containers.stop)
