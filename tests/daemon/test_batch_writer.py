"""BatchWriter: what arrives while a write runs goes in the next batch, batches are capped,
`stored()` waits for the batch holding the items, a failed write does not stop the writer,
and closing writes what is left."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from dispatcher.daemon.batch_writer import BatchWriter


class Recorder:
    """A write function that records its batches and can be held open, or made to fail."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.open = asyncio.Event()
        self.open.set()
        self.fail_next = False

    async def __call__(self, batch: Sequence[int]) -> None:
        self.batches.append(list(batch))
        await self.open.wait()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("a bug in the batch")


async def test_items_added_during_a_write_go_together_in_the_next_batch() -> None:
    write = Recorder()
    writer = BatchWriter("test", write)
    writer.start()
    try:
        write.open.clear()
        writer.add(1)
        await asyncio.sleep(0.01)  # the first batch is taken and held in its write
        writer.extend([2, 3])
        writer.add(4)
        assert writer.pending == 3
        write.open.set()
        await asyncio.wait_for(writer.flush(), 5)
        assert write.batches == [[1], [2, 3, 4]]
    finally:
        await writer.close()


async def test_a_batch_holds_at_most_max_batch_items() -> None:
    write = Recorder()
    writer = BatchWriter("test", write, max_batch=2)
    writer.extend([1, 2, 3, 4, 5])
    writer.start()
    try:
        await asyncio.wait_for(writer.flush(), 5)
        assert write.batches == [[1, 2], [3, 4], [5]]
    finally:
        await writer.close()


async def test_stored_is_done_once_the_batch_holding_the_items_is_written() -> None:
    write = Recorder()
    writer = BatchWriter("test", write, max_batch=2)
    writer.start()
    try:
        write.open.clear()
        writer.extend([1, 2, 3])
        stored = writer.stored()
        await asyncio.sleep(0.01)
        assert write.batches == [[1, 2]] and not stored.done()
        write.open.set()
        await asyncio.wait_for(stored, 5)
        assert write.batches == [[1, 2], [3]]
    finally:
        await writer.close()


async def test_a_failed_write_is_logged_and_the_writer_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    write = Recorder()
    writer = BatchWriter("test", write)
    writer.start()
    try:
        write.fail_next = True
        writer.add(1)
        stored = writer.stored()
        await asyncio.wait_for(stored, 5)  # its items were through the write, failed or not
        writer.add(2)
        await asyncio.wait_for(writer.flush(), 5)
        assert write.batches == [[1], [2]]
    finally:
        await writer.close()
    assert "batch_write_failed" in capsys.readouterr().out


async def test_close_writes_what_is_left() -> None:
    write = Recorder()
    writer = BatchWriter("test", write)
    writer.start()
    write.open.clear()
    writer.add(1)
    await asyncio.sleep(0.01)
    writer.add(2)
    closing = asyncio.create_task(writer.close())
    await asyncio.sleep(0.01)
    assert not closing.done()
    write.open.set()
    await asyncio.wait_for(closing, 5)
    assert write.batches == [[1], [2]]
