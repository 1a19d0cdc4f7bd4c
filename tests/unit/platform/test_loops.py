"""A service's loop: again at once while a step says there is more, idle otherwise, alive after a failure."""

from __future__ import annotations

import logging
import threading

import pytest

from crm_platform.loops import repeat


def test_a_loop_runs_full_batches_back_to_back_waits_when_idle_and_survives_a_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = threading.Event()
    answers = iter([True, True, RuntimeError("database gone"), False, True])
    steps: list[object] = []
    waits: list[float] = []
    real_wait = stop.wait

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return real_wait(0)

    stop.wait = wait  # type: ignore[method-assign]

    def step() -> bool:
        answer = next(answers, None)
        steps.append(answer)
        if answer is None:
            stop.set()
            return False
        if isinstance(answer, Exception):
            raise answer
        return bool(answer)

    with caplog.at_level(logging.ERROR):
        repeat(step, stop, idle_seconds=5.0, failure_seconds=2.0, what="closing solved tickets")

    assert len(steps) == 6  # the failure did not end the loop
    assert waits == [2.0, 5.0, 5.0]  # after the failure, after the idle step, after the last (stopping) one
    assert "closing solved tickets failed; retrying" in caplog.text
