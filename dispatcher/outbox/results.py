"""Writing what providers answered: messages accepted (with their parts) and final outcomes.

Results are facts, so they are recorded whoever holds the row's lease now (a daemon that lost
its lease still reports what the provider said). Final statuses are never overwritten: every
statement here only touches rows that are not final yet.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from dispatcher.outbox.receipts import apply_pending_for
from dispatcher.outbox.records import FinalResult, Submission, SubmittedPart

_MARK_SUBMITTED = """
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
FROM unnest($1::bigint[], $2::text[], $3::int[]) AS s(id, provider, segments)
WHERE o.id = s.id AND o.status IN ('queued', 'sending')
"""

# Parts are recorded even for a message that became final meanwhile, so its late receipts
# are kept on the part. The same id recorded again (a retried batch) changes nothing; a new
# id for a part (the message was sent again) replaces the old one.
_RECORD_PARTS = """
INSERT INTO dispatcher_part (outbox_id, part_index, account, message_id, raw_message_id)
SELECT p.outbox_id, p.part_index, p.account, p.message_id, p.raw_message_id
FROM unnest($1::bigint[], $2::smallint[], $3::text[], $4::text[], $5::text[])
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
"""

_FINISH = """
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
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[])
     AS r(id, status, error_code, error_text, provider)
WHERE o.id = r.id AND o.status IN ('queued', 'sending', 'submitted')
RETURNING o.id
"""


async def mark_submitted(
    connection: asyncpg.Connection, submissions: Sequence[Submission]
) -> int:
    """Rows become `submitted` with their parts; receipts that were waiting for these parts
    are applied at once. Runs inside the caller's transaction; returns how many messages a
    waiting receipt made final."""
    if not submissions:
        return 0
    by_id = {submission.outbox_id: submission for submission in submissions}
    await connection.execute(
        _MARK_SUBMITTED,
        list(by_id),
        [submission.provider for submission in by_id.values()],
        [
            submission.segments if submission.segments is not None else len(submission.parts)
            for submission in by_id.values()
        ],
    )
    parts: dict[tuple[int, int], tuple[int, SubmittedPart]] = {}
    for submission in by_id.values():
        for part in submission.parts:
            parts[(submission.outbox_id, part.part_index)] = (submission.outbox_id, part)
    await connection.execute(
        _RECORD_PARTS,
        [outbox_id for outbox_id, _ in parts.values()],
        [part.part_index for _, part in parts.values()],
        [part.account for _, part in parts.values()],
        [part.message_id for _, part in parts.values()],
        [part.raw_message_id for _, part in parts.values()],
    )
    return await apply_pending_for(connection, list(by_id))


async def finish(connection: asyncpg.Connection, results: Sequence[FinalResult]) -> set[int]:
    """Final statuses for rows not final yet; returns the ids changed."""
    if not results:
        return set()
    rows = await connection.fetch(
        _FINISH,
        [result.outbox_id for result in results],
        [result.status.value for result in results],
        [result.error_code for result in results],
        [result.error_text for result in results],
        [result.provider for result in results],
    )
    return {row["id"] for row in rows}
