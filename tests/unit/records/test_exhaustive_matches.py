"""A ``match`` over facts that misses one fails the type check, naming it: what makes a new
fact one place per layer (``docs/adding-an-event.md``), and why ``./dev test`` runs mypy."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import get_args

from infra.paths import REPO_ROOT
from records.facts import Fact, MessageSaved

HANDLER = """
from typing import assert_never

from records.facts import *  # noqa: F403
from records.facts import Fact, MessageSaved


def handle(fact: Fact) -> str:
    match fact:
        case MessageSaved():
            return "message"
{more}
        case _:
            assert_never(fact)
"""


def mypy(tmp_path: Path, more: str) -> subprocess.CompletedProcess[str]:
    module = tmp_path / "handler.py"
    module.write_text(textwrap.dedent(HANDLER).format(more=more))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", str(module)],
        cwd=REPO_ROOT,
        env={**os.environ, "MYPYPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_match_that_misses_a_fact_fails_and_names_what_is_missing(tmp_path: Path) -> None:
    others = [t.__name__ for t in get_args(Fact) if t is not MessageSaved]
    forgotten = others.pop(len(others) // 2)
    cases = " | ".join(f"{name}()" for name in others)
    result = mypy(tmp_path, f'        case {cases}:\n            return "other"')
    assert result.returncode == 1, result.stdout + result.stderr
    assert "assert_never" in result.stdout
    assert f'"{forgotten}"' in result.stdout, result.stdout


def test_the_same_match_with_every_fact_passes(tmp_path: Path) -> None:
    others = [t.__name__ for t in get_args(Fact) if t is not MessageSaved]
    cases = " | ".join(f"{name}()" for name in others)
    result = mypy(tmp_path, f'        case {cases}:\n            return "other"')
    assert result.returncode == 0, result.stdout + result.stderr
