"""The page for everyone (WCAG 2.1 AA): axe-core finds nothing in any state a person reaches, at
a desktop's and a phone's width and in the dark scheme; everything can be done from the
keyboard, the focus always in sight and going somewhere sensible; a screen reader hears each
new message once (not the history paged in) and the mentions and direct messages elsewhere,
as Chromium's accessibility tree shows; the page follows a person's settings (less motion,
200% zoom)."""

from __future__ import annotations

import asyncio
import re

import socketio
from playwright.async_api import Page, ViewportSize, expect

from tests.integration.web.accessibility import (
    DESKTOP,
    PHONE,
    Audit,
    accessibility_tree,
    assert_focus_shown,
    ax_find,
    ax_property,
    ax_value,
    press_until,
    scrolls_sideways,
)
from tests.integration.web.conftest import People, Stack, unique
from tests.integration.web.person import PASSWORD, Person
from tests.integration.web.test_recovery_and_layout import sign_up
from tests.integration.web.test_search import send as script_send


async def test_axe_finds_nothing_in_any_state_at_either_width(people: People, stack: Stack) -> None:
    """Ann at a desktop, Ben on a phone; each state checked at both widths (WCAG 2.1 A and AA
    and axe's best practices), and what the page scrolls sideways at either: login and its
    error, no groups, a new group, the members and invite panel, an invitation, a conversation
    with mentions, an edit, a delete, a reaction and a reply, a person's menu, the @
    completion, the reaction picker, an edit, reconnecting, messages found and a search
    refused, a direct conversation and one waiting, an error; the dark scheme at one width."""
    audit = Audit()
    ann = Person(await people.open(), unique("ann"))
    ben = Person(await people.open(**PHONE, node=1), unique("ben"))
    await audit.check(ann.page, "login")
    await ann.page.emulate_media(color_scheme="dark")
    await audit.check(ann.page, "dark: login", widths=(DESKTOP,))
    await ann.page.emulate_media(color_scheme="light")
    await ann.page.get_by_label("Username").fill(ann.username)
    await ann.page.get_by_label("Password").fill("not the password")
    await ann.page.get_by_role("button", name="Log in").click()
    await expect(ann.page.locator("#login-error")).not_to_be_empty()
    await audit.check(ann.page, "a refused login")
    await ann.register()
    await ben.register()
    await audit.check(ann.page, "no groups yet")

    group = f"Crew {unique('g')}"
    await ann.create_group(group, private=True)
    await audit.check(ann.page, "a new private group")
    await ann.invite(ben.username)
    await audit.check(ann.page, "the members and invite panel")
    await expect(ben.invitation(group)).to_be_visible()
    await audit.check(ben.page, "an invitation")
    await ben.accept_invitation(group)

    await ann.send(f"Hello @{ben.username}, lunch?")
    await ben.send(f"Sure @{ann.username}, at noon")
    await ann.send("Table booked")
    await ann.send("Wrong group, sorry")
    await ann.edit("Table booked", "Table booked for two")
    await ann.delete("Wrong group, sorry")
    await ann.react(f"Sure @{ann.username}", "🎉")
    await ann.reply(f"Sure @{ann.username}", "See you there")
    await ann.page.locator("#members-panel summary").click()  # folded away again
    await expect(ben.message("See you there")).to_have_count(1)
    state = "a conversation: mentions, an edit, a delete, a reaction, a reply"
    await audit.check(ann.page, state)
    await audit.check(ben.page, state)

    await ann.open_members_panel()
    await ann.person_menu(ann.page.locator("#member-list"), ben.username)
    await audit.check(ann.page, "a person's menu")
    await ann.page.keyboard.press("Escape")
    await ann.page.get_by_label("Message", exact=True).press_sequentially(f"@{ben.username[:3]}")
    await expect(ann.page.get_by_role("listbox", name="Members to mention")).to_be_visible()
    await audit.check(ann.page, "the @ completion")
    await ann.page.get_by_label("Message", exact=True).fill("")
    await ann.message("See you there").hover()
    await ann.message("See you there").get_by_role("button", name="Add a reaction").click()
    await audit.check(ann.page, "the reaction picker")
    await ann.page.keyboard.press("Escape")
    await ann.message("See you there").get_by_role("button", name="Edit").click()
    await audit.check(ann.page, "editing a message")
    await ann.page.keyboard.press("Escape")

    # Ben's node goes away: "Reconnecting…", and what he writes meanwhile waits.
    await stack.nodes[1].stop()
    try:
        await expect(ben.status).to_have_text("Reconnecting…")
        await ben.page.get_by_label("Message", exact=True).fill("written offline")
        await ben.page.get_by_label("Message", exact=True).press("Enter")
        await expect(ben.page.locator("#pending-list > li")).to_contain_text("sending…")
        await audit.check(ben.page, "reconnecting, a message waiting")
    finally:
        await stack.nodes[1].start()
    await expect(ben.status).to_have_text("Connected", timeout=30_000)

    await ann.search_until_found("noon", "at noon")
    await audit.check(ann.page, "messages found")
    await ann.search('"unclosed')
    await expect(ann.page.locator("#search-error")).not_to_be_empty()
    await audit.check(ann.page, "a search refused")
    await ben.page.get_by_role("button", name="Back to groups").click()
    await ben.search_until_found("lunch", "lunch?")
    await audit.check(ben.page, "messages found, on a phone")

    await ann.write_to(ben.username)
    await expect(ann.page.locator("#group-title")).to_have_text(ben.username)
    await ann.send("Just between us")
    await audit.check(ann.page, "a direct conversation")
    await expect(ben.direct_button(ann.username).locator(".unread")).to_have_text("1")
    await audit.check(ben.page, "a direct message waiting")
    await ann.write_to(unique("nobody"))
    await expect(ann.page.locator("#sidebar-error")).to_contain_text("nobody called")
    await audit.check(ann.page, "an error in the sidebar")

    # The dark scheme, with as much on the page as may be: the group, its members, results.
    await ann.open_group(group)
    await ann.open_members_panel()
    await ann.search("noon")
    await ann.page.emulate_media(color_scheme="dark")
    await audit.check(
        ann.page, "dark: a conversation, its members, messages found", widths=(DESKTOP,)
    )
    await ben.page.emulate_media(color_scheme="dark")
    await audit.check(ben.page, "dark: messages found, on a phone", widths=(PHONE,))
    audit.assert_clean()
    assert audit.states >= 30, audit.states


