"""Unread and mention badges, kept by the server: one person writes (naming the other with "@"
completion), the other's badge counts up on both of their pages; they open the group on one
page, both pages clear, and the writer sees "seen by"."""

from __future__ import annotations

from playwright.async_api import expect

from tests.integration.web.conftest import People, unique
from tests.integration.web.person import Person


async def test_badges_clear_on_every_page_and_the_writer_sees_seen_by(people: People) -> None:
    ann = Person(await people.open(), unique("ann"))
    ben = Person(await people.open(node=1), unique("ben"))
    await ann.register()
    await ben.register()
    group = f"Readers {unique('g')}"
    other = f"Elsewhere {unique('g')}"
    await ann.create_group(group)
    await ben.find_and_join("Readers", group)
    await ben.create_group(other)  # Ben looks at another group meanwhile
    ben_laptop = Person(await people.open(), ben.username)
    await ben_laptop.log_in()
    await ben_laptop.open_group(other)

    await ann.open_group(group)
    await ann.send("first")
    # "@" and the start of a name offers the members so named; Enter picks, it does not send.
    composer = ann.page.get_by_label("Message", exact=True)
    await composer.press_sequentially("@be")
    await expect(ann.page.locator("#mention-list .mention-choice")).to_have_text(
        [f"@{ben.username}"]
    )
    await composer.press("Enter")
    await expect(composer).to_have_value(f"@{ben.username} ")
    await expect(ann.page.locator("#mention-list")).to_be_hidden()
    await composer.press_sequentially("are you there?")
    await composer.press("Enter")
    await expect(ann.message("are you there?")).to_have_count(1)
    await expect(ann.message("are you there?")).to_contain_text(f"@{ben.username} are you")
    for page in (ben, ben_laptop):
        button = page.group_button(group)
        await expect(button.locator(".unread")).to_have_text("2")
        await expect(button.locator(".mention-count")).to_have_text("@1")

    # A reload keeps the counts: they are the server's, not the page's.
    await ben_laptop.page.reload()
    await ben_laptop.signed_in()
    await expect(ben_laptop.group_button(group).locator(".unread")).to_have_text("2")

    await ben.open_group(group)
    await expect(ben.page.locator(".message-list .divider")).to_have_text("New messages")
    await expect(ben.page.locator(".message.mentions-me")).to_have_count(1)
    for page in (ben, ben_laptop):
        button = page.group_button(group)
        await expect(button.locator(".unread")).to_have_count(0)
        await expect(button.locator(".mention-count")).to_have_count(0)
    await expect(ann.page.locator("#seen-line")).to_have_text(f"Seen by {ben.username}")
