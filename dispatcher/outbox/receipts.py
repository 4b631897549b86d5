"""Receipt correlation: receipts and status answers applied to parts, parts rolled up into the
message's status, and receipts that came before their part kept until it is known.

Rules:
- A receipt is matched by (account, normalised message id) to the most recently submitted part
  with that id. Without a match it waits in `dispatcher_pending_receipt` and is applied when the
  part is recorded (`results.mark_submitted` does it in the same transaction), or by the
  periodic `match_pending()` sweep, which also covers a receipt and its part recorded at the same
  moment by two transactions that could not see each other; both survive a restart because they
  are rows. Receipts still unmatched after a configurable age are dropped and counted.
- A part's final outcome never changes; a later receipt for a final part is ignored, one for a
  part of an already final message is recorded on the part only.
- A message is `delivered` when every part is; it takes the failure of the first part that
  fails finally (the earliest received final failure), and then never changes again.

Every function here runs inside the caller's transaction. Roll-ups lock the messages concerned
(in id order, so concurrent batches cannot deadlock) before reading their parts, so two daemons
receiving receipts for two parts of one message never both miss the last part.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from dispatcher.outbox.records import PartOutcome, ReceiptRecord, ReceiptReport
from dispatcher.status import MessageStatus

_MATCH_RECEIPTS = """
SELECT r.ord, p.outbox_id, p.part_index
FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(account, message_id, ord)
JOIN LATERAL (
    SELECT outbox_id, part_index FROM dispatcher_part AS p
    WHERE p.account = r.account AND p.message_id = r.message_id
    ORDER BY p.submitted_at DESC, p.outbox_id DESC
    LIMIT 1
) AS p ON true
"""

_KEEP_PENDING = """
INSERT INTO dispatcher_pending_receipt
    (account, message_id, status, receipt_state, receipt_error, receipt_text, received_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::timestamptz[])
"""

_LOCK_MESSAGES = """
SELECT id FROM outbox WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE
"""

# only parts still waiting change; a final part keeps its first final outcome
_UPDATE_PARTS = """
UPDATE dispatcher_part AS p
SET status = r.status,
    receipt_state = r.state,
    receipt_error = r.error_code,
    receipt_text = r.text,
    receipt_at = r.at
FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::timestamptz[]) AS r(outbox_id, part_index, status, state, error_code, text, at)
WHERE p.outbox_id = r.outbox_id AND p.part_index = r.part_index AND p.status = 'submitted'
"""

_ROLL_UP = """
WITH agg AS (
    SELECT p.outbox_id,
           count(*) AS parts,
           bool_and(p.status = 'delivered') AS all_delivered,
           (array_agg(p.part_index ORDER BY p.receipt_at, p.part_index)
                FILTER (WHERE p.status NOT IN ('submitted', 'delivered')))[1] AS failed_part
    FROM dispatcher_part AS p
    WHERE p.outbox_id = ANY($1::bigint[])
    GROUP BY p.outbox_id
)
UPDATE outbox AS o
SET status = coalesce(f.status, 'delivered'),
    status_at = now(),
    done_at = now(),
    error_code = CASE WHEN f.status IS NULL THEN o.error_code ELSE f.receipt_error END,
    error_text = CASE WHEN f.status IS NULL THEN o.error_text
        ELSE concat_ws(': ',
                       CASE WHEN agg.parts > 1
                            THEN format('part %s of %s', f.part_index, agg.parts) END,
                       coalesce(f.receipt_text, f.receipt_state, f.status)) END
FROM agg
LEFT JOIN dispatcher_part AS f
       ON f.outbox_id = agg.outbox_id AND f.part_index = agg.failed_part
WHERE o.id = agg.outbox_id
  AND o.status IN ('queued', 'sending', 'submitted')
  AND (agg.failed_part IS NOT NULL OR agg.all_delivered)
RETURNING o.id
"""

_PENDING_COLUMNS = """
    r.status, r.receipt_state, r.receipt_error, r.receipt_text, r.received_at
"""

# pending receipts whose part is now known, for the parts of some messages ...
_TAKE_PENDING_FOR_MESSAGES = f"""
DELETE FROM dispatcher_pending_receipt AS r
USING dispatcher_part AS p
WHERE p.outbox_id = ANY($1::bigint[])
  AND r.account = p.account AND r.message_id = p.message_id