async def test_everything_by_keyboard_with_the_focus_in_sight(people: People, stack: Stack) -> None:
    """Keys only (no clicks): sign up, a skip link, a group, send, edit, react, reply, delete,
    the @ completion, invite, search, a direct conversation, leave it, pick a group, log out.
    After each step the focus is somewhere sensible, and its ring can be seen."""
    ben, cat = unique("ben"), unique("cat")
    ben_token = await sign_up(stack, ben)
    await sign_up(stack, cat)
    page = await people.open()
    ann = Person(page, unique("ann"))
    keys = page.keyboard
    composer = page.get_by_label("Message", exact=True)

    # Signing up: the focus starts in the first field.
    await expect(page.get_by_label("Username")).to_be_focused()
    await keys.type(ann.username)
    await keys.press("Tab")
    await keys.type(PASSWORD)
    await press_until(page, "Tab", page.get_by_role("button", name="Create account"))
    await assert_focus_shown(page)
    await keys.press("Enter")
    await ann.signed_in()
    await expect(page.locator("#groups-heading")).to_be_focused()

    # The first stop of the page is a skip link, shown when it has the focus.
    skip = page.get_by_role("link", name="Skip to your groups")
    await press_until(page, "Shift+Tab", skip)
    await assert_focus_shown(page)
    await keys.press("Enter")
    await expect(page.locator("#groups-heading")).to_be_focused()

    # A new group opens at its composer.
    group = f"Keys {unique('g')}"
    await press_until(page, "Tab", page.get_by_label("Group name"))
    await keys.type(group)
    await keys.press("Enter")
    await expect(page.locator("#group-title")).to_have_text(group)
    await expect(composer).to_be_focused()
    await expect(page.get_by_role("link", name="Skip to the conversation")).to_have_count(1)
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(stack.url, auth={"token": ben_token}, transports=["websocket"])
    try:
        found = await sio.call("find_groups", {"query": group}, timeout=20)
        group_id = found["groups"][0]["group_id"]
        assert (await sio.call("join", {"group_id": group_id}, timeout=20))["ok"] is True
        await script_send(sio, group_id, "welcome", f"Welcome, {ann.username}")
    finally:
        await sio.disconnect()
    await expect(ann.message("Welcome")).to_have_count(1)

    # Send, then edit: Edit and Delete are reached by Shift+Tab, shown when focused.
    await keys.type("Hello from the keyboard")
    await keys.press("Enter")
    edit = ann.message("Hello from the keyboard").get_by_role("button", name="Edit")
    await press_until(page, "Shift+Tab", edit)
    await assert_focus_shown(page)
    await keys.press("Enter")
    await expect(page.get_by_label("Edit message")).to_be_focused()
    await keys.press("Escape")  # cancelled: back on Edit
    await expect(edit).to_be_focused()
    await keys.press("Enter")
    await keys.press("ControlOrMeta+a")
    await keys.type("Hello again from the keyboard")
    await keys.press("Tab")
    await keys.press("Enter")  # Save
    edited = ann.message("Hello again from the keyboard")
    await expect(edited.locator(".edited")).to_have_text("(edited)")
    await expect(edited.get_by_role("button", name="Edit")).to_be_focused()

    # React: the picker opens on its first emoji; Escape closes it, back on its button.
    react = edited.get_by_role("button", name="Add a reaction")
    await press_until(page, "Shift+Tab", react)
    await keys.press("Enter")
    thumbs = edited.get_by_role("button", name="React with 👍")
    await expect(thumbs).to_be_focused()
    await assert_focus_shown(page)
    await keys.press("Escape")
    await expect(thumbs).to_have_count(0)
    await expect(react).to_be_focused()
    await keys.press("Enter")
    await keys.press("Enter")
    await expect(ann.reaction("Hello again", "👍")).to_have_attribute("aria-pressed", "true")
    await expect(react).to_be_focused()  # the message was drawn again, the focus kept

    # Reply: to the composer, the quote above it; sent with Enter.
    reply = ann.message("Welcome").get_by_role("button", name="Reply", exact=True)
    await press_until(page, "Shift+Tab", reply)
    await assert_focus_shown(page)
    await keys.press("Enter")
    await expect(page.locator("#reply-bar")).to_be_visible()
    await expect(composer).to_be_focused()
    await keys.type("Thanks, Ben!")
    await keys.press("Enter")
    await expect(ann.message("Thanks, Ben!").locator(".quote-sender")).to_have_text(ben)

    # Delete, twice Enter (the second confirms): the keyboard goes on in the composer.
    await keys.type("Oops, wrong group")
    await keys.press("Enter")
    delete = ann.message("Oops, wrong group").get_by_role("button", name="Delete")
    await press_until(page, "Shift+Tab", delete)
    await keys.press("Enter")
    await expect(
        ann.message("Oops, wrong group").get_by_role("button", name="Really delete?")
    ).to_be_focused()
    await keys.press("Enter")
    await expect(ann.message("Oops, wrong group")).to_have_count(0)
    await expect(composer).to_be_focused()

    # The @ completion: the name chosen is the composer's active descendant; Escape closes.
    await keys.type(f"Ping @{ben[:3]}")
    choices = page.get_by_role("listbox", name="Members to mention")
    await expect(choices.get_by_role("option")).to_have_text([f"@{ben}"])
    await expect(composer).to_have_attribute("aria-activedescendant", "mention-option-0")
    await keys.press("Escape")
    await expect(choices).to_be_hidden()
    await expect(composer).not_to_have_attribute("aria-activedescendant", re.compile(".*"))
    await expect(composer).to_be_focused()
    await keys.press("ControlOrMeta+a")
    await keys.press("Backspace")

    # Invite from the members panel; Escape folds it away, back to its summary.
    summary = page.locator("#members-panel summary")
    await press_until(page, "Shift+Tab", summary)
    await assert_focus_shown(page)
    await keys.press("Enter")
    await press_until(page, "Tab", page.get_by_label("Invite to this group"))
    await keys.type(cat)
    await keys.press("Enter")
    await expect(page.locator("#invite-result")).to_have_text(f"Invited {cat}.")
    await keys.press("Escape")
    await expect(page.locator("#members-panel")).not_to_have_attribute("open", "")
    await expect(summary).to_be_focused()

    # Search: "/" to the box, the arrows to the results, Escape closes them, back to the box.
    await keys.press("/")
    await expect(ann.search_box).to_be_focused()
    async with asyncio.timeout(30):
        while True:  # the index follows the messages a moment behind
            await keys.press("ControlOrMeta+a")
            await keys.type("Welcome")
            await keys.press("Enter")
            await ann.search_answered()
            if await ann.search_results.count():
                break
            await asyncio.sleep(0.5)
    await keys.press("ArrowDown")
    await expect(ann.search_results.first).to_be_focused()
    await assert_focus_shown(page)
    await keys.press("Escape")
    await expect(ann.search_results).to_have_count(0)
    await expect(ann.search_box).to_be_focused()

    # A direct conversation, from the sidebar's form: it opens at its composer.
    await press_until(page, "Tab", page.get_by_label("New direct message to"))
    await keys.type(ben)
    await keys.press("Enter")
    await expect(page.locator("#group-title")).to_have_text(ben)
    await expect(composer).to_be_focused()

    # Leaving it: the focus goes to the list of groups.
    await press_until(page, "Shift+Tab", summary)
    await keys.press("Enter")
    await press_until(page, "Tab", page.get_by_role("button", name="Leave this conversation"))
    await keys.press("Enter")
    await expect(ann.direct_button(ben)).to_have_count(0)
    await expect(page.locator("#groups-heading")).to_be_focused()

    # Picking a group from the list, then logging out: the focus is back in the first field.
    await press_until(page, "Tab", ann.group_button(group))
    await assert_focus_shown(page)
    await keys.press("Enter")
    await expect(page.locator("#group-title")).to_have_text(group)
    await expect(composer).to_be_focused()
    await press_until(page, "Shift+Tab", page.get_by_role("button", name="Log out"), presses=80)
    await assert_focus_shown(page)
    await keys.press("Enter")
    await expect(page.get_by_label("Username")).to_be_focused()


