"""Receipt correlation: receipts and status answers applied to parts, parts rolled up into the
message's status, and receipts that came before their part kept until it is known.

Rules:
- A receipt is matched by (account, normalised message id) to the most recently submitted part
  with that id. Without a match it waits in `dispatcher_pending_receipt` and is applied when the
  part is recorded (`results.record_results` does it in the same statement), or by the
  periodic `match_pending()` sweep, which also covers a receipt and its part recorded at the same
  moment by two transactions that could not see each other; both survive a restart because they
  are rows. Receipts still unmatched after a configurable age are dropped and counted.
- A part's final outcome never changes; a later receipt for a final part is ignored, one for a
  part of an already final message is recorded on the part only.
- A message is `delivered` when every part is; it takes the failure of the first part that
  fails finally (the earliest received final failure), and then never changes again.

Every function here runs inside the caller's transaction. Roll-ups lock the messages concerned
(in id order, so concurrent batches cannot deadlock) before reading their parts, so two daemons
receiving receipts for two parts of one message never both miss the last part. A batch costs
one statement for messages of one part, three (parts, lock, roll-up) when multipart
messages are in the batch, whatever its size.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from dispatcher.outbox.packing import numbers_sql, pack_numbers, pack_texts, texts_sql
from dispatcher.outbox.records import (
    PartOutcome,
    ReceiptRecord,
    ReceiptReport,
    check_part_statuses,
)
from dispatcher.status import MessageStatus


def chosen_outcomes_sql(source: str) -> str:
    """One outcome per part of `source`, which holds (outbox_id, part_index, status, state,
    error_code, text, at): of several for one part, the first final one wins (as it would had
    they come in separate batches), else the latest progress report."""
    return f"""
    SELECT DISTINCT ON (outbox_id, part_index) *
    FROM {source}
    ORDER BY outbox_id, part_index, status <> 'submitted' DESC,
             CASE WHEN status <> 'submitted' THEN at END ASC, at DESC
