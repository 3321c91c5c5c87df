"""Direct conversations, blocking, reactions and replies in the page, with two people in two
browsers; and what a newcomer tripped on: a phone's back, both "←" and the browser's, leaves
the group not open (what comes next is unread), a group opens at "New messages", a send's
error clears once a send goes through, the next person on a tab sees nothing of the last,
the icon, and two groups of one name told apart."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import socketio
from playwright.async_api import expect

from tests.integration.web.conftest import People, Stack, unique
from tests.integration.web.person import Person
from tests.integration.web.test_recovery_and_layout import sign_up
from tests.integration.web.test_search import send as script_send


async def two_in_a_group(people: People, *, ann_height: int = 800) -> tuple[Person, Person, str]:
    ann = Person(await people.open(height=ann_height), unique("ann"))
    ben = Person(await people.open(node=1), unique("ben"))
    await ann.register()
    await ben.register()
    group = f"Crew {unique('g')}"
    await ann.create_group(group)
    await ben.find_and_join("Crew", group)
    await ann.open_members_panel()
    await expect(ann.members).to_have_count(2)
    return ann, ben, group


async def test_a_direct_conversation_from_the_members_list_and_a_block(people: People) -> None:
    ann, ben, group = await two_in_a_group(people)

    # Ann writes to Ben from the group's members list: a direct conversation, said so.
    await ann.message_from_members(ben.username)
    await expect(ann.page.locator("#group-kind")).to_have_text("direct message")
    await expect(ann.page.locator("#invite-form")).to_be_hidden()
    mine = ann.page.get_by_role("button", name=f"Direct message with {ben.username}")
    await expect(mine).to_have_count(1)
    await expect(ann.group_button(ben.username)).to_have_count(0)  # not among the groups
    await ann.send("Hi Ben, just between us")

    # Ben, looking at the group, sees it come with its badge before he opens it.
    await expect(ben.page.locator("#group-title")).to_have_text(group)
    await expect(ben.direct_button(ann.username).locator(".unread")).to_have_text("1")
    await expect(
        ben.page.get_by_role("button", name=re.compile(f"^Direct message with {ann.username}"))
    ).to_have_count(1)
    await ben.open_direct(ann.username)
    await expect(ben.message("Hi Ben, just between us")).to_have_count(1)
    await expect(ben.direct_button(ann.username).locator(".unread")).to_have_count(0)
    await ben.send("Hi Ann, sure")
    await expect(ann.message("Hi Ann, sure")).to_have_count(1)

    # By username, from the sidebar: the same conversation, not a second one. Nobody by
    # that name: said in plain words.
    await ann.open_group(group)
    await ann.write_to(ben.username)
    await expect(ann.page.locator("#group-title")).to_have_text(ben.username)
    await expect(ann.page.locator("#direct-list > li")).to_have_count(1)
    await ann.write_to(unique("nobody"))
    await expect(ann.page.locator("#sidebar-error")).to_have_text(re.compile("nobody called"))

    # Ben blocks Ann from her name in the header: Ann's next message is refused, plainly.
    await ben.block_in_header(ann.username)
    await expect(ben.page.locator("#blocked-text")).to_contain_text(f"You block {ann.username}")
    composer = ann.page.get_by_label("Message", exact=True)
    await composer.fill("Are you still there?")
    await composer.press("Enter")
    refused = ann.page.locator("#pending-list > li.failed")
    await expect(refused).to_contain_text("not sent")
    await expect(ann.page.locator("#conversation-error")).to_contain_text("Not sent:")
    # Ben cannot write either while he blocks her; unblocked, both can again.
    await ben.page.get_by_label("Message", exact=True).fill("one more thing")
    await ben.page.get_by_label("Message", exact=True).press("Enter")
    await expect(ben.page.locator("#pending-list > li.failed")).to_contain_text("not sent")
    await ben.page.locator("#pending-list > li").get_by_role("button", name="Discard").click()
    await ben.page.locator("#unblock-button").click()
    await expect(ben.page.locator("#blocked-line")).to_be_hidden()
    await refused.get_by_role("button", name="Discard").click()
    await ann.send("Back on speaking terms")
    # A send that goes through clears the refusal under the composer.
    await expect(ann.page.locator("#conversation-error")).to_be_empty()
    await expect(ben.message("Back on speaking terms")).to_have_count(1)
    await expect(ben.message("Are you still there?")).to_have_count(0)

    # Blocking from the members list of a group works the same way, and says so there.
    await ben.open_group(group)
    await ben.open_members_panel()
    menu = await ben.person_menu(ben.page.locator("#member-list"), ann.username)
    await menu.get_by_role("menuitem", name=f"Block {ann.username}").click()
    await expect(ben.member(ann.username)).to_contain_text("blocked by you")
    menu = await ben.person_menu(ben.page.locator("#member-list"), ann.username)
    await menu.get_by_role("menuitem", name=f"Unblock {ann.username}").click()
    await expect(ben.member(ann.username)).not_to_contain_text("blocked")

    # Ben leaves the conversation: gone from his list. Ann writes again: it is back in his
    # list, only the new message unread.
    await ben.open_direct(ann.username)
    await ben.open_members_panel()
    await ben.page.get_by_role("button", name="Leave this conversation").click()
    await expect(ben.direct_button(ann.username)).to_have_count(0)
    await expect(ann.page.locator("#group-title")).to_have_text(ben.username)
    await ann.send("Did you go?")
    await expect(ben.direct_button(ann.username).locator(".unread")).to_have_text("1")
    await ben.open_direct(ann.username)
    await expect(ben.message("Did you go?")).to_have_count(1)
    await expect(ben.message("Hi Ben, just between us")).to_have_count(1)


async def test_reactions_count_on_both_pages_and_toggle(people: People) -> None:
    ann, ben, group = await two_in_a_group(people)
    await ben.open_group(group)
    await ann.send("Lunch at noon?")
    await expect(ben.message("Lunch at noon?")).to_have_count(1)

    await ben.react("Lunch at noon?", "👍")
    for person, pressed in ((ben, "true"), (ann, "false")):
        chip = person.reaction("Lunch at noon?", "👍")
        await expect(chip).to_have_text("👍1")
        await expect(chip).to_have_attribute("aria-pressed", pressed)
    # Who reacted, on hover.
    await expect(ann.reaction("Lunch at noon?", "👍")).to_have_attribute(
        "title", f"{ben.username} reacted with 👍"
    )

    # A click on a reaction there adds one's own; another takes it back.
    await ann.reaction("Lunch at noon?", "👍").click()
    for person in (ann, ben):
        await expect(person.reaction("Lunch at noon?", "👍")).to_have_text("👍2")
    await expect(ann.reaction("Lunch at noon?", "👍")).to_have_attribute("aria-pressed", "true")
    await expect(ben.reaction("Lunch at noon?", "👍")).to_have_attribute(
        "title", re.compile(rf"^{ann.username} and you reacted with 👍$")
    )
    await ann.react("Lunch at noon?", "🎉")
    await expect(ben.reaction("Lunch at noon?", "🎉")).to_have_text("🎉1")
    # A long press (no hover on a touch screen) says who, and toggles nothing.
    await ben.reaction("Lunch at noon?", "🎉").hover()
    await ben.page.mouse.down()
    reactors = ben.message("Lunch at noon?").locator(".reactors")
    await expect(reactors).to_have_text(f"{ann.username} reacted with 🎉")
    await ben.page.mouse.up()
    await ann.send("and a later message")
    await expect(ben.message("and a later message")).to_have_count(1)
    await expect(ben.reaction("Lunch at noon?", "🎉")).to_have_text("🎉1")
    await ann.reaction("Lunch at noon?", "👍").click()
    for person in (ann, ben):
        await expect(person.reaction("Lunch at noon?", "👍")).to_have_text("👍1")
    await expect(ann.reaction("Lunch at noon?", "👍")).to_have_attribute("aria-pressed", "false")
    await ben.reaction("Lunch at noon?", "👍").click()
    for person in (ann, ben):
        await expect(person.reaction("Lunch at noon?", "👍")).to_have_count(0)

    # History carries them: after a reload, as they were.
    await ben.page.reload()
    await ben.signed_in()
    await expect(ben.reaction("Lunch at noon?", "🎉")).to_have_text("🎉1")
    await expect(ben.reaction("Lunch at noon?", "👍")).to_have_count(0)


async def test_a_reply_quotes_its_original_and_follows_it(people: People) -> None:
    ann, ben, group = await two_in_a_group(people, ann_height=520)
    await ben.open_group(group)
    await ann.send("Who brings the cake?")
    for n in range(1, 7):
        await ann.send(f"filler before {n}")
    await expect(ben.message("filler before 6")).to_have_count(1)

    # Reply, then think better of it (Escape), then reply for real.
    original = ben.message("Who brings the cake?")
    await original.hover()
    await original.get_by_role("button", name="Reply", exact=True).click()
    await expect(ben.page.locator("#reply-bar")).to_contain_text(ann.username)
    await expect(ben.page.locator("#reply-snippet")).to_have_text("Who brings the cake?")
    await ben.page.get_by_label("Message", exact=True).press("Escape")
    await expect(ben.page.locator("#reply-bar")).to_be_hidden()
    await ben.reply("Who brings the cake?", "I will, a big one")
    for person in (ann, ben):
        quote = person.message("I will, a big one").locator(".quote")
        await expect(quote.locator(".quote-sender")).to_have_text(ann.username)
        await expect(quote.locator(".quote-text")).to_have_text("Who brings the cake?")

    # Enough between them that the original is out of Ann's short window; the quote brings
    # it back into view, marked for a moment.
    await ann.send("filler after")
    await expect(ann.message("Who brings the cake?")).not_to_be_in_viewport()
    await ann.message("I will, a big one").locator(".quote").click()
    await expect(ann.message("Who brings the cake?")).to_have_class(re.compile(r"\bflash\b"))
    await expect(ann.message("Who brings the cake?")).to_be_in_viewport()

    # The original edited, then deleted: the quotes follow, live, on both pages.
    await ann.edit("Who brings the cake?", "Who brings the cake and candles?")
    for person in (ann, ben):
        await expect(person.message("I will, a big one").locator(".quote-text")).to_have_text(
            "Who brings the cake and candles?"
        )
    await ann.delete("Who brings the cake and candles?")
    for person in (ann, ben):
        quote = person.message("I will, a big one").locator(".quote")
        await expect(quote.locator(".quote-text")).to_have_text("Original message deleted")
    # And from history, after a reload.
    await ben.page.reload()
    await ben.signed_in()
    await expect(ben.message("I will, a big one").locator(".quote .quote-text")).to_have_text(
        "Original message deleted"
    )


async def test_a_quote_reads_its_original_when_it_is_not_loaded(
    people: People, stack: Stack
) -> None:
    """A reply to the first of 60 messages: the page shows the newest 50; the quote reads
    the messages around the original (``history`` + ``around_seq``) and marks it."""
    username = unique("cat")
    token = await sign_up(stack, username)
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(stack.url, auth={"token": token}, transports=["websocket"])
    try:
        reply = await sio.call("create_group", {"name": "Minutes", "private": True}, timeout=20)
        group_id = reply["group_id"]
        await script_send(sio, group_id, "first", "The very first point")
        first_id = await first_message_id(sio, group_id)
        for n in range(2, 60):
            await script_send(sio, group_id, f"m{n}", f"point {n}")
        answer = {
            "group_id": group_id,
            "client_msg_id": "reply",
            "body": "Back to the first point",
            "reply_to": first_id,
        }
        result = await sio.call("send", answer, timeout=20)
        while result["ok"] is False and result["error"]["code"] == "rate_limited":
            await asyncio.sleep(result["error"]["retry_after"])
            result = await sio.call("send", answer, timeout=20)
        assert result["ok"] is True, result
        async with asyncio.timeout(30):
            while (await sio.call("groups", timeout=20))["groups"][0]["last_seq"] < 60:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
    finally:
        await sio.disconnect()

    cat = Person(await people.open(height=700), username)
    sent: list[str] = []
    cat.page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(str(f))))
    await cat.log_in()
    await cat.open_group("Minutes")
    reply_node = cat.message("Back to the first point")
    await expect(reply_node.locator(".quote-text")).to_have_text("The very first point")
    await expect(cat.message("The very first point")).to_have_count(0)
    await reply_node.locator(".quote").click()
    first = cat.message("The very first point")
    await expect(first).to_have_class(re.compile(r"\bflash\b"))
    await expect(first).to_be_in_viewport()
    assert any('"around_seq":1' in frame for frame in sent), sent


async def first_message_id(sio: socketio.AsyncClient, group_id: str) -> str:
    """The id the agents gave the group's first message, once the views have it."""
    async with asyncio.timeout(30):
        while True:
            page = await sio.call("history", {"group_id": group_id}, timeout=20)
            if page["messages"]:
                return str(page["messages"][0]["message_id"])
            await asyncio.sleep(0.2)


