"""A person at the chat page: what they do, in the words of the page (labels, buttons, text)."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import Locator, Page, expect

PASSWORD = "correct horse battery"


class Person:
    def __init__(self, page: Page, username: str) -> None:
        self.page = page
        self.username = username

    # --- signing in ----------------------------------------------------------------------

    async def register(self) -> None:
        await self.page.get_by_label("Username").fill(self.username)
        await self.page.get_by_label("Password").fill(PASSWORD)
        await self.page.get_by_role("button", name="Create account").click()
        await self.signed_in()

    async def log_in(self) -> None:
        await self.page.get_by_label("Username").fill(self.username)
        await self.page.get_by_label("Password").fill(PASSWORD)
        await self.page.get_by_role("button", name="Log in").click()
        await self.signed_in()

    async def signed_in(self) -> None:
        await expect(self.page.locator("#me")).to_have_text(self.username)
        await expect(self.status).to_have_text("Connected")

    @property
    def status(self) -> Locator:
        return self.page.locator("#connection-status")

    # --- groups --------------------------------------------------------------------------

    async def create_group(self, name: str, *, private: bool = False) -> None:
        await self.page.get_by_placeholder("Group name").fill(name)
        if private:
            await self.page.get_by_label("Private (invitation only)").check()
        await self.page.get_by_role("button", name="Create", exact=True).click()
        await expect(self.page.locator("#group-title")).to_have_text(name)

    def group_button(self, name: str) -> Locator:
        return self.page.locator("#group-list button.group", has_text=name)

    async def open_group(self, name: str) -> None:
        await self.group_button(name).click()
        await expect(self.page.locator("#group-title")).to_have_text(name)

    async def invite(self, username: str) -> None:
        await self.open_members_panel()
        await self.page.get_by_placeholder("Invite by username").fill(username)
        await self.page.get_by_role("button", name="Invite", exact=True).click()
        await expect(self.page.locator("#invite-result")).to_have_text(f"Invited {username}.")

    def invitation(self, group_name: str) -> Locator:
        return self.page.locator(
            "#invitation-list li", has=self.page.locator(".name", has_text=group_name)
        )

    async def accept_invitation(self, group_name: str) -> None:
        await self.invitation(group_name).get_by_role("button", name="Join").click()
        await expect(self.page.locator("#group-title")).to_have_text(group_name)

    @property
    def members(self) -> Locator:
        return self.page.locator("#member-list > li")

    def member(self, username: str) -> Locator:
        return self.members.filter(has_text=username)

    async def open_members_panel(self) -> None:
        panel = self.page.locator("#members-panel")
        if await panel.get_attribute("open") is None:
            await panel.locator("summary").click()

    async def leave_group(self, group_name: str) -> None:
        await expect(self.page.locator("#group-title")).to_have_text(group_name)
        await self.open_members_panel()
        await self.page.get_by_role("button", name="Leave this group").click()
        await expect(self.group_button(group_name)).to_have_count(0)

    async def remove_member(self, username: str) -> None:
        await self.open_members_panel()
        await self.member(username).get_by_role("button", name="Remove").click()
        await expect(self.member(username)).to_have_count(0)

    async def find_and_join(self, query: str, group_name: str) -> None:
        await self.page.get_by_placeholder("Name contains…").fill(query)
        await self.page.get_by_role("button", name="Search").click()
        found = self.page.locator("#found-groups li", has_text=group_name)
        await found.get_by_role("button", name="Join").click()
        await expect(self.page.locator("#group-title")).to_have_text(group_name)

    # --- direct conversations and blocking --------------------------------------------------

    def direct_button(self, username: str) -> Locator:
        """A direct conversation in the sidebar, named after the other person."""
        return self.page.locator("#direct-list button.group", has_text=username)

    async def open_direct(self, username: str) -> None:
        await self.direct_button(username).click()
        await expect(self.page.locator("#group-title")).to_have_text(username)

    async def write_to(self, username: str) -> None:
        """A new direct message from the sidebar's form, by username."""
        await self.page.get_by_label("New direct message to").fill(username)
        await self.page.get_by_role("button", name="Message", exact=True).click()

    async def person_menu(self, where: Locator, username: str) -> Locator:
        """Open the menu of ``username``'s name in ``where``: what can be done about them."""
        await where.get_by_role("button", name=username, exact=True).click()
        menu = self.page.get_by_role("menu", name=username)
        await expect(menu).to_be_visible()
        return menu

    async def message_from_members(self, username: str) -> None:
        """Begin (or go to) the direct conversation with a member of the open group."""
        await self.open_members_panel()
        menu = await self.person_menu(self.page.locator("#member-list"), username)
        await menu.get_by_role("menuitem", name="Send a direct message").click()
        await expect(self.page.locator("#group-title")).to_have_text(username)

    async def block_in_header(self, username: str, *, block: bool = True) -> None:
        """Block (or unblock) the other person of the open direct conversation."""
        menu = await self.person_menu(self.page.locator("#group-title"), username)
        verb = "Block" if block else "Unblock"
        await menu.get_by_role("menuitem", name=f"{verb} {username}").click()
        line = self.page.locator("#blocked-line")
        await (expect(line).to_be_visible() if block else expect(line).to_be_hidden())

    # --- reactions and replies -------------------------------------------------------------

    def reaction(self, text: str | re.Pattern[str], emoji: str) -> Locator:
        """The chip of ``emoji`` under the message that says ``text``."""
        return self.message(text).locator("button.reaction", has_text=emoji)

    async def react(self, text: str | re.Pattern[str], emoji: str) -> None:
        """React from the message's picker."""
        message = self.message(text)
        await message.hover()
        await message.get_by_role("button", name="Add a reaction").click()
        await message.get_by_role("button", name=f"React with {emoji}").click()

    async def reply(self, text: str | re.Pattern[str], answer: str) -> None:
        message = self.message(text)
        await message.hover()
        await message.get_by_role("button", name="Reply", exact=True).click()
        await expect(self.page.locator("#reply-bar")).to_be_visible()
        await self.send(answer)
        await expect(self.page.locator("#reply-bar")).to_be_hidden()

    # --- messages ------------------------------------------------------------------------

    @property
    def messages(self) -> Locator:
        return self.page.locator("#message-list > li")

    def message(self, text: str | re.Pattern[str]) -> Locator:
        return self.page.locator(
            "#message-list > li", has=self.page.locator(".body", has_text=text)
        )

    async def send(self, text: str) -> None:
        await self.page.get_by_label("Message", exact=True).fill(text)
        await self.page.get_by_label("Message", exact=True).press("Enter")
        await expect(self.message(text)).to_have_count(1)
        await expect(self.page.locator("#pending-list > li")).to_have_count(0)

    async def bodies(self) -> list[str]:
        return await self.page.locator("#message-list > li .body").all_text_contents()

    async def edit(self, text: str, new_text: str) -> None:
        message = self.message(text)
        await message.hover()
        await message.get_by_role("button", name="Edit").click()
        editor = self.page.get_by_label("Edit message")
        await editor.fill(new_text)
        await self.page.get_by_role("button", name="Save").click()
        await expect(self.message(new_text).locator(".edited")).to_have_text("(edited)")

    async def delete(self, text: str) -> None:
        message = self.message(text)
        await message.hover()
        await message.get_by_role("button", name="Delete").click()
        await message.get_by_role("button", name="Really delete?").click()
        await expect(self.message(text)).to_have_count(0)

    async def expect_bodies(self, *texts: str) -> None:
        """The conversation shows exactly these bodies, oldest first."""
        pattern = [re.compile(rf"^{re.escape(text)}$") for text in texts]
        await expect(self.page.locator("#message-list > li .body")).to_have_text(pattern)

    # --- search --------------------------------------------------------------------------

    @property
    def search_box(self) -> Locator:
        return self.page.get_by_label("Search messages", exact=True)

    @property
    def search_results(self) -> Locator:
        """The messages found, as buttons (one opens its conversation at it)."""
        return self.page.locator("#search-results button.result")

    def search_result(self, text: str | re.Pattern[str]) -> Locator:
        return self.search_results.filter(has=self.page.locator(".body", has_text=text))

    @property
    def found_message(self) -> Locator:
        """The message the conversation was opened at, from a search result."""
        return self.page.locator("#message-list > li[aria-current='true']")

    async def choose_search(self, *, scope: str | None = None, order: str | None = None) -> None:
        """Where to search (``"all groups"``, ``"this group: <name>"``) and in which order
        (``"newest first"``, ``"best match first"``), as the choices next to the box say."""
        for label, option in (("In", scope), ("Order", order)):
            choice = self.page.get_by_label(label, exact=True)
            if (
                option is not None
                and await choice.evaluate("(select) => select.selectedOptions[0].label") != option
            ):
                await choice.select_option(label=option)

    async def search(self, query: str) -> None:
        """Search from the box, and wait for the answer (results, none, or a refusal)."""
        await self.search_box.fill(query)
        await self.search_box.press("Enter")
        await self.search_answered()

    async def search_answered(self) -> None:
        await expect(self.page.locator("#search-results")).to_have_attribute("aria-busy", "false")

    async def search_until_found(
        self, query: str, text: str | re.Pattern[str], *, within: float = 30
    ) -> None:
        """Search again until ``text`` is among the messages found: the index follows the
        messages a moment behind. Twice a second at most, as a person's allowance allows."""
        async with asyncio.timeout(within):
            while True:
                await self.search(query)
                if await self.search_result(text).count():
                    return
                await asyncio.sleep(0.5)

    async def tab_to(self, target: Locator, *, presses: int = 12) -> None:
        """Press Tab until ``target`` has the focus."""
        for _ in range(presses):
            if await target.evaluate("(element) => element === document.activeElement"):
                return
            await self.page.keyboard.press("Tab")
        await expect(target).to_be_focused()