"""


def failure_text_sql(text: str, state: str, status: str) -> str:
    """The error_text a failed part gives its message (the columns named are the part's):
    the receipt's text, else its state word, else the part's status. The one rule for the
    three statements that make a message final from its parts: the receipts' (one part),
    `results`' (one part with its receipt in the batch) and the roll-up (any number)."""
    return f"coalesce({text}, {state}, {status})"


def _update_parts_sql(source: str) -> str:
    """The chosen outcomes of `source` applied to their parts; only parts still waiting
    change, so a final part keeps its first final outcome."""
    return f"""
chosen AS ({chosen_outcomes_sql(source)}),
updated AS (
    UPDATE dispatcher_part AS p
    SET status = c.status,
        receipt_state = c.state,
        receipt_error = c.error_code,
        receipt_text = c.text,
        receipt_at = c.at
    FROM chosen AS c
    WHERE p.outbox_id = c.outbox_id AND p.part_index = c.part_index AND p.status = 'submitted'
    RETURNING p.outbox_id, p.status, p.receipt_state AS state, p.receipt_error AS error_code,
              p.receipt_text AS text
)
"""


# receipts -> the newest part with their (account, id), or the pending table
_RECORD_RECEIPTS = f"""
WITH r AS (
    SELECT * FROM unnest({texts_sql(1)}, {texts_sql(2)}, {texts_sql(3)}, {texts_sql(4)},
                         {texts_sql(5)}, {texts_sql(6)}, $7::timestamptz[])
        WITH ORDINALITY AS r(account, message_id, status, state, error_code, text, at, ord)
),
matched AS (
    SELECT p.outbox_id, p.part_index, r.status, r.state, r.error_code, r.text, r.at, r.ord
    FROM r
    JOIN LATERAL (
        SELECT outbox_id, part_index FROM dispatcher_part AS p
        WHERE p.account = r.account AND p.message_id = r.message_id
        ORDER BY p.submitted_at DESC, p.outbox_id DESC
        LIMIT 1
    ) AS p ON true
),
kept AS (
    INSERT INTO dispatcher_pending_receipt
        (account, message_id, status, receipt_state, receipt_error, receipt_text, received_at)
    SELECT account, message_id, status, state, error_code, text, at FROM r
    WHERE NOT EXISTS (SELECT 1 FROM matched WHERE matched.ord = r.ord)
    RETURNING 1
),
{_update_parts_sql("matched")},
-- A message of one part takes its part's final outcome in this statement: no other part can
-- change beside it, so it needs neither the separate lock nor the roll-up of a multipart
-- message (about a third of the database's work per receipt). The outcome is _ROLL_UP's for
-- one part: delivered, or the part's failure with its code and text.
single AS (
    SELECT o.id, u.status, u.state, u.error_code, u.text
    FROM updated AS u JOIN outbox AS o ON o.id = u.outbox_id
    WHERE u.status <> 'submitted' AND o.parts = 1
    ORDER BY o.id
    FOR NO KEY UPDATE OF o
),
finished AS (
    UPDATE outbox AS o
    SET status = s.status,
        status_at = now(),
        done_at = now(),
        error_code = CASE WHEN s.status = 'delivered' THEN o.error_code ELSE s.error_code END,
        error_text = CASE WHEN s.status = 'delivered' THEN o.error_text
                          ELSE {failure_text_sql("s.text", "s.state", "s.status")} END
    FROM single AS s
    WHERE o.id = s.id AND o.status IN ('queued', 'sending', 'submitted')
    RETURNING o.id
)
SELECT (SELECT count(*) FROM matched) AS matched,
       (SELECT count(*) FROM kept) AS pending,
       (SELECT count(*) FROM finished) AS finished,
       (SELECT array_agg(id) FROM single) AS single_ids,
       (SELECT array_agg(DISTINCT outbox_id) FROM updated) AS message_ids
"""

# outcomes already tied to their part (status queries, receipts that were pending)
_APPLY_OUTCOMES = f"""
WITH o AS (
    SELECT * FROM unnest({numbers_sql(1, 'bigint')}, {numbers_sql(2, 'int')}, {texts_sql(3)},
                         {texts_sql(4)}, {texts_sql(5)}, {texts_sql(6)}, $7::timestamptz[])
        AS o(outbox_id, part_index, status, state, error_code, text, at)
),
{_update_parts_sql("o")}
SELECT array_agg(DISTINCT outbox_id) AS message_ids FROM updated
"""

_LOCK_MESSAGES = """
SELECT id FROM outbox WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE
"""

_ROLL_UP = f"""
WITH agg AS (
    SELECT p.outbox_id,
           count(*) AS parts,
           bool_and(p.status = 'delivered') AS all_delivered,
           (array_agg(p ORDER BY p.receipt_at, p.part_index)
                FILTER (WHERE p.status NOT IN ('submitted', 'delivered')))[1] AS failed
    FROM dispatcher_part AS p
    WHERE p.outbox_id = ANY($1::bigint[])
    GROUP BY p.outbox_id
)
UPDATE outbox AS o
SET status = coalesce((agg.failed).status, 'delivered'),
    status_at = now(),
    done_at = now(),
    error_code = CASE WHEN (agg.failed).status IS NULL THEN o.error_code
                      ELSE (agg.failed).receipt_error END,
    error_text = CASE WHEN (agg.failed).status IS NULL THEN o.error_text
        ELSE concat_ws(': ',
                       CASE WHEN agg.parts > 1
                            THEN format('part %s of %s', (agg.failed).part_index, agg.parts)
                       END,
                       {failure_text_sql("(agg.failed).receipt_text",
                                         "(agg.failed).receipt_state",
                                         "(agg.failed).status")}) END
FROM agg
WHERE o.id = agg.outbox_id
  AND o.status IN ('queued', 'sending', 'submitted')
  AND ((agg.failed).status IS NOT NULL OR agg.all_delivered)
RETURNING o.id
"""

_PENDING_COLUMNS = """
    r.status, r.receipt_state, r.receipt_error, r.receipt_text, r.received_at
"""

# the sweep: pending receipts whose part is known by now (several daemons may sweep at once)
_TAKE_PENDING = f"""
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


async def roll_up(connection: asyncpg.Connection, message_ids: Sequence[int] | None) -> int:
    """Give messages whose parts changed their status; returns how many became final.

    The messages are locked first, in id order: a concurrent transaction that changed another
    part of one of them commits before this roll-up reads the parts, so it is seen."""
    if not message_ids:
        return 0
    ordered = sorted(message_ids)
    await connection.execute(_LOCK_MESSAGES, ordered)
    finalised = await connection.fetch(_ROLL_UP, ordered)
    return len(finalised)


async def apply_outcomes(
    connection: asyncpg.Connection, outcomes: Sequence[PartOutcome]
) -> int:
    """Record outcomes of known parts and roll their messages up; returns how many messages
    became final. Runs inside the caller's transaction."""
    if not outcomes:
        return 0
    message_ids = await connection.fetchval(
        _APPLY_OUTCOMES,
        pack_numbers(outcome.outbox_id for outcome in outcomes),
        pack_numbers(outcome.part_index for outcome in outcomes),
        pack_texts([outcome.status for outcome in outcomes]),
        pack_texts([outcome.state for outcome in outcomes]),
        pack_texts([outcome.error_code for outcome in outcomes]),
        pack_texts([outcome.text for outcome in outcomes]),
        [outcome.at for outcome in outcomes],
    )
    return await roll_up(connection, message_ids)


def outcome_from_pending(row: asyncpg.Record) -> PartOutcome:
    """A pending receipt (as returned by the statements taking them) tied to its part."""
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
    """Apply receipts to their parts and messages, keep the others pending. Runs inside the
    caller's transaction: one statement, and two more for multipart messages, whatever the
    batch size."""
    if not receipts:
        return ReceiptReport(matched=0, pending=0, finalised=0)
    check_part_statuses(receipts)
    # the columns in one pass (a ReceiptRecord is a tuple of them)
    accounts, message_ids, statuses, received_at, states, error_codes, texts = zip(
        *receipts, strict=True
    )
    row = await connection.fetchrow(
        _RECORD_RECEIPTS,
        pack_texts(accounts),
        pack_texts(message_ids),
        pack_texts(statuses),
        pack_texts(states),
        pack_texts(error_codes),
        pack_texts(texts),
        received_at,
    )
    # (the set difference here: an anti-join of two CTEs is planned as a nested loop)
    multipart = set(row["message_ids"] or ()).difference(row["single_ids"] or ())
    finalised = row["finished"] + await roll_up(connection, list(multipart))
    return ReceiptReport(matched=row["matched"], pending=row["pending"], finalised=finalised)


async def match_pending(connection: asyncpg.Connection, limit: int) -> tuple[int, int]:
    """The sweep: apply up to `limit` pending receipts whose part is now known; returns
    (receipts matched, messages that became final)."""
    rows = await connection.fetch(_TAKE_PENDING, limit)
    finalised = await apply_outcomes(connection, [outcome_from_pending(row) for row in rows])
    return len(rows), finalised


async def drop_stale_pending(connection: asyncpg.Connection, max_age_seconds: float) -> int:
    """Forget receipts unmatched for longer than `max_age_seconds`; returns how many."""
    dropped: int = await connection.fetchval(_DROP_STALE_PENDING, max_age_seconds)
    return dropped
