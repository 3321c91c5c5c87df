"""What the accessibility tests look with: axe-core over the page, Chromium's accessibility tree,
and where the keyboard's focus is and whether it can be seen.

axe-core comes from npm (``web/node_modules/axe-core``, a devDependency that ``./dev`` installs
with ``npm ci``), never from a CDN. It is evaluated in the page rather than added as a
``<script>``: the page's Content-Security-Policy allows scripts from its own origin only, and
the page is checked as it is served.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, Page, ViewportSize, expect

AXE = Path(__file__).resolve().parents[3] / "web" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, and axe's best practices (landmarks, one h1, …).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)


@functools.cache
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run ./dev (it runs `npm ci` in web/)")
    return AXE.read_text()


async def axe_violations(page: Page) -> list[str]:
    """axe-core over the page as it is now: a line per rule broken and element breaking it."""
    if not await page.evaluate("() => 'axe' in window"):
        await page.evaluate(axe_source())
    result = await page.evaluate(
        """(tags) => axe.run(document, {
            runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
        })""",
        AXE_TAGS,
    )
    return [
        f"{rule['id']} ({rule['impact']}) {node['target']}: {node['failureSummary']}"
        for rule in result["violations"]
        for node in rule["nodes"]
    ]


async def scrolls_sideways(page: Page) -> bool:
    return bool(
        await page.evaluate(
            "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
    )


class Audit:
    """axe over every state a person reaches, at the width they use and at the other one (a
    desktop at a phone's width shows the phone's layout of the same state). What is found is
    collected, so one run names every problem; ``assert_clean`` fails on any."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.states = 0

    async def check(
        self, page: Page, state: str, *, widths: tuple[ViewportSize, ...] = (DESKTOP, PHONE)
    ) -> None:
        own = page.viewport_size
        assert own is not None
        for size in sorted(widths, key=lambda size: size != own):  # its own width first
            if size != page.viewport_size:
                await page.set_viewport_size(size)
            where = f"{state} at {size['width']}px"
            self.found.extend(f"{where}: {line}" for line in await axe_violations(page))
            if await scrolls_sideways(page):
                self.found.append(f"{where}: the page scrolls sideways")
            self.states += 1
        if page.viewport_size != own:
            await page.set_viewport_size(own)

    def assert_clean(self) -> None:
        assert not self.found, "axe-core found:\n" + "\n".join(self.found)


# --- the keyboard ----------------------------------------------------------------------------


async def press_until(page: Page, key: str, target: Locator, *, presses: int = 60) -> int:
    """Press ``key`` (Tab, Shift+Tab) until ``target`` has the focus; how many presses it took."""
    for count in range(presses + 1):
        if await target.evaluate("(element) => element === document.activeElement"):
            return count
        await page.keyboard.press(key)
    await expect(target).to_be_focused()
    return presses


async def focus_in_sight(page: Page) -> dict[str, Any]:
    """The focused element, what marks it (its outline) and how opaque it shows (its own and
    its ancestors' opacity): a control that is there for the keyboard must be seen."""
    return dict(
        await page.evaluate(
            """() => {
                const element = document.activeElement;
                const style = getComputedStyle(element);
                let opacity = 1;
                for (let node = element; node instanceof Element; node = node.parentElement) {
                    opacity *= Number(getComputedStyle(node).opacity);
                }
                const box = element.getBoundingClientRect();
                return {
                    what: element.id || element.textContent.trim().slice(0, 40),
                    outline: style.outlineStyle === 'none' ? 0 : parseFloat(style.outlineWidth),
                    opacity,
                    inView: box.bottom > 0 && box.top < innerHeight && box.width > 0,
                };
            }"""
        )
    )


async def assert_focus_shown(page: Page) -> None:
    seen = await focus_in_sight(page)
    assert seen["outline"] >= 2 and seen["opacity"] == 1 and seen["inView"], seen


# --- Chromium's accessibility tree -----------------------------------------------------------


async def accessibility_tree(page: Page) -> list[dict[str, Any]]:
    """Chromium's own accessibility tree (what a screen reader is given), by the DevTools
    protocol: the nodes, each with its role, name and properties."""
    session = await page.context.new_cdp_session(page)
    try:
        await session.send("Accessibility.enable")
        return list((await session.send("Accessibility.getFullAXTree"))["nodes"])
    finally:
        await session.detach()


def ax_value(node: dict[str, Any], field: str) -> Any:
    return (node.get(field) or {}).get("value")


def ax_property(node: dict[str, Any], name: str) -> Any:
    """A property's value ("polite", True), or for a reference its nodes ({relatedNodes})."""
    for prop in node.get("properties", []):
        if prop["name"] == name:
            value = prop["value"]
            return value["value"] if "value" in value else value
    return None


def ax_find(tree: list[dict[str, Any]], role: str, name: str) -> dict[str, Any]:
    found = [n for n in tree if ax_value(n, "role") == role and ax_value(n, "name") == name]
    assert len(found) == 1, (role, name, len(found))
    return found[0]