async def test_a_screen_reader_hears_each_new_message_once_and_no_history(
    people: People, stack: Stack
) -> None:
    """Ben (a script) has written 60 messages before Ann opens the group. What a screen reader
    is told (the polite live region, as Chromium's accessibility tree has it): nothing of the
    messages read in, pages of history included; one line per message that comes while she
    reads; a line for a mention of her, and one for a direct message, in other groups; the
    name chosen in the @ completion."""
    ann_name, ben = unique("ann"), unique("ben")
    ann_token = await sign_up(stack, ann_name)
    ben_token = await sign_up(stack, ben)
    scripts = [socketio.AsyncClient(reconnection=False) for _ in range(2)]
    ann_sio, ben_sio = scripts
    try:
        await ann_sio.connect(stack.url, auth={"token": ann_token}, transports=["websocket"])
        await ben_sio.connect(stack.url, auth={"token": ben_token}, transports=["websocket"])
        group_ids = []
        for name in ("Archive", "Elsewhere"):
            reply = await ben_sio.call("create_group", {"name": name, "private": False}, timeout=20)
            group_ids.append(reply["group_id"])
            assert (await ann_sio.call("join", {"group_id": reply["group_id"]}, timeout=20))["ok"]
        archive, elsewhere = group_ids
        for n in range(1, 61):
            await script_send(ben_sio, archive, f"old{n}", f"old {n}")
        async with asyncio.timeout(30):
            while True:  # the agents number the messages: until all 60 are in the view
                groups = (await ann_sio.call("groups", timeout=20))["groups"]
                if next(g for g in groups if g["group_id"] == archive)["last_seq"] >= 60:
                    break
                await asyncio.sleep(0.2)
        await ann_sio.disconnect()

        ann = Person(await people.open(height=600), ann_name)
        page = ann.page
        await ann.log_in()
        await ann.open_group("Archive")
        await expect(ann.message(re.compile(r"^old 60$"))).to_have_count(1)
        said = page.locator("#announcements > p")
        for _ in range(20):  # scrolled to the top: the older page is read in
            await page.locator("#messages").evaluate("(el) => { el.scrollTop = 0; }")
            if await ann.message(re.compile(r"^old 1$")).count():
                break
            await page.wait_for_timeout(200)
        await expect(page.locator("#history-status")).to_have_text(
            "This is the beginning of the conversation."
        )
        await expect(said).to_have_count(0)

        # Each new message once, in a short line; the message list itself is not live.
        await script_send(ben_sio, archive, "new1", "Fresh news")
        await expect(ann.message("Fresh news")).to_have_count(1)
        await expect(said).to_have_text([f"{ben}: Fresh news"])
        await script_send(ben_sio, archive, "new2", "And more news")
        await expect(said).to_have_text([f"{ben}: Fresh news", f"{ben}: And more news"])

        # Elsewhere: a mention of Ann, then a direct message, briefly.
        await script_send(ben_sio, elsewhere, "mention", f"@{ann_name} have a look")
        mentioned = f"{ben} mentioned you in Elsewhere"
        await expect(said).to_have_text([f"{ben}: Fresh news", f"{ben}: And more news", mentioned])
        # Opening one waits on the agents: longer than a message on a busy machine.
        direct = await ben_sio.call("direct", {"username": ann_name}, timeout=60)
        await script_send(ben_sio, direct["group_id"], "direct", "Just for you")
        await expect(said).to_have_text(
            [
                f"{ben}: Fresh news",
                f"{ben}: And more news",
                mentioned,
                f"Direct message from {ben}: Just for you",
            ]
        )

        # In Chromium's tree: the lines are a polite log; the messages are not live.
        tree = await accessibility_tree(page)
        log = ax_find(tree, "log", "New messages")
        assert ax_property(log, "live") == "polite", log
        messages = ax_find(tree, "region", "Messages")
        assert ax_property(messages, "live") is None, messages

        # The @ completion: the name chosen is the composer's active descendant.
        await ann.page.get_by_label("Message", exact=True).press_sequentially(f"@{ben[:3]}")
        await expect(page.get_by_role("option", name=f"@{ben}")).to_be_visible()
        tree = await accessibility_tree(page)
        composer = ax_find(tree, "textbox", "Message")
        chosen = ax_property(composer, "activedescendant")
        assert chosen is not None, composer
        option = next(
            n
            for n in tree
            if n.get("backendDOMNodeId") == chosen["relatedNodes"][0]["backendDOMNodeId"]
        )
        assert (ax_value(option, "role"), ax_value(option, "name")) == ("option", f"@{ben}")
        assert ax_property(option, "selected") is True, option
    finally:
        for sio in scripts:
            await sio.disconnect()


