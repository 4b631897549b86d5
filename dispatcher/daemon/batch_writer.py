"""Collect items from the hot path and write them to the database in batches.

Results and receipts arrive one by one from PDU callbacks; PostgreSQL wants them a thousand
at a time. A `BatchWriter` gathers items and hands them to one async write function: as soon
as the previous write has finished, everything gathered since then goes in the next one (so
under load batches grow by themselves, and an idle daemon writes a single result within one
loop tick). The write function is the store's, which retries through database outages: items
are never dropped, they wait in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import structlog

from dispatcher.metrics import Metrics
from dispatcher.tasks import cancel_and_wait

T = TypeVar("T")
log = structlog.get_logger()


class BatchWriter(Generic[T]):
    def __init__(
        self,
        name: str,
        write: Callable[[Sequence[T]], Awaitable[object]],
        *,
        metrics: Metrics | None = None,
        max_batch: int = 5000,
    ) -> None:
        self.name = name
        self._write = write
        self._metrics = metrics
        self._max_batch = max_batch
        self._items: list[T] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._stored: asyncio.Future[None] | None = None  # see `stored()`

    def add(self, item: T) -> None:
        items = self._items
        items.append(item)
        if len(items) == 1:
            # The first item since the writer took its last batch. With more, the writer was
            # woken already and is not idle; skipping the two Event calls matters at two items
            # per message.
            self._idle.clear()
            self._wake.set()

    def extend(self, items: Sequence[T]) -> None:
        if items:
            self._items.extend(items)
            self._idle.clear()
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._items)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"writer-{self.name}")

    async def flush(self) -> None:
        """Return once everything added so far is written."""
        await self._idle.wait()

    def stored(self) -> asyncio.Future[None]:
        """A future done once every item added so far has been through the write function.
        One future serves all the items added between two batches (cheap per item)."""
        if self._stored is None:
            self._stored = asyncio.get_running_loop().create_future()
        return self._stored

    async def close(self) -> None:
        """Write what is left, then stop."""
        await self.flush()
        task, self._task = self._task, None
        if self._stored is not None and not self._stored.done():
            self._stored.set_result(None)
        if task is not None:
            await cancel_and_wait(task)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._items:
                batch = self._items[: self._max_batch]
                del self._items[: self._max_batch]
                stored = None
                if not self._items:  # this batch holds every item its future stands for
                    stored, self._stored = self._stored, None
                started = loop.time()
                try:
                    await self._write(batch)
                except Exception:
                    # The store retries connection trouble itself; anything else is a bug
                    # in the batch. Keep the daemon alive and the evidence in the log.
                    log.exception("batch_write_failed", writer=self.name, items=len(batch))
                if self._metrics is not None:
                    self._metrics.db_write_seconds.labels(self.name).observe(
                        loop.time() - started
                    )
                if stored is not None and not stored.done():
                    stored.set_result(None)
            self._idle.set()
