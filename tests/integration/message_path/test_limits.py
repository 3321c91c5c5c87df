"""Every client event takes a token of its person's bucket (``gateway.limits``): with a burst
of one, the second of any event is refused with ``rate_limited`` and a retry-after, the REST
mirror answers 429 with ``Retry-After``, and a second socket of the person gets no fresh
allowance."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import aiohttp

from gateway.handling import BUCKETS as KIND_OF_EVENT
from tests.integration.message_path.conftest import NewClient, Start, connected

TIGHT = {
    f"{kind}_{bound}": value
    for kind in ("send", "change", "read", "typing", "search", "reaction", "direct")
    for bound, value in (("burst", 1), ("rate", 0.01))
}
"""One event of each kind, then a token back every 100 s."""


async def test_every_event_is_limited_per_person(
    start_gateway: Start, new_client: NewClient, token_for: Callable[..., str]
) -> None:
    url = await start_gateway(**TIGHT)
    unlimited = []
    for event, kind in KIND_OF_EVENT.items():
        token = token_for(f"lim{secrets.token_hex(3)}")  # a person of their own: fresh buckets
        client = await connected(new_client, url, token)
        await client.call(event, {})  # let through (its payload may be refused)
        again = await (await connected(new_client, url, token)).call(event, {})
        error = again.get("error", {}) if isinstance(again, dict) else {}
        if error.get("code") != "rate_limited" or not error.get("retry_after", 0) > 0:
            unlimited.append(f"{event} ({kind}): {again}")
    assert unlimited == []


async def test_the_rest_mirror_answers_429_with_retry_after(
    start_gateway: Start, token_for: Callable[..., str]
) -> None:
    url = await start_gateway(**TIGHT)
    bearer = {"Authorization": f"Bearer {token_for(f'lim{secrets.token_hex(3)}')}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/groups", headers=bearer) as first:
            assert first.status == 200
        async with http.get(f"{url}/groups", headers=bearer) as second:
            assert second.status == 429
            assert int(second.headers["Retry-After"]) >= 1
            assert (await second.json())["error"]["code"] == "rate_limited"
