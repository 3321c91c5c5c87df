"""Message search in the page: what a person finds (only what they may read, what matched
marked, markup as text), newest first or best match first, in all groups or the open one, a
page at a time; a query the server cannot read says why; a message found opens in its
conversation among the messages around it, and the rest of the conversation loads as the
person scrolls, up to the live messages. From the keyboard, and on a phone."""

from __future__ import annotations

import asyncio
import re

import socketio
from playwright.async_api import expect

from tests.integration.web.conftest import People, Stack, unique
from tests.integration.web.person import Person
from tests.integration.web.test_recovery_and_layout import sign_up


async def test_a_search_finds_what_the_person_may_read_and_opens_it(people: People) -> None:
    ann = Person(await people.open(), unique("ann"))
    ben = Person(await people.open(node=1), unique("ben"))
    sent_frames: list[str] = []
    ben.page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent_frames.append(str(f))))
    await ann.register()
    await ben.register()
    shared, private, own = (f"{name} {unique('g')}" for name in ("Ops", "Ann alone", "Ben notes"))
    await ann.create_group(shared)
    await ben.find_and_join("Ops", shared)
    await ann.create_group(private, private=True)
    await ann.send("Secret deploy plan")
    await ben.create_group(own)
    await ben.send("deploy checklist for Ben")
    await ann.open_group(shared)
    await ben.open_group(shared)
    await ann.send("Morning all")
    await ben.send("The deploy went fine")
    await ann.send("<b>deploy</b> notes attached")
    await ben.send("Thanks, reading now")
    await ben.open_group(own)

    # Ann finds her private group's message: the index has it.
    await ann.search_until_found("deploy", "Secret deploy plan")
    await ann.search_until_found("deploy", "<b>deploy</b> notes attached")

    # Ben finds his own and the shared group's, newest first, never Ann's private one.
    newest_first = [
        "<b>deploy</b> notes attached",
        "The deploy went fine",
        "deploy checklist for Ben",
    ]
    for body in reversed(newest_first):
        await ben.search_until_found("deploy", body)
    await expect(ben.search_results.locator(".body")).to_have_text(newest_first)
    await expect(ben.search_result("Secret")).to_have_count(0)
    await expect(ben.page.locator("#search-status")).to_have_text("3 messages found.")
    # Where each is, and what matched, marked: the body's markup is text.
    went_fine = ben.search_result("The deploy went fine")
    await expect(went_fine.locator(".group-name")).to_have_text(shared)
    await expect(went_fine.locator(".sender")).to_have_text(f"{ben.username} (you)")
    await expect(went_fine.locator("time")).not_to_be_empty()
    await expect(went_fine.locator("mark")).to_have_text(["deploy"])
    markup = ben.search_result("<b>deploy</b> notes attached")
    await expect(markup.locator("mark")).to_have_text(["deploy"])
    await expect(markup.locator("b")).to_have_count(0)
    await expect(markup.locator(".sender")).to_have_text(ann.username)

    # From the keyboard: Escape closes the results, back in the box with the query; Enter
    # searches; Tab goes to a result; Enter opens it among the messages around it.
    await expect(ben.search_box).to_be_focused()
    await ben.page.keyboard.press("Escape")
    await expect(ben.search_results).to_have_count(0)
    await expect(ben.search_box).to_be_focused()
    await expect(ben.search_box).to_have_value("deploy")
    await ben.page.keyboard.press("Control+a")
    await ben.page.keyboard.type("deploy")
    await ben.page.keyboard.press("Enter")
    await ben.search_answered()
    await ben.tab_to(went_fine)
    await ben.page.keyboard.press("Enter")
    await expect(ben.page.locator("#group-title")).to_have_text(shared)
    await expect(ben.found_message.locator(".body")).to_have_text("The deploy went fine")
    await expect(ben.found_message).to_have_class(re.compile(r"\bsearch-hit\b"))
    await expect(ben.found_message).to_be_focused()
    await expect(went_fine).to_have_attribute("aria-current", "true")
    await ben.expect_bodies(
        "Morning all", "The deploy went fine", "<b>deploy</b> notes attached", "Thanks, reading now"
    )
    await expect(ben.message("<b>deploy</b> notes attached").locator("b")).to_have_count(0)
    # "/" comes back to the box from anywhere but a text field.
    await ben.page.keyboard.press("/")
    await expect(ben.search_box).to_be_focused()

    # Best match first: the choice next to the box asks again, in that order.
    await ben.choose_search(order="best match first")
    await ben.search_answered()
    await expect(ben.search_results).to_have_count(3)
    assert any('"search"' in f and '"order":"relevance"' in f for f in sent_frames), sent_frames

    # Only the open group: Ben's own group's message is not among them.
    await ben.choose_search(scope=f"this group: {shared}", order="newest first")
    await ben.search_answered()
    await expect(ben.search_results.locator(".body")).to_have_text(newest_first[:2])
    assert any('"search"' in f and '"group_id"' in f for f in sent_frames), sent_frames

    # Nothing found says so; a query the server cannot read says what is wrong with it.
    await ben.search("zebra")
    await expect(ben.page.locator("#search-status")).to_have_text("No messages found.")
    await ben.search('"unclosed')
    await expect(ben.page.get_by_role("alert").filter(has_text="quote")).to_have_text(
        re.compile(r"quote is not closed")
    )
    await expect(ben.search_results).to_have_count(0)


