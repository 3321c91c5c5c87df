"""Membership from the page: an invitation that waits through a reload, a member who leaves,
and a member the owner removes."""

from __future__ import annotations

from playwright.async_api import expect

from tests.integration.web.conftest import People, unique
from tests.integration.web.person import Person


async def test_an_invitation_waits_through_a_reload(people: People) -> None:
    ann = Person(await people.open(), unique("ann"))
    ben = Person(await people.open(), unique("ben"))
    await ann.register()
    await ben.register()
    group = f"Book club <b>{unique('g')}</b>"
    await ann.create_group(group, private=True)
    await ann.invite(ben.username)

    # It comes live, named, with who sent it; the page still shows text, not markup.
    invitation = ben.invitation(group)
    await expect(invitation.locator(".name")).to_have_text(group)
    await expect(invitation.locator(".by")).to_have_text(f"invited by {ann.username}")
    assert await ben.page.locator("#invitation-list b").count() == 0

    # Ben reloads before answering: the server still lists it.
    await ben.page.reload()
    await ben.signed_in()
    await expect(invitation.locator(".name")).to_have_text(group)
    await expect(invitation.locator(".by")).to_have_text(f"invited by {ann.username}")
    await expect(ben.group_button(group)).to_have_count(0)

    await ben.accept_invitation(group)
    await expect(ben.group_button(group)).to_have_count(1)
    await expect(ben.page.locator("#invitations-section")).to_be_hidden()
    await expect(ann.member(ben.username)).to_have_count(1)
    await ben.send("Hello, readers")
    await expect(ann.message("Hello, readers")).to_have_count(1)

    # Joined, it is no longer pending: not after another reload either.
    await ben.page.reload()
    await ben.signed_in()
    await expect(ben.group_button(group)).to_have_count(1)
    await expect(ben.page.locator("#invitations-section")).to_be_hidden()
    await expect(ben.page.locator("#invitation-list li")).to_have_count(0)


async def test_a_member_who_leaves_is_gone_from_both_pages(people: People) -> None:
    ann = Person(await people.open(), unique("ann"))
    ben = Person(await people.open(node=1), unique("ben"))
    await ann.register()
    await ben.register()
    group = f"Running {unique('g')}"
    await ann.create_group(group)
    await ben.find_and_join("Running", group)
    await ann.open_members_panel()
    await expect(ann.members).to_have_count(2)
    await expect(ann.page.locator("#online-line")).to_contain_text(ben.username)

    await ben.leave_group(group)
    await expect(ben.page.locator("#conversation-body")).to_be_hidden()
    # Ann sees him go: from the member list and from who is online, though he still is.
    await expect(ann.member(ben.username)).to_have_count(0)
    await expect(ann.members).to_have_count(1)
    await expect(ann.page.locator("#online-line")).not_to_contain_text(ben.username)
    await expect(ann.page.locator("#members-panel summary")).to_have_text("Members (1) & invite")

    await ann.send("Anyone still here?")
    await ben.page.reload()
    await ben.signed_in()
    await expect(ben.group_button(group)).to_have_count(0)
    await expect(ben.page.locator("#no-groups")).to_be_visible()


async def test_a_removed_member_stops_seeing_the_group(people: People) -> None:
    ann = Person(await people.open(), unique("ann"))
    ben = Person(await people.open(node=1), unique("ben"))
    received: list[str] = []
    ben.page.on("websocket", lambda ws: ws.on("framereceived", lambda f: received.append(str(f))))
    await ann.register()
    await ben.register()
    group = f"Secret plans {unique('g')}"
    await ann.create_group(group, private=True)
    await ann.invite(ben.username)
    await ben.accept_invitation(group)
    await ann.send("before the removal")
    await expect(ben.message("before the removal")).to_have_count(1)
    address = ben.page.url
    assert "#" in address

    await ann.remove_member(ben.username)
    await expect(ben.group_button(group)).to_have_count(0)
    await expect(ben.page.locator("#conversation-body")).to_be_hidden()
    await expect(ben.page.locator("#sidebar-error")).to_have_text(f"You were removed from {group}.")
    await expect(ann.members).to_have_count(1)

    await ann.send("after the removal")
    # A later fact of the group that Ben's socket is sent: an invitation back. His node
    # delivers the group in order, so the message would have reached his socket before it.
    await ann.invite(ben.username)
    await expect(ben.invitation(group)).to_have_count(1)
    assert not any("after the removal" in frame for frame in received)
    await expect(ben.message("after the removal")).to_have_count(0)
    await ben.invitation(group).get_by_role("button", name="Decline").click()
    await expect(ben.invitation(group)).to_have_count(0)
    # Nor does the group's address bring it back, after a reload.
    await ben.page.goto(address)
    await ben.signed_in()
    await expect(ben.group_button(group)).to_have_count(0)
    await expect(ben.page.locator("#conversation-body")).to_be_hidden()
    await expect(ben.page.locator("#invitation-list li")).to_have_count(0)
