"""The two legs of Viber messages (`dispatcher_viber_leg`) and finding sent parts by the
provider's id (for status polls and callbacks).

A Viber message is recorded like any provider message: one part whose account names the
channel and the provider (`viber:NAME` or `viber_sms:NAME`, see
`dispatcher.daemon.viber_sender`) and whose message id is the provider's id. Its legs' latest
statuses are kept here; the message's own final status goes through the part, like a receipt
(`receipts.apply_outcomes`), so the outbox row is rolled up by the usual rules. A final leg
status never changes: callbacks and polls come at least once and out of order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from dispatcher.outbox import receipts
from dispatcher.outbox.records import PartOutcome
from dispatcher.status import MessageStatus

LEGS = ("viber", "sms")


@dataclass(frozen=True, slots=True)
class LegRecord:
    outbox_id: int
    leg: str  # one of LEGS
    status: MessageStatus  # SUBMITTED while in progress
    state: str | None = None  # the provider's raw state
    detail: str | None = None  # the provider's error code or description
    ids: tuple[str, ...] = ()  # the SMS leg's segment ids

    def __post_init__(self) -> None:
        if self.leg not in LEGS:
            raise ValueError(f"{self.leg!r} is not a Viber message leg")


@dataclass(frozen=True, slots=True)
class PartRef:
    """A sent part found by the provider's id."""

    outbox_id: int
    part_index: int
    account: str
    provider_id: str  # as the provider gave it


# Only a leg still in progress changes (a final one keeps its first final status); a report
# that says less (a re-sent message's status carries only its SMS states) keeps what was known.
_UPSERT_LEGS = """
INSERT INTO dispatcher_viber_leg AS l (outbox_id, leg, status, state, detail, ids)
SELECT outbox_id, leg, status, state, detail,
       coalesce(string_to_array(nullif(ids, ''), ','), '{}')
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
     AS n(outbox_id, leg, status, state, detail, ids)
ON CONFLICT (outbox_id, leg) DO UPDATE
SET status = excluded.status, state = coalesce(excluded.state, l.state),
    detail = coalesce(excluded.detail, l.detail),
    ids = CASE WHEN excluded.ids = '{}' THEN l.ids ELSE excluded.ids END, updated_at = now()
WHERE l.status = 'submitted'
"""

_FIND_PARTS = """
SELECT outbox_id, part_index, account, raw_message_id FROM dispatcher_part
WHERE account = ANY($1::text[]) AND message_id = ANY($2::text[])
"""

_LEGS = """
SELECT outbox_id, leg, status, state, detail, ids FROM dispatcher_viber_leg
WHERE outbox_id = ANY($1::bigint[])
"""


def _latest_per_leg(legs: Sequence[LegRecord]) -> list[LegRecord]:
    """One record per (message, leg) for one statement: the first final one, else the last."""
    chosen: dict[tuple[int, str], LegRecord] = {}
    for leg in legs:
        key = (leg.outbox_id, leg.leg)
        current = chosen.get(key)
        if current is None or not current.status.is_final:
            chosen[key] = leg
    return list(chosen.values())


async def record_legs(
    connection: asyncpg.Connection, legs: Sequence[LegRecord], outcomes: Sequence[PartOutcome]
) -> int:
    """Keep the legs' statuses and apply the messages' final outcomes to their parts; returns
    how many messages became final. Runs inside the caller's transaction."""
    legs = _latest_per_leg(legs)
    if legs:
        await connection.execute(
            _UPSERT_LEGS,
            [leg.outbox_id for leg in legs],
            [leg.leg for leg in legs],
            [leg.status.value for leg in legs],
            [leg.state for leg in legs],
            [leg.detail for leg in legs],
            [",".join(leg.ids) for leg in legs],
        )
    return await receipts.apply_outcomes(connection, outcomes)


async def find_parts(
    connection: asyncpg.Connection, accounts: Sequence[str], provider_ids: Sequence[str]
) -> list[PartRef]:
    """The parts these accounts sent under these provider ids."""
    if not accounts or not provider_ids:
        return []
    rows = await connection.fetch(_FIND_PARTS, list(accounts), list(provider_ids))
    return [PartRef(r["outbox_id"], r["part_index"], r["account"], r["raw_message_id"])
            for r in rows]


async def legs_of(
    connection: asyncpg.Connection, outbox_ids: Sequence[int]
) -> dict[int, dict[str, LegRecord]]:
    """The recorded legs of these messages: outbox id -> leg name -> record."""
    if not outbox_ids:
        return {}
    found: dict[int, dict[str, LegRecord]] = {}
    for r in await connection.fetch(_LEGS, list(outbox_ids)):
        found.setdefault(r["outbox_id"], {})[r["leg"]] = LegRecord(
            r["outbox_id"], r["leg"], MessageStatus(r["status"]), r["state"], r["detail"],
            tuple(r["ids"]))
    return found
