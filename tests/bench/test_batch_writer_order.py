"""BatchWriter(after=...): a batch waits for what the other writer was given before it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from dispatcher.daemon.batch_writer import BatchWriter


class Recorder:
    """A write function that records its batches and can be held open."""

    def __init__(self, name: str, log: list[tuple[str, list[object]]]) -> None:
        self.name = name
        self.log = log
        self.open = asyncio.Event()
        self.open.set()

    async def __call__(self, batch: Sequence[object]) -> None:
        self.log.append((self.name, list(batch)))
        await self.open.wait()


async def test_a_batch_waits_for_everything_the_other_writer_got_before_it() -> None:
    log: list[tuple[str, list[object]]] = []
    write_parts = Recorder("parts", log)
    parts = BatchWriter("parts", write_parts)
    receipts = BatchWriter("receipts", Recorder("receipts", log), after=parts)
    parts.start()
    receipts.start()
    try:
        write_parts.open.clear()  # the first parts batch stays in its write
        parts.add(1)
        await asyncio.sleep(0.01)
        parts.add(2)  # waits behind it
        receipts.add("receipt of 2")
        await asyncio.sleep(0.01)
        assert log == [("parts", [1])]

        write_parts.open.set()
        await asyncio.wait_for(receipts.flush(), 5)
        assert log == [("parts", [1]), ("parts", [2]), ("receipts", ["receipt of 2"])]
    finally:
        await parts.close()
        await receipts.close()


async def test_items_the_other_writer_gets_later_hold_nothing_up() -> None:
    log: list[tuple[str, list[object]]] = []
    write_parts = Recorder("parts", log)
    write_receipts = Recorder("receipts", log)
    parts = BatchWriter("parts", write_parts)
    receipts = BatchWriter("receipts", write_receipts, after=parts)
    parts.start()
    receipts.start()
    try:
        write_receipts.open.clear()
        receipts.add("receipt")
        await asyncio.sleep(0.01)  # its batch is taken and in its write
        write_parts.open.clear()
        parts.add(1)  # given later, and stuck in its write from now on
        await asyncio.sleep(0.01)
        write_receipts.open.set()
        await asyncio.wait_for(receipts.flush(), 5)
        assert log == [("receipts", ["receipt"]), ("parts", [1])]
    finally:
        write_parts.open.set()
        await parts.close()
        await receipts.close()


async def test_a_stopped_writer_holds_nobody_up() -> None:
    log: list[tuple[str, list[object]]] = []
    parts = BatchWriter("parts", Recorder("parts", log))
    parts.start()
    await parts.close()
    parts.add(1)  # given to a closed writer: never written
    receipts = BatchWriter("receipts", Recorder("receipts", log), after=parts)
    receipts.start()
    try:
        receipts.add("receipt")
        await asyncio.wait_for(receipts.flush(), 5)
        assert log == [("receipts", ["receipt"])]
    finally:
        await receipts.close()
