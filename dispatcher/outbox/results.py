"""Writing what providers answered: messages accepted (with their parts) and final outcomes.

Results are facts, so they are recorded whoever holds the row's lease now (a daemon that lost
its lease still reports what the provider said). Final statuses are never overwritten: every
statement here only touches rows that are not final yet.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from dispatcher.outbox.packing import numbers_sql, pack_numbers, pack_texts, texts_sql
from dispatcher.outbox.receipts import apply_outcomes, outcome_from_pending
from dispatcher.outbox.records import FinalResult, Submission, SubmittedPart

# One statement: the rows become submitted, their parts are recorded, and receipts that came
# before the parts are taken out of the pending table (applied by the caller in the same
# transaction). Parts are recorded even for a message that became final meanwhile, so its late
# receipts are kept on the part. The same id recorded again (a retried batch) changes nothing;
# a new id for a part (the message was sent again) replaces the old one.
# The batch statements here and in claims.py and receipts.py join the unnested arrays with
# the table on its key, which the store's random_page_cost (store.py) has planned as one index
# lookup per row at every size measured. They carry no `id = ANY($1)` beside the join any
# more: when the planner used that as the filter of a nested loop, every row was compared with
# the whole array (a receipt batch of 3,000 took half a second instead of 0.1).
_MARK_SUBMITTED = f"""
WITH submitted AS (
    UPDATE outbox AS o
    SET status = 'submitted',
        status_at = now(),
        submitted_at = now(),
        provider = s.provider,
        parts = s.segments,
        error_code = NULL,
        error_text = NULL,
        dispatcher_lease_owner = NULL,
        dispatcher_lease_until = NULL,
        dispatcher_written_at = NULL
    FROM unnest({numbers_sql(1, 'bigint')}, {texts_sql(2)}, {numbers_sql(3, 'int')})
         AS s(id, provider, segments)
    WHERE o.id = s.id AND o.status IN ('queued', 'sending')
),
recorded AS (
    INSERT INTO dispatcher_part (outbox_id, part_index, account, message_id, raw_message_id)
    SELECT p.outbox_id, p.part_index, p.account, p.message_id, p.raw_message_id
    FROM unnest({numbers_sql(4, 'bigint')}, {numbers_sql(5, 'smallint')}, {texts_sql(6)},
                {texts_sql(7)}, {texts_sql(8)})
         AS p(outbox_id, part_index, account, message_id, raw_message_id)
    WHERE EXISTS (SELECT 1 FROM outbox AS o WHERE o.id = p.outbox_id)
    ON CONFLICT (outbox_id, part_index) DO UPDATE
    SET account = excluded.account,
        message_id = excluded.message_id,
        raw_message_id = excluded.raw_message_id,
        status = 'submitted',
        submitted_at = now(),
        receipt_state = NULL,
        receipt_error = NULL,
        receipt_text = NULL,
        receipt_at = NULL,
        queried_at = NULL,
        query_count = 0
    WHERE (dispatcher_part.account, dispatcher_part.message_id)
          IS DISTINCT FROM (excluded.account, excluded.message_id)
    RETURNING outbox_id, part_index, account, message_id
)
DELETE FROM dispatcher_pending_receipt AS r
USING recorded AS p
WHERE r.account = p.account AND r.message_id = p.message_id
RETURNING p.outbox_id, p.part_index, r.status, r.receipt_state, r.receipt_error,
          r.receipt_text, r.received_at
"""

_FINISH = f"""
UPDATE outbox AS o
SET status = r.status,
    status_at = now(),
    done_at = now(),
    error_code = r.error_code,
    error_text = r.error_text,
    provider = coalesce(r.provider, o.provider),
    dispatcher_lease_owner = NULL,
    dispatcher_lease_until = NULL,
    dispatcher_written_at = NULL
FROM unnest({numbers_sql(1, 'bigint')}, {texts_sql(2)}, {texts_sql(3)}, {texts_sql(4)},
            {texts_sql(5)})
     AS r(id, status, error_code, error_text, provider)
WHERE o.id = r.id
  AND o.status IN ('queued', 'sending', 'submitted')
RETURNING o.id
"""


async def mark_submitted(
    connection: asyncpg.Connection, submissions: Sequence[Submission]
) -> int:
    """Rows become `submitted` with their parts; receipts that were waiting for these parts
    are applied at once. Runs inside the caller's transaction; one statement unless early
    receipts were waiting. Returns how many messages those receipts made final."""
    if not submissions:
        return 0
    by_id = {submission.outbox_id: submission for submission in submissions}
    parts: dict[tuple[int, int], SubmittedPart] = {}
    for submission in by_id.values():
        for part in submission.parts:
            parts[(submission.outbox_id, part.part_index)] = part
    early_receipts = await connection.fetch(
        _MARK_SUBMITTED,
        pack_numbers(by_id),
        pack_texts([submission.provider for submission in by_id.values()]),
        pack_numbers(
            submission.segments if submission.segments is not None else len(submission.parts)
            for submission in by_id.values()
        ),
        pack_numbers(outbox_id for outbox_id, _ in parts),
        pack_numbers(part_index for _, part_index in parts),
        pack_texts([part.account for part in parts.values()]),
        pack_texts([part.message_id for part in parts.values()]),
        pack_texts([part.raw_message_id for part in parts.values()]),
    )
    return await apply_outcomes(
        connection, [outcome_from_pending(row) for row in early_receipts]
    )


async def finish(connection: asyncpg.Connection, results: Sequence[FinalResult]) -> set[int]:
    """Final statuses for rows not final yet; returns the ids changed."""
    if not results:
        return set()
    rows = await connection.fetch(
        _FINISH,
        pack_numbers(result.outbox_id for result in results),
        pack_texts([result.status for result in results]),
        pack_texts([result.error_code for result in results]),
        pack_texts([result.error_text for result in results]),
        pack_texts([result.provider for result in results]),
    )
    return {row["id"] for row in rows}