ZOOMED = ViewportSize(width=640, height=400)
"""A 1280×800 screen at 200% zoom: what the page has to lay out in CSS pixels."""


async def no_sideways_scrolling(page: Page, state: str, found: list[str]) -> None:
    for size in (ZOOMED, ViewportSize(width=320, height=480)):  # 200%, and 400% (WCAG reflow)
        await page.set_viewport_size(size)
        if await scrolls_sideways(page):
            found.append(f"{state} at {size['width']}px scrolls sideways")
    await page.set_viewport_size(DESKTOP)


async def test_the_page_follows_the_persons_settings(people: People) -> None:
    """Less motion: the original of a quote is marked without a flash. Zoomed in to 200%
    (and 400%), nothing scrolls sideways."""
    eve = Person(await people.open(), unique("eve"))
    page = eve.page
    found: list[str] = []
    await no_sideways_scrolling(page, "login", found)
    await eve.register()
    await no_sideways_scrolling(page, "no groups yet", found)
    await eve.create_group(f"A group with a rather long name, to wrap {unique('g')}")
    await eve.send("A long line " * 20)
    await eve.reply("A long line", "An answer with a quote above it")
    await eve.react("An answer", "👍")
    await eve.open_members_panel()
    await no_sideways_scrolling(page, "a conversation", found)
    assert not found, found

    original = eve.message("A long line")
    quote = eve.message("An answer").locator("button.quote")
    await page.emulate_media(reduced_motion="reduce")
    await quote.click()
    await expect(original).to_have_class(re.compile(r"\bflash\b"))
    assert await original.evaluate("(node) => getComputedStyle(node).animationName") == "none"
    await page.emulate_media(reduced_motion="no-preference")
    assert await original.evaluate("(node) => getComputedStyle(node).animationName") == "flash"
