"""A receipt written at the same moment as its part is matched at once, not left to the sweep.

Before the store wrote one daemon's parts and receipts one transaction at a time, a receipt
whose part was being written in a concurrent transaction saw no part, went to the pending
table, and was only applied by the sweep 30 s later: under load, a large share of messages.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg

from dispatcher.outbox.records import ReceiptRecord, Submission, SubmittedPart
from dispatcher.outbox.store import OutboxStore
from dispatcher.status import MessageStatus

MESSAGES = 40


async def test_parts_and_receipts_written_at_once_all_match(migrated_dsn: str) -> None:
    connection = await asyncpg.connect(migrated_dsn)
    store = await OutboxStore.open(migrated_dsn, max_connections=8)
    try:
        await connection.executemany(
            "INSERT INTO outbox (destination, body) VALUES ($1, 'hello')",
            [(f"7903{n:07d}",) for n in range(MESSAGES)],
        )
        claimed = await store.claim("daemon", MESSAGES, 60, written=True)
        assert len(claimed) == MESSAGES

        def submission(outbox_id: int) -> Submission:
            part = SubmittedPart(1, "main", f"{outbox_id:x}", f"{outbox_id:08X}")
            return Submission(outbox_id, "smpp:main", (part,))

        def receipt(outbox_id: int) -> ReceiptRecord:
            return ReceiptRecord("main", f"{outbox_id:x}", MessageStatus.DELIVERED,
                                 datetime.now(UTC), state="DELIVRD")  # fmt: skip

        # every message's part and receipt in flight together, in both orders
        writes = []
        for row in claimed:
            pair = [store.record_results([submission(row.id)]),
                    store.record_results([], [receipt(row.id)])]  # fmt: skip
            writes += pair if row.id % 2 else pair[::-1]
        await asyncio.gather(*writes)

        statuses = await connection.fetch("SELECT status, count(*) FROM outbox GROUP BY 1")
        assert dict(statuses) == {"delivered": MESSAGES}
        assert await connection.fetchval("SELECT count(*) FROM dispatcher_pending_receipt") == 0
    finally:
        await store.close()
        await connection.close()
