"""Stopping background tasks without swallowing the caller's own cancellation.

The usual shutdown idiom, `task.cancel()` then `with suppress(CancelledError): await task`,
also swallows a cancellation of the *caller* that arrives during the await (a second SIGINT,
a timeout around the shutdown): the caller then carries on as if nothing had asked it to stop.
These helpers absorb only the stopped task's own CancelledError and pass the caller's on,
which Python 3.11 tells apart with `Task.cancelling()`.
"""

from __future__ import annotations

import asyncio
from typing import Any


async def wait_finished(task: asyncio.Future[Any]) -> None:
    """Wait until `task` is done. Its own cancellation ends here; any other exception of the
    task, and a cancellation of the caller, propagate."""
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


async def cancel_and_wait(task: asyncio.Future[Any]) -> None:
    """Cancel `task` and wait until it has finished (its clean-up included), as
    `wait_finished` does."""
    task.cancel()
    await wait_finished(task)
