"""Failed logins: free ones, then a doubling wait, forgotten after an hour."""

from __future__ import annotations

from auth.throttle import FORGET_AFTER, LoginThrottle


def test_after_the_free_failures_each_attempt_waits_twice_as_long() -> None:
    throttle = LoginThrottle(free=3, longest=10)
    for n in range(3):
        assert throttle.wait_for("user:ann", now=n) == 0
        throttle.failed("user:ann", now=n)
    assert throttle.wait_for("user:ann", now=2.0) == 1.0  # 1 s after the third failure
    assert throttle.wait_for("user:ann", now=3.0) == 0
    throttle.failed("user:ann", now=3.0)
    assert throttle.wait_for("user:ann", now=3.5) == 1.5  # 2 s now
    for _ in range(10):
        throttle.failed("user:ann", now=4.0)
    assert throttle.wait_for("user:ann", now=4.0) == 10  # capped at ``longest``
    assert throttle.wait_for("user:bob", now=4.0) == 0  # others are not affected


def test_success_clears_and_an_hour_forgets() -> None:
    throttle = LoginThrottle(free=1, longest=60)
    throttle.failed("user:ann", now=0)
    throttle.failed("user:ann", now=0)
    assert throttle.wait_for("user:ann", now=0) > 0
    throttle.succeeded("user:ann")
    assert throttle.wait_for("user:ann", now=0) == 0
    throttle.failed("addr:1.2.3.4", now=0)
    throttle.failed("addr:1.2.3.4", now=0)
    assert throttle.wait_for("addr:1.2.3.4", now=FORGET_AFTER + 1) == 0
