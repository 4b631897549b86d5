"""dispatcher.tasks: stopping a background task absorbs that task's cancellation only."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from dispatcher.tasks import cancel_and_wait, wait_finished


async def _slow_to_stop(cleaned: list[str], cleanup_seconds: float) -> None:
    try:
        await asyncio.sleep(3600)
    finally:
        await asyncio.sleep(cleanup_seconds)  # a clean-up that takes a while
        cleaned.append("done")


async def test_the_task_is_cancelled_and_its_clean_up_awaited() -> None:
    cleaned: list[str] = []
    task = asyncio.create_task(_slow_to_stop(cleaned, 0.01))
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert task.cancelled() and cleaned == ["done"]


async def _stop(task: asyncio.Task[None], reached_end: list[bool], old_idiom: bool) -> None:
    if old_idiom:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    else:
        await cancel_and_wait(task)
    reached_end.append(True)


@pytest.mark.parametrize("old_idiom", [True, False], ids=["suppress-idiom", "cancel_and_wait"])
async def test_a_cancellation_of_the_caller_during_the_wait_is_passed_on(old_idiom: bool) -> None:
    cleaned: list[str] = []
    background = asyncio.create_task(_slow_to_stop(cleaned, 0.2))
    await asyncio.sleep(0)
    reached_end: list[bool] = []
    stopper = asyncio.create_task(_stop(background, reached_end, old_idiom))
    await asyncio.sleep(0.05)  # the stopper now waits for the background task's clean-up
    stopper.cancel()  # e.g. a second Ctrl-C
    with contextlib.suppress(asyncio.CancelledError):
        await stopper
    if old_idiom:  # the bug these helpers replace: the stopper went on as if not cancelled
        assert reached_end == [True] and not stopper.cancelled()
    else:
        assert reached_end == [] and stopper.cancelled()
    await wait_finished(background)
    assert background.cancelled()


async def test_wait_finished_absorbs_a_cancellation_made_elsewhere() -> None:
    task = asyncio.create_task(asyncio.sleep(3600))
    await asyncio.sleep(0)
    task.cancel()
    await wait_finished(task)
    assert task.cancelled()


async def test_other_exceptions_of_the_task_propagate() -> None:
    async def failing() -> None:
        raise RuntimeError("broken")

    task = asyncio.create_task(failing())
    with pytest.raises(RuntimeError, match="broken"):
        await wait_finished(task)
