"""Two people in two browsers: register, a private group, an invitation, a conversation with
edits and deletions, a reload that keeps everything, and markup that stays text."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import expect

from tests.integration.web.conftest import People, unique
from tests.integration.web.person import Person

SCREENSHOT = Path(__file__).resolve().parents[3] / "docs" / "screenshot.png"
XSS = "<img src=x onerror=alert(1)>"


async def test_two_people_talk_in_a_private_group(people: People) -> None:
    ann = Person(await people.open(), unique("ann"))
    ben = Person(await people.open(), unique("ben"))
    await ann.register()
    await ben.register()

    await ann.create_group("Lunch plans", private=True)
    await expect(ann.page.locator("#group-kind")).to_have_text("private")
    await ann.invite(ben.username)
    await ben.accept_invitation("Lunch plans")
    await expect(ann.page.locator("#member-list li")).to_have_count(2)
    await ann.page.locator("#members-panel summary").click()  # fold the panel away again

    await ann.send("Hi Ben! Noodles at noon?")
    await expect(ben.message("Hi Ben! Noodles at noon?")).to_have_count(1)
    await ben.page.get_by_label("Message", exact=True).press_sequentially("Sure")
    await expect(ann.page.locator("#typing-line")).to_have_text(f"{ben.username} is typing…")
    await ben.page.get_by_label("Message", exact=True).fill("")
    await ben.send("Sure, the usual place.")
    await ann.send("Great, see you there")
    await ann.send("I'll book a table")
    await ben.send("Thanks!")

    expected = [
        "Hi Ben! Noodles at noon?",
        "Sure, the usual place.",
        "Great, see you there",
        "I'll book a table",
        "Thanks!",
    ]
    await ann.expect_bodies(*expected)
    await ben.expect_bodies(*expected)
    # Own messages are marked: Ann's are hers on her page, not on Ben's.
    await expect(ann.message("Great, see you there")).to_have_class(re.compile(r"\bmine\b"))
    await expect(ben.message("Great, see you there")).not_to_have_class(re.compile(r"\bmine\b"))
    await expect(
        ben.message("Great, see you there").get_by_role("button", name="Edit")
    ).to_have_count(0)
    await expect(ann.page.locator("#online-line")).to_contain_text(ben.username)

    await ann.edit("Great, see you there", "Great, see you at 12:15")
    await expect(ben.message("Great, see you at 12:15").locator(".edited")).to_have_text("(edited)")
    await ann.delete("I'll book a table")
    tombstone = "This message was deleted."
    await expect(ben.page.locator("#message-list > li.deleted .body")).to_have_text(tombstone)
    after = [expected[0], expected[1], "Great, see you at 12:15", tombstone, expected[4]]
    await ben.expect_bodies(*after)

    await ann.send("Screenshot time")
    await ben.send("Say cheese")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    await ann.page.screenshot(path=str(SCREENSHOT))

    # A reload keeps the session (this tab's storage) and the open group, from history.
    await ben.page.reload()
    await ben.signed_in()
    await expect(ben.page.locator("#group-title")).to_have_text("Lunch plans")
    await ben.expect_bodies(*after, "Screenshot time", "Say cheese")
    await expect(ben.message("Great, see you at 12:15").locator(".edited")).to_have_count(1)

    # Logging out ends the session: a reload shows the login form.
    await ben.page.get_by_role("button", name="Log out").click()
    await expect(ben.page.get_by_role("button", name="Log in")).to_be_visible()
    await ben.page.reload()
    await expect(ben.page.get_by_role("button", name="Log in")).to_be_visible()
    await ben.log_in()
    await ben.open_group("Lunch plans")
    await ben.expect_bodies(*after, "Screenshot time", "Say cheese")


async def test_markup_is_shown_as_text(people: People) -> None:
    ann = Person(await people.open(), unique("ann"))
    ben = Person(await people.open(), unique("ben"))
    await ann.register()
    await ben.register()
    group = f"{XSS} <b>bold</b> {unique('g')}"
    await ann.create_group(group)
    await ben.find_and_join("<b>bold</b>", group)

    await ann.send(XSS)
    await ann.send("<script>alert(2)</script>")
    for person in (ann, ben):
        await person.expect_bodies(XSS, "<script>alert(2)</script>")
        page = person.page
        assert await page.locator("#messages img, #messages script, #messages b").count() == 0
        assert await page.locator("#group-list img, #group-title b").count() == 0
        await expect(page.locator("#group-title")).to_have_text(group)
    await ann.page.reload()
    await ann.signed_in()
    await ann.expect_bodies(XSS, "<script>alert(2)</script>")
    await ann.page.wait_for_timeout(300)  # an injected onerror would have fired by now
    # `people` fails the test if any page opened a dialog or raised an error.
