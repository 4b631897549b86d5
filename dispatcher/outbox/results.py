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
    chosen_outcomes_sql,
    failure_text_sql,
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

# One statement: the rows become submitted and their parts are recorded, each part with its
# receipt when one came in the same batch (see `fold_receipts`) or earlier and waited in the
# pending table (taken out here). A message of one part with a final receipt takes its final
# status at once: the row skips its `submitted` version, and the receipt its lookup, its part
# update and its row's lock and update (about 40 % of the database's work per message when
# receipts come within a batch). Several receipts for one part (a pending one and one in the
# batch) are chosen between as everywhere (`receipts.chosen_outcomes_sql`). Parts are recorded
# even for a message that became final meanwhile, so its late receipts are kept on the part.
# The same id recorded again (a retried batch) changes nothing; a new id for a part (the
# message was sent again) replaces the old one. The statement returns how many messages it
# made final and the multipart messages to roll up.
# The batch statements here and in claims.py and receipts.py join the unnested arrays with
# the table on its key, which the store's random_page_cost (store.py) has planned as one index
# lookup per row at every size measured. They carry no `id = ANY($1)` beside the join any
# more: when the planner used that as the filter of a nested loop, every row was compared with
# the whole array (a receipt batch of 3,000 took half a second instead of 0.1).
_MARK_SUBMITTED = f"""
WITH part AS (
    SELECT * FROM unnest({numbers_sql(12, 'bigint')}, {numbers_sql(13, 'smallint')},
                         {texts_sql(14)}, {texts_sql(15)}, {texts_sql(16)})
        AS p(outbox_id, part_index, account, message_id, raw_message_id)
),
early AS (
    DELETE FROM dispatcher_pending_receipt AS r
    USING part AS p
    WHERE r.account = p.account AND r.message_id = p.message_id
    RETURNING p.outbox_id, p.part_index, r.status, r.receipt_state AS state,
              r.receipt_error AS error_code, r.receipt_text AS text, r.received_at AS at
),
folded AS (
    SELECT * FROM unnest({numbers_sql(5, 'bigint')}, {numbers_sql(6, 'smallint')},
                         {texts_sql(7)}, {texts_sql(8)}, {texts_sql(9)}, {texts_sql(10)},
                         {texts_sql(11)}::timestamptz[])
        AS f(outbox_id, part_index, status, state, error_code, text, at)
),
receipt AS ({chosen_outcomes_sql("(SELECT * FROM folded UNION ALL SELECT * FROM early) AS r")}),
-- a message of one part with a final receipt: the outcome `receipts.record_receipts` gives
-- it (delivered, or the part's failure with its code and text)
message AS (
    SELECT s.id, s.provider, s.segments, s.parts_sent, r.status AS final_status,
           CASE WHEN r.status <> 'delivered' THEN r.error_code END AS error_code,
           CASE WHEN r.status <> 'delivered'
                THEN {failure_text_sql("r.text", "r.state", "r.status")} END AS error_text
    FROM unnest({numbers_sql(1, 'bigint')}, {texts_sql(2)}, {numbers_sql(3, 'int')},
                {numbers_sql(4, 'int')})
         AS s(id, provider, segments, parts_sent)
    LEFT JOIN receipt AS r
           ON r.outbox_id = s.id AND s.parts_sent = 1 AND r.status <> 'submitted'
),
submitted AS (
    UPDATE outbox AS o
    SET status = coalesce(m.final_status, 'submitted'),
        status_at = now(),
        submitted_at = now(),
        done_at = CASE WHEN m.final_status IS NULL THEN o.done_at ELSE now() END,
        provider = m.provider,
        parts = m.segments,
        error_code = m.error_code,
        error_text = m.error_text,
        dispatcher_lease_owner = NULL,
        dispatcher_lease_until = NULL,
        dispatcher_written_at = NULL
    FROM message AS m
    WHERE o.id = m.id AND o.status IN ('queued', 'sending')
    RETURNING o.status
),
recorded AS (
    INSERT INTO dispatcher_part (outbox_id, part_index, account, message_id, raw_message_id,
                                 status, receipt_state, receipt_error, receipt_text, receipt_at)
    SELECT p.outbox_id, p.part_index, p.account, p.message_id, p.raw_message_id,
           coalesce(r.status, 'submitted'), r.state, r.error_code, r.text, r.at
    FROM part AS p
    LEFT JOIN receipt AS r ON r.outbox_id = p.outbox_id AND r.part_index = p.part_index
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
)
SELECT (SELECT count(*) FILTER (WHERE status <> 'submitted') FROM submitted) AS finished,
       (SELECT array_agg(DISTINCT r.outbox_id)
        FROM receipt AS r JOIN message AS m ON m.id = r.outbox_id
        WHERE m.parts_sent > 1 AND r.status <> 'submitted') AS to_roll_up
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
    # by id alone (cheaper than an (account, id) tuple per part); the account is compared
    # below, and the same id from two accounts in one batch is simply not folded
    part_of: dict[str, tuple[PartKey, str] | None] = {}
    for place, part in parts.items():
        message_id = part.message_id
        part_of[message_id] = None if message_id in part_of else (place, part.account)
    folded: dict[PartKey, ReceiptRecord] = {}
    rest: list[ReceiptRecord] = []
    for receipt in receipts:
        found = part_of.get(receipt.message_id)
        if found is None or found[1] != receipt.account:
            rest.append(receipt)
            continue
        place = found[0]
        earlier = folded.pop(place, None)
        if earlier is None:
            folded[place] = receipt
        else:  # a second receipt for the part: neither is folded, nor any later one
            rest.append(earlier)
            rest.append(receipt)
            part_of[receipt.message_id] = None
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
    by_id = {submission.outbox_id: submission for submission in submissions}
    parts: dict[PartKey, SubmittedPart] = {}
    for submission in by_id.values():
        for part in submission.parts:
            parts[(submission.outbox_id, part.part_index)] = part
    folded, rest = fold_receipts(parts, receipts)
    check_part_statuses(list(folded.values()))  # the rest are checked by record_receipts
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
    """One statement, and the two of a roll-up when multipart messages got a final receipt;
    returns how many messages became final."""
    if folded:
        # the columns in one pass (a ReceiptRecord is a tuple of them); a batch's receipts
        # mostly share a few arrival times, each formatted once
        _, _, statuses, received_at, states, error_codes, texts = zip(
            *folded.values(), strict=True)
        formatted = {at: at.isoformat() for at in set(received_at)}
        receipt_outbox_ids, receipt_part_indexes = zip(*folded, strict=True)
    else:
        statuses = received_at = states = error_codes = texts = ()
        receipt_outbox_ids = receipt_part_indexes = ()
        formatted = {}
    # the columns by transposing the records (NamedTuples) in C, not one genexpr each
    outbox_ids, providers, sent_parts, given_segments = zip(*by_id.values(), strict=True)
    parts_sent = list(map(len, sent_parts))
    segments = (parts_sent if given_segments.count(None) == len(given_segments) else
                [given if given is not None else sent
                 for given, sent in zip(given_segments, parts_sent, strict=True)])
    part_outbox_ids, part_numbers = zip(*parts, strict=True)
    _, accounts, message_ids, raw_message_ids = zip(*parts.values(), strict=True)
    row = await connection.fetchrow(
        _MARK_SUBMITTED,
        pack_numbers(outbox_ids),
        pack_texts(providers),
        pack_numbers(segments),
        pack_numbers(parts_sent),
        pack_numbers(receipt_outbox_ids),
        pack_numbers(receipt_part_indexes),
        pack_texts(statuses),
        pack_texts(states),
        pack_texts(error_codes),
        pack_texts(texts),
        pack_texts([formatted[at] for at in received_at]),
        pack_numbers(part_outbox_ids),
        pack_numbers(part_numbers),
        pack_texts(accounts),
        pack_texts(message_ids),
        pack_texts(raw_message_ids),
    )
    finalised: int = row["finished"]
    return finalised + await roll_up(connection, row["to_roll_up"])


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
