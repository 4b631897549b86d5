"""Writing what providers answered: messages accepted (with their parts) and final outcomes.

Results are facts, so they are recorded whoever holds the row's lease now (a daemon that lost
its lease still reports what the provider said). Final statuses are never overwritten: every
statement here only touches rows that are not final yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import asyncpg

from dispatcher.outbox.packing import numbers_sql, pack_numbers, pack_texts, texts_sql
from dispatcher.outbox.receipts import (
    apply_outcomes,
    outcome_from_pending,
    record_receipts,
    roll_up,
)
from dispatcher.outbox.records import (
    FinalResult,
    ReceiptRecord,
    ReceiptReport,
    Submission,
    SubmittedPart,
    check_part_statuses,
)
from dispatcher.status import MessageStatus

# One statement: the rows become submitted, their parts are recorded, and receipts that came
# before the parts are taken out of the pending table (applied by the caller in the same
# transaction). Parts are recorded even for a message that became final meanwhile, so its late
# receipts are kept on the part. The same id recorded again (a retried batch) changes nothing;
# a new id for a part (the message was sent again) replaces the old one.
# A receipt written in the same batch as its part (see `fold_receipts`) goes into the part's
# insert, and a message of one part takes its final status here at once: the row skips its
# `submitted` version, and the receipt its lookup, its part update and its row's lock and
# update (about 40 % of the database's work per message when receipts come within a batch).
# The batch statements here and in claims.py and receipts.py join the unnested arrays with
# the table on its key, which the store's random_page_cost (store.py) has planned as one index
# lookup per row at every size measured. They carry no `id = ANY($1)` beside the join any
# more: when the planner used that as the filter of a nested loop, every row was compared with
# the whole array (a receipt batch of 3,000 took half a second instead of 0.1).
_MARK_SUBMITTED = f"""
WITH submitted AS (
    UPDATE outbox AS o
    SET status = coalesce(s.status, 'submitted'),
        status_at = now(),
        submitted_at = now(),
        done_at = CASE WHEN s.status IS NULL THEN o.done_at ELSE now() END,
        provider = s.provider,
        parts = s.segments,
        error_code = s.error_code,
        error_text = s.error_text,
        dispatcher_lease_owner = NULL,
        dispatcher_lease_until = NULL,
        dispatcher_written_at = NULL
    FROM unnest({numbers_sql(1, 'bigint')}, {texts_sql(2)}, {numbers_sql(3, 'int')},
                {texts_sql(4)}, {texts_sql(5)}, {texts_sql(6)})
         AS s(id, provider, segments, status, error_code, error_text)
    WHERE o.id = s.id AND o.status IN ('queued', 'sending')
    RETURNING o.status
),
recorded AS (
    INSERT INTO dispatcher_part (outbox_id, part_index, account, message_id, raw_message_id,
                                 status, receipt_state, receipt_error, receipt_text, receipt_at)
    SELECT p.outbox_id, p.part_index, p.account, p.message_id, p.raw_message_id,
           coalesce(p.status, 'submitted'), p.state, p.error_code, p.text, p.at
    FROM unnest({numbers_sql(7, 'bigint')}, {numbers_sql(8, 'smallint')}, {texts_sql(9)},
                {texts_sql(10)}, {texts_sql(11)}, {texts_sql(12)}, {texts_sql(13)},
                {texts_sql(14)}, {texts_sql(15)}, {texts_sql(16)}::timestamptz[])
         AS p(outbox_id, part_index, account, message_id, raw_message_id,
              status, state, error_code, text, at)
    WHERE EXISTS (SELECT 1 FROM outbox AS o WHERE o.id = p.outbox_id)
    ON CONFLICT (outbox_id, part_index) DO UPDATE
    SET account = excluded.account,
        message_id = excluded.message_id,
        raw_message_id = excluded.raw_message_id,
        status = excluded.status,
        submitted_at = now(),
        receipt_state = excluded.receipt_state,
        receipt_error = excluded.receipt_error,
        receipt_text = excluded.receipt_text,
        receipt_at = excluded.receipt_at,
        queried_at = NULL,
        query_count = 0
    WHERE (dispatcher_part.account, dispatcher_part.message_id)
          IS DISTINCT FROM (excluded.account, excluded.message_id)
    RETURNING outbox_id, part_index, account, message_id
),
early AS (
    DELETE FROM dispatcher_pending_receipt AS r
    USING recorded AS p
    WHERE r.account = p.account AND r.message_id = p.message_id
    RETURNING p.outbox_id, p.part_index, r.status, r.receipt_state, r.receipt_error,
              r.receipt_text, r.received_at
)
-- one row at least, for the count; then the early receipts, if any
SELECT f.finished, e.*
FROM (SELECT count(*) FILTER (WHERE status <> 'submitted') AS finished FROM submitted) AS f
LEFT JOIN early AS e ON true
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


PartKey = tuple[int, int]  # (outbox_id, part_index)