async def test_a_phone_back_leaves_the_group_unread_and_opens_at_new_messages(
    people: People, stack: Stack
) -> None:
    ann = Person(await people.open(), unique("ann"))
    eve = Person(await people.open(width=390, height=700), unique("eve"))
    sent: list[str] = []
    eve.page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(str(f))))
    await ann.register()
    await eve.register()
    # Who is logged in shows on a phone too.
    await expect(eve.page.locator("#me")).to_be_visible()
    group = f"Pocket {unique('g')}"
    await ann.create_group(group)
    for n in range(1, 13):
        await ann.send(f"read before {n}")
    await eve.find_and_join("Pocket", group)
    sidebar = eve.page.locator("#sidebar")
    await expect(sidebar).to_be_hidden()

    await expect(eve.message("read before 12")).to_have_count(1)

    # "←": back to the list, and the group is no longer open there: what comes now is
    # unread (a badge), no read marker goes out for it.
    await eve.page.get_by_role("button", name="Back to groups").click()
    await expect(sidebar).to_be_visible()
    news = [f"news while away {n}" for n in range(1, 11)]
    for text in news:
        await ann.send(text)
    await expect(eve.group_button(group).locator(".unread")).to_have_text("10")
    await expect(ann.page.locator("#seen-line")).not_to_contain_text(eve.username)
    # (A page that still had it open would have sent one within half a second of each.)
    reads = [frame for frame in sent if '"read"' in frame]
    assert not any(re.search(r'"seq":(1[3-9]|2\d)\b', frame) for frame in reads), reads

    # Opened again: it lands at "New messages" (more came than a screen holds), not at the
    # bottom.
    await eve.open_group(group)
    divider = eve.page.locator("#message-list .divider")
    await expect(divider).to_have_text("New messages")
    await expect(eve.message(re.compile(r"^news while away 1$"))).to_be_in_viewport()
    await expect(divider).to_be_in_viewport()
    await expect(eve.message("news while away 10")).not_to_be_in_viewport()
    assert await eve.page.evaluate("document.documentElement.scrollWidth") <= 390

    # The browser's Back returns to the list, not out of the chat; the group is closed.
    await eve.page.go_back()
    await expect(sidebar).to_be_visible()
    await expect(eve.page.locator("#conversation")).to_be_hidden()
    assert eve.page.url.startswith(stack.url), eve.page.url
    await expect(eve.page.locator("#me")).to_have_text(eve.username)
    await ann.send("and more news")
    await expect(eve.group_button(group).locator(".unread")).to_have_text("1")
    await eve.open_group(group)
    await expect(eve.message("and more news")).to_be_in_viewport()
    await expect(eve.group_button(group).locator(".unread")).to_have_count(0)


