"""``./dev bench --only``: a listed workload by name, at any rate."""

from __future__ import annotations

import pytest

from tests.benchmarks.bench import named


def test_a_listed_workload_at_a_rate_of_its_own() -> None:
    workload = named("20x10@700")
    assert (workload.groups, workload.members, workload.rate) == (20, 10, 700.0)
    assert named("reactions20x10@250").kind == "reactions"
    assert named("direct100x2@1000").peers == ()


@pytest.mark.parametrize("only", ["20x11@100", "20x10", "20x10@fast"])
def test_an_unknown_name_or_rate_says_what_is_expected(only: str) -> None:
    with pytest.raises(SystemExit, match="expected NAME@RATE"):
        named(only)