RETURNING p.outbox_id, p.part_index, {_PENDING_COLUMNS}
"""

# ... or anywhere (the sweep; several daemons may sweep at once)
_TAKE_PENDING_ANY = f"""
WITH found AS (
    SELECT r.id, p.outbox_id, p.part_index
    FROM dispatcher_pending_receipt AS r
    JOIN LATERAL (
        SELECT outbox_id, part_index FROM dispatcher_part AS p
        WHERE p.account = r.account AND p.message_id = r.message_id
        ORDER BY p.submitted_at DESC, p.outbox_id DESC
        LIMIT 1
    ) AS p ON true
    ORDER BY r.id
    LIMIT $1
    FOR UPDATE OF r SKIP LOCKED
)
DELETE FROM dispatcher_pending_receipt AS r
USING found
WHERE r.id = found.id
RETURNING found.outbox_id, found.part_index, {_PENDING_COLUMNS}
"""

_DROP_STALE_PENDING = """
WITH dropped AS (
    DELETE FROM dispatcher_pending_receipt
    WHERE recorded_at < now() - make_interval(secs => $1)
    RETURNING 1
)
SELECT count(*) FROM dropped
"""


def _one_per_part(outcomes: Sequence[PartOutcome]) -> list[PartOutcome]:
    """Several outcomes for one part in a batch: the first final one wins (as it would had
    they come in separate batches), else the latest intermediate one."""
    chosen: dict[tuple[int, int], PartOutcome] = {}
    for outcome in outcomes:
        key = (outcome.outbox_id, outcome.part_index)
        current = chosen.get(key)
        if current is None or _supersedes(outcome, current):
            chosen[key] = outcome
    return list(chosen.values())


def _supersedes(new: PartOutcome, current: PartOutcome) -> bool:
    new_final, current_final = new.status.is_final, current.status.is_final
    if new_final != current_final:
        return new_final
    if new_final:
        return new.at < current.at
    return new.at >= current.at


async def apply_outcomes(
    connection: asyncpg.Connection, outcomes: Sequence[PartOutcome]
) -> int:
    """Record part outcomes and roll the messages up; returns how many messages became final."""
    if not outcomes:
        return 0
    chosen = _one_per_part(outcomes)
    message_ids = sorted({outcome.outbox_id for outcome in chosen})
    await connection.execute(_LOCK_MESSAGES, message_ids)
    await connection.execute(
        _UPDATE_PARTS,
        [outcome.outbox_id for outcome in chosen],
        [outcome.part_index for outcome in chosen],
        [outcome.status.value for outcome in chosen],
        [outcome.state for outcome in chosen],
        [outcome.error_code for outcome in chosen],
        [outcome.text for outcome in chosen],
        [outcome.at for outcome in chosen],
    )
    finalised = await connection.fetch(_ROLL_UP, message_ids)
    return len(finalised)


def _outcome_from_pending(row: asyncpg.Record) -> PartOutcome:
    return PartOutcome(
        outbox_id=row["outbox_id"],
        part_index=row["part_index"],
        status=MessageStatus(row["status"]),
        at=row["received_at"],
        state=row["receipt_state"],
        error_code=row["receipt_error"],
        text=row["receipt_text"],
    )


async def record_receipts(
    connection: asyncpg.Connection, receipts: Sequence[ReceiptRecord]
) -> ReceiptReport:
    """Apply receipts to their parts, keep the others pending (one transaction, caller's)."""
    if not receipts:
        return ReceiptReport(matched=0, pending=0, finalised=0)
    matches = await connection.fetch(
        _MATCH_RECEIPTS,
        [receipt.account for receipt in receipts],
        [receipt.message_id for receipt in receipts],
    )
    outcomes: list[PartOutcome] = []
    matched_positions: set[int] = set()
    for match in matches:
        position = match["ord"] - 1
        matched_positions.add(position)
        receipt = receipts[position]
        outcomes.append(
            PartOutcome(
                outbox_id=match["outbox_id"],
                part_index=match["part_index"],
                status=receipt.status,
                at=receipt.received_at,
                state=receipt.state,
                error_code=receipt.error_code,
                text=receipt.text,
            )
        )
    unmatched = [r for i, r in enumerate(receipts) if i not in matched_positions]
    if unmatched:
        await connection.execute(
            _KEEP_PENDING,
            [receipt.account for receipt in unmatched],
            [receipt.message_id for receipt in unmatched],
            [receipt.status.value for receipt in unmatched],
            [receipt.state for receipt in unmatched],
            [receipt.error_code for receipt in unmatched],
            [receipt.text for receipt in unmatched],
            [receipt.received_at for receipt in unmatched],
        )
    finalised = await apply_outcomes(connection, outcomes)
    return ReceiptReport(matched=len(outcomes), pending=len(unmatched), finalised=finalised)


async def apply_pending_for(connection: asyncpg.Connection, message_ids: Sequence[int]) -> int:
    """Apply the pending receipts of the parts just recorded for these messages; returns the
    number of messages that became final."""
    rows = await connection.fetch(_TAKE_PENDING_FOR_MESSAGES, list(message_ids))
    return await apply_outcomes(connection, [_outcome_from_pending(row) for row in rows])


async def match_pending(connection: asyncpg.Connection, limit: int) -> tuple[int, int]:
    """The sweep: apply up to `limit` pending receipts whose part is now known; returns
    (receipts matched, messages that became final)."""
    rows = await connection.fetch(_TAKE_PENDING_ANY, limit)
    finalised = await apply_outcomes(connection, [_outcome_from_pending(row) for row in rows])
    return len(rows), finalised


async def drop_stale_pending(connection: asyncpg.Connection, max_age_seconds: float) -> int:
    """Forget receipts unmatched for longer than `max_age_seconds`; returns how many."""
    dropped: int = await connection.fetchval(_DROP_STALE_PENDING, max_age_seconds)
    return dropped