def fold_receipts(
    parts: Mapping[PartKey, SubmittedPart], receipts: Sequence[ReceiptRecord]
) -> tuple[dict[PartKey, ReceiptRecord], list[ReceiptRecord]]:
    """Split a batch's receipts into those for a part recorded in the same batch, written
    with the part, and the rest, matched after the parts are in. Only a part's one receipt
    in the batch is folded, and only when no other part in the batch carries its id: several
    receipts for a part keep the receipts' rule for choosing among them, and an id given
    twice keeps the rule for choosing the part."""
    if not receipts or not parts:
        return {}, list(receipts)
    place_of: dict[tuple[str, str], PartKey | None] = {}
    for place, part in parts.items():
        key = (part.account, part.message_id)
        place_of[key] = None if key in place_of else place
    receipts_of: dict[tuple[str, str], int] = {}
    for receipt in receipts:
        key = (receipt.account, receipt.message_id)
        receipts_of[key] = receipts_of.get(key, 0) + 1
    folded: dict[PartKey, ReceiptRecord] = {}
    rest: list[ReceiptRecord] = []
    for receipt in receipts:
        key = (receipt.account, receipt.message_id)
        part_of_receipt = place_of.get(key)
        if part_of_receipt is not None and receipts_of[key] == 1:
            folded[part_of_receipt] = receipt
        else:
            rest.append(receipt)
    return folded, rest


async def record_results(
    connection: asyncpg.Connection,
    submissions: Sequence[Submission],
    receipts: Sequence[ReceiptRecord],
) -> ReceiptReport:
    """Rows become `submitted` with their parts, then the receipts are applied: those for
    parts in this batch with the parts (see `fold_receipts`), the others as
    `receipts.record_receipts` does. Receipts that were waiting for these parts in the pending
    table are applied too. Runs inside the caller's transaction."""
    check_part_statuses(receipts)
    by_id = {submission.outbox_id: submission for submission in submissions}
    parts: dict[PartKey, SubmittedPart] = {}
    for submission in by_id.values():
        for part in submission.parts:
            parts[(submission.outbox_id, part.part_index)] = part
    folded, rest = fold_receipts(parts, receipts)
    finalised = await _mark_submitted(connection, by_id, parts, folded) if by_id else 0
    report = await record_receipts(connection, rest)
    return ReceiptReport(matched=report.matched + len(folded), pending=report.pending,
                         finalised=report.finalised + finalised)


async def _mark_submitted(
    connection: asyncpg.Connection,
    by_id: Mapping[int, Submission],
    parts: Mapping[PartKey, SubmittedPart],
    folded: Mapping[PartKey, ReceiptRecord],
) -> int:
    """One statement, and more only for early or folded receipts that need a roll-up;
    returns how many messages became final."""
    # A message of one part takes its receipt's final outcome as `receipts.record_receipts`
    # gives it (delivered, or the part's failure with its code and text); a multipart message
    # is rolled up once its parts are in.
    single_outcomes: dict[int, ReceiptRecord] = {}
    to_roll_up: set[int] = set()
    for (outbox_id, _), receipt in folded.items():
        if receipt.status != MessageStatus.SUBMITTED:
            if len(by_id[outbox_id].parts) == 1:
                single_outcomes[outbox_id] = receipt
            else:
                to_roll_up.add(outbox_id)
    final_statuses: list[str | None] = []
    error_codes: list[str | None] = []
    error_texts: list[str | None] = []
    for outbox_id in by_id:
        outcome = single_outcomes.get(outbox_id)
        failed = outcome is not None and outcome.status != MessageStatus.DELIVERED
        final_statuses.append(outcome.status if outcome is not None else None)
        error_codes.append(outcome.error_code if failed and outcome is not None else None)
        error_texts.append(_failure_text(outcome) if failed and outcome is not None else None)
    receipts = [folded.get(place) for place in parts]
    rows = await connection.fetch(
        _MARK_SUBMITTED,
        pack_numbers(by_id),
        pack_texts([submission.provider for submission in by_id.values()]),
        pack_numbers(
            submission.segments if submission.segments is not None else len(submission.parts)
            for submission in by_id.values()
        ),
        pack_texts(final_statuses),
        pack_texts(error_codes),
        pack_texts(error_texts),
        pack_numbers(outbox_id for outbox_id, _ in parts),
        pack_numbers(part_index for _, part_index in parts),
        pack_texts([part.account for part in parts.values()]),
        pack_texts([part.message_id for part in parts.values()]),
        pack_texts([part.raw_message_id for part in parts.values()]),
        pack_texts([r.status if r is not None else None for r in receipts]),
        pack_texts([r.state if r is not None else None for r in receipts]),
        pack_texts([r.error_code if r is not None else None for r in receipts]),
        pack_texts([r.text if r is not None else None for r in receipts]),
        pack_texts([r.received_at.isoformat() if r is not None else None for r in receipts]),
    )
    finalised: int = rows[0]["finished"]
    early = [outcome_from_pending(row) for row in rows if row["outbox_id"] is not None]
    # An early receipt for a part whose folded receipt was final changes nothing: a part's
    # first final outcome stays, as with receipts written one batch after another.
    finalised += await apply_outcomes(connection, early)
    return finalised + await roll_up(connection, list(to_roll_up))


def _failure_text(receipt: ReceiptRecord) -> str:
    """The error_text of a message of one part that failed: as the receipts' statement
    writes it (the receipt's text, else its state word, else the status)."""
    if receipt.text is not None:
        return receipt.text
    return receipt.state if receipt.state is not None else str(receipt.status)


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