async def test_a_send_error_clears_once_a_send_goes_through(people: People) -> None:
    dan = Person(await people.open(), unique("dan"))
    await dan.register()
    await dan.create_group(f"Drafts {unique('g')}")
    composer = dan.page.get_by_label("Message", exact=True)
    # More than the box lets one type, as a paste through a script could put there.
    await composer.evaluate("(box) => { box.value = 'x'.repeat(4001); }")
    await composer.press("Enter")
    error = dan.page.locator("#conversation-error")
    await expect(error).to_have_text("A message has at most 4000 characters.")
    await dan.send("A shorter one")
    await expect(error).to_be_empty()


async def test_the_next_person_on_a_tab_sees_nothing_of_the_last(people: People) -> None:
    page = await people.open()
    ann = Person(page, unique("ann"))
    await ann.register()
    group = f"Ann's own {unique('g')}"
    await ann.create_group(group)
    await ann.send("ann's secret")
    await ann.search("secret")
    await ann.open_members_panel()
    await page.get_by_placeholder("Invite by username").fill(unique("nobody"))
    await page.get_by_role("button", name="Invite", exact=True).click()
    await expect(page.locator("#invite-result")).to_contain_text("Could not invite")
    await ann.write_to(unique("nobody"))
    await expect(page.locator("#sidebar-error")).not_to_be_empty()
    await ann.page.get_by_label("Message", exact=True).fill("a draft of ann's")

    await page.get_by_role("button", name="Log out").click()
    ben = Person(page, unique("ben"))
    await ben.register()
    await expect(ben.search_box).to_have_value("")
    for notice in ("#search-status", "#search-error", "#sidebar-error", "#invite-result"):
        await expect(page.locator(notice)).to_be_empty()
    await expect(ben.search_results).to_have_count(0)
    await expect(ben.group_button(group)).to_have_count(0)
    await expect(page.locator("#no-groups")).to_be_visible()
    await expect(page.locator("#conversation-body")).to_be_hidden()
    await expect(page.get_by_label("Message", exact=True)).to_have_value("")
    assert "#" not in page.url, page.url


async def test_the_icon_is_served_and_groups_of_one_name_are_told_apart(
    people: People, stack: Stack
) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{stack.url}/favicon.ico") as response:
        assert response.status == 200
        assert response.content_type.startswith("image/"), response.content_type
    page = await people.open()
    icon = await page.locator("link[rel=icon]").get_attribute("href")
    assert icon
    async with aiohttp.ClientSession() as http, http.get(f"{stack.url}{icon}") as response:
        assert response.status == 200

    fay = Person(page, unique("fay"))
    await fay.register()
    await fay.create_group("Team")
    await fay.create_group("Team")
    buttons = fay.group_button("Team")
    await expect(buttons).to_have_count(2)
    tags = await buttons.locator(".group-tag").all_text_contents()
    assert len(tags) == 2 and len(set(tags)) == 2 and all(t.startswith("#") for t in tags), tags
    await expect(page.locator("#group-tag")).to_have_text(re.compile(r"^#\w+$"))
