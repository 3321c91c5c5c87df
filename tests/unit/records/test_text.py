from __future__ import annotations

import pytest

from records.text import is_invisible, text_problem


@pytest.mark.parametrize(
    "text",
    [
        "\u200b", "\u2060\u200c\u200d", "\ufeff ", " \t\n", "\u3164", "\u2800\u2800", "\u180e",
        # default-ignorable marks (category Mn): nothing on screen either
        "\u034f", "\ufe0f\ufe0e", "\U000e0100", "\u180b\u180c\u180d", "\u17b4", "\u00ad",
    ],
)  # fmt: skip
def test_invisible_text(text: str) -> None:
    assert is_invisible(text)


@pytest.mark.parametrize("text", ["a\u200b", "مرحبا", "👍", "\u0301x", "ok", "\u2764\ufe0f"])
def test_visible_text(text: str) -> None:
    assert not is_invisible(text)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a\ud800b", "surrogate"),
        ("\udfff", "surrogate"),
        ("evil\u202egnp.exe", "bidirectional"),
        ("\u2066x\u2069", "bidirectional"),
    ],
)
def test_text_that_is_refused(text: str, problem: str) -> None:
    assert problem in (text_problem(text) or "")


def test_right_to_left_text_needs_no_controls_and_passes() -> None:
    assert text_problem("שלום עולם and مرحبا") is None
