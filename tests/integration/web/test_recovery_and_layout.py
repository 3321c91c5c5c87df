"""A gateway restart under a reader, a long history read on scroll, and a phone-width screen."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import socketio
from playwright.async_api import expect

from tests.integration.web.conftest import People, Stack, unique
from tests.integration.web.person import PASSWORD, Person
from tests.integration.web.test_chat_page import SCREENSHOT

PHONE_SCREENSHOT = SCREENSHOT.with_name("screenshot-phone.png")


async def test_a_restarted_gateway_brings_the_missed_messages_in_order(
    people: People, stack: Stack
) -> None:
    ann = Person(await people.open(node=0), unique("ann"))
    ben = Person(await people.open(node=1), unique("ben"))
    sent_frames: list[str] = []
    ben.page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent_frames.append(str(f))))
    await ann.register()
    await ben.register()
    group = f"Night shift {unique('g')}"
    await ann.create_group(group)
    await ben.find_and_join("Night shift", group)
    await ann.send("before the restart")
    await expect(ben.message("before the restart")).to_have_count(1)

    await stack.nodes[1].stop()
    await expect(ben.status).to_have_text("Reconnecting…")
    await ben.page.get_by_label("Message", exact=True).fill("written offline")
    await ben.page.get_by_label("Message", exact=True).press("Enter")
    await expect(ben.page.locator("#pending-list > li")).to_contain_text("sending…")
    missed = [f"missed {n}" for n in range(1, 6)]
    for text in missed:
        await ann.send(text)
    await asyncio.sleep(1)  # ben's page keeps retrying against the closed port meanwhile
    await stack.nodes[1].start()

    await expect(ben.status).to_have_text("Connected", timeout=30_000)
    # What was missed comes first, in order; then what Ben wrote while away goes out.
    await ben.expect_bodies("before the restart", *missed, "written offline")
    await expect(ben.page.locator("#pending-list > li")).to_have_count(0)
    # The page asked for what it missed: a join from the last message it had seen (seq 1).
    assert any('"join"' in f and '"since_seq":1' in f for f in sent_frames), sent_frames
    await ben.send("back again")
    everything = ["before the restart", *missed, "written offline", "back again"]
    await ann.expect_bodies(*everything)
    await ben.expect_bodies(*everything)


async def sign_up(stack: Stack, username: str) -> str:
    credentials = {"username": username, "password": PASSWORD}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{stack.auth_url}/register", json=credentials) as response:
            assert response.status == 201, await response.text()
        async with http.post(f"{stack.auth_url}/login", json=credentials) as response:
            assert response.status == 200, await response.text()
            return str((await response.json())["access_token"])


async def test_older_messages_load_on_scroll(people: People, stack: Stack) -> None:
    """130 messages written by a script; the page shows the newest, the rest as it scrolls."""
    username = unique("cat")
    token = await sign_up(stack, username)
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(stack.url, auth={"token": token}, transports=["websocket"])
    try:
        reply = await sio.call("create_group", {"name": "Archive", "private": True}, timeout=20)
        group_id = reply["group_id"]
        for n in range(1, 131):
            message = {"group_id": group_id, "client_msg_id": f"m{n}", "body": f"line {n}"}
            reply = await sio.call("send", message, timeout=20)
            while reply["ok"] is False and reply["error"]["code"] == "rate_limited":
                # Faster than a person may send: wait as told, then send the same again.
                await asyncio.sleep(reply["error"]["retry_after"])
                reply = await sio.call("send", message, timeout=20)
            assert reply["ok"] is True
        async with asyncio.timeout(30):
            # The agents number the messages; poll the projection until all 130 are in.
            while (await sio.call("groups", timeout=20))["groups"][0]["last_seq"] < 130:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
    finally:
        await sio.disconnect()

    cat = Person(await people.open(height=700), username)
    await cat.log_in()
    await cat.open_group("Archive")
    await expect(cat.message("line 130")).to_have_count(1)
    assert await cat.message(re.compile(r"^line 1$")).count() == 0
    for _ in range(10):
        await cat.page.locator("#messages").evaluate("(el) => { el.scrollTop = 0; }")
        await cat.page.wait_for_timeout(300)
        if await cat.message(re.compile(r"^line 1$")).count():
            break
    await expect(cat.page.locator("#history-status")).to_have_text(
        "This is the beginning of the conversation."
    )
    await cat.expect_bodies(*[f"line {n}" for n in range(1, 131)])


async def test_a_phone_shows_one_pane_at_a_time(people: People) -> None:
    eve = Person(await people.open(width=390, height=844), unique("eve"))
    await eve.register()
    sidebar, conversation = eve.page.locator("#sidebar"), eve.page.locator("#conversation")
    await expect(sidebar).to_be_visible()
    await expect(conversation).to_be_hidden()

    await eve.create_group("Pocket")
    await expect(sidebar).to_be_hidden()
    await expect(conversation).to_be_visible()
    await eve.send("Typed on a phone, a rather long line that has to wrap on a narrow screen")
    await eve.send("And a reply <b>with markup</b> shown as text")
    assert await eve.page.evaluate("document.documentElement.scrollWidth") <= 390
    await eve.page.screenshot(path=str(PHONE_SCREENSHOT))

    await eve.page.get_by_role("button", name="Back to groups").click()
    await expect(sidebar).to_be_visible()
    await expect(eve.group_button("Pocket")).to_be_visible()
    await eve.open_group("Pocket")
    await expect(eve.message("Typed on a phone")).to_be_visible()


async def test_the_session_outlives_its_access_token(people: People) -> None:
    """Access tokens live 10 s here: the page refreshes its own before it runs out."""
    dan = Person(await people.open(), unique("dan"))
    await dan.register()
    await dan.create_group("Long day")
    read_token = "JSON.parse(sessionStorage.getItem('chat.session')).access_token"
    first = await dan.page.evaluate(read_token)
    # Polled from here: the page's CSP forbids the eval that wait_for_function would need.
    async with asyncio.timeout(15):
        while await dan.page.evaluate(read_token) == first:  # noqa: ASYNC110
            await asyncio.sleep(0.25)
    await dan.page.wait_for_timeout(3_000)  # now past the first token's expiry
    await dan.send("still here")
    await dan.page.reload()
    await dan.signed_in()
    await dan.expect_bodies("still here")


async def test_a_rolling_restart_of_both_gateway_nodes_costs_the_page_only_reconnecting(
    people: People, stack: Stack
) -> None:
    """Node 2, then node 1, stopped as an upgrade stops them (its sockets closed, the next
    one started once it is back): each page says "Reconnecting…" while its node is away,
    then shows every message once, in order, and no error."""
    ann = Person(await people.open(node=0), unique("ann"))
    ben = Person(await people.open(node=1), unique("ben"))
    statuses: dict[str, list[str]] = {"ann": [], "ben": []}
    for name, person in (("ann", ann), ("ben", ben)):
        seen = statuses[name]

        def note(text: str, seen: list[str] = seen) -> None:
            seen.append(text)

        await person.page.expose_function(f"seen_{name}", note)
    await ann.register()
    await ben.register()
    group = f"Upgrade night {unique('g')}"
    await ann.create_group(group)
    await ben.find_and_join("Upgrade night", group)
    for name, person in (("ann", ann), ("ben", ben)):
        await person.page.evaluate(
            """(name) => {
                const status = document.getElementById("connection-status");
                new MutationObserver(() => window[`seen_${name}`](status.textContent))
                    .observe(status, {childList: true, characterData: true, subtree: true});
            }""",
            name,
        )
    await ann.send("one")
    said = ["one"]
    for node, away, writer in ((1, ben, ann), (0, ann, ben)):
        await stack.nodes[node].stop()
        await expect(away.status).to_have_text("Reconnecting…")
        for text in (f"while node {node + 1} restarts", f"still node {node + 1}"):
            await writer.send(text)
            said.append(text)
        await stack.nodes[node].start()
        await expect(away.status).to_have_text("Connected", timeout=30_000)
        await ann.expect_bodies(*said)
        await ben.expect_bodies(*said)
    for person in (ann, ben):
        for error in ("#conversation-error", "#sidebar-error", "#search-error"):
            await expect(person.page.locator(error)).to_have_text("")
    for name, seen in statuses.items():
        assert set(seen) <= {"Connected", "Reconnecting…"}, (name, seen)
        assert "Reconnecting…" in seen, (name, seen)