async def test_a_message_found_opens_among_its_neighbours_and_the_rest_loads_on_scroll(
    people: People, stack: Stack
) -> None:
    """80 messages written by a script; the page finds the 30th, shows the messages around
    it, and the older and newer ones as the person scrolls, then live ones as they come."""
    username = unique("cat")
    token = await sign_up(stack, username)
    bodies = [f"entry {n}" + (" needle" if n == 30 else "") for n in range(1, 81)]
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(stack.url, auth={"token": token}, transports=["websocket"])
    try:
        reply = await sio.call("create_group", {"name": "Ledger", "private": True}, timeout=20)
        group_id = reply["group_id"]
        for n, body in enumerate(bodies, start=1):
            await send(sio, group_id, f"m{n}", body)
        async with asyncio.timeout(30):
            # The agents number the messages; poll the projection until all 80 are in.
            while (await sio.call("groups", timeout=20))["groups"][0]["last_seq"] < 80:  # noqa: ASYNC110
                await asyncio.sleep(0.2)

        cat = Person(await people.open(height=700), username)
        sent_frames: list[str] = []
        cat.page.on(
            "websocket", lambda ws: ws.on("framesent", lambda f: sent_frames.append(str(f)))
        )
        await cat.log_in()

        # A page at a time, newest first.
        await cat.search_until_found("entry", re.compile(r"^entry 80$"))
        await expect(cat.search_results).to_have_count(20)
        await expect(cat.search_results.first.locator(".body")).to_have_text("entry 80")
        await cat.page.get_by_role("button", name="Load more").click()
        await cat.search_answered()
        await expect(cat.search_results).to_have_count(40)
        await expect(cat.search_results.nth(20).locator(".body")).to_have_text("entry 60")
        await expect(cat.search_results.nth(20)).to_be_focused()

        await cat.search_until_found("needle", "entry 30 needle")
        await cat.search_result("entry 30 needle").click()
        await expect(cat.found_message.locator(".body")).to_have_text("entry 30 needle")
        await expect(cat.found_message).to_be_in_viewport()
        assert any('"around_seq":30' in f for f in sent_frames), sent_frames
        # The messages around it, not the newest: they come on scrolling down.
        await expect(cat.message(re.compile(r"^entry 29$"))).to_have_count(1)
        await expect(cat.message(re.compile(r"^entry 31$"))).to_have_count(1)
        await expect(cat.messages.last.locator(".body")).to_have_text("entry 54")
        to_newest = cat.page.get_by_role("button", name="Jump to the newest messages")
        await expect(to_newest).to_be_visible()
        await expect(cat.message(re.compile(r"^entry 80$"))).to_have_count(0)

        # A live message meanwhile waits for the messages before it.
        await send(sio, group_id, "live", "written while Cat reads back")
        await cat.page.locator("#messages").evaluate("(el) => { el.scrollTop = el.scrollHeight; }")
        await expect(cat.message("written while Cat reads back")).to_have_count(1)
        await expect(to_newest).to_be_hidden()
        await cat.page.locator("#messages").evaluate("(el) => { el.scrollTop = 0; }")
        await expect(cat.page.locator("#history-status")).to_have_text(
            "This is the beginning of the conversation."
        )
        await cat.expect_bodies(*bodies, "written while Cat reads back")
        await expect(cat.found_message.locator(".body")).to_have_text("entry 30 needle")

        # Live messages go on as usual, and Cat's own show at the bottom.
        await send(sio, group_id, "later", "and one more")
        await cat.send("Cat answers from the page")
        await cat.expect_bodies(
            *bodies, "written while Cat reads back", "and one more", "Cat answers from the page"
        )
    finally:
        await sio.disconnect()


async def send(sio: socketio.AsyncClient, group_id: str, client_msg_id: str, body: str) -> None:
    """Send as a script does, at the pace the gateway allows."""
    message = {"group_id": group_id, "client_msg_id": client_msg_id, "body": body}
    reply = await sio.call("send", message, timeout=20)
    while reply["ok"] is False and reply["error"]["code"] == "rate_limited":
        await asyncio.sleep(reply["error"]["retry_after"])
        reply = await sio.call("send", message, timeout=20)
    assert reply["ok"] is True, reply


async def test_a_phone_searches_opens_a_result_and_comes_back_to_the_results(
    people: People,
) -> None:
    eve = Person(await people.open(width=390, height=844), unique("eve"))
    await eve.register()
    group = f"Pocket {unique('g')}"
    await eve.create_group(group)
    await eve.send("Where did I leave the pocket knife?")
    await eve.send("Found it, in the drawer")
    await eve.page.get_by_role("button", name="Back to groups").click()

    await eve.search_until_found("knife", "pocket knife")
    await expect(eve.search_result("pocket knife").locator("mark")).to_have_text(["knife"])
    assert await eve.page.evaluate("document.documentElement.scrollWidth") <= 390
    await eve.search_result("pocket knife").click()
    await expect(eve.page.locator("#sidebar")).to_be_hidden()
    await expect(eve.found_message.locator(".body")).to_have_text(
        "Where did I leave the pocket knife?"
    )
    await expect(eve.found_message).to_be_in_viewport()
    assert await eve.page.evaluate("document.documentElement.scrollWidth") <= 390

    await eve.page.get_by_role("button", name="Back to groups").click()
    await expect(eve.page.locator("#sidebar")).to_be_visible()
    await expect(eve.search_result("pocket knife")).to_have_attribute("aria-current", "true")
