"""Helpers for the resilience tests: a planned mix of messages whose final status follows from
the simulator's fault rules, bulk inserts, bounded waits, and the checks every resilience test
makes on what the simulator saw.

The duplicate bound checked here is the one `dispatcher/outbox/claims.py` documents: a message
is sent more than once only after an in-doubt event (a crash, or a connection lost between
`mark_written` and the provider's answer), once per such event. Each in-doubt event sends the
row back to the queue, so its next send is a new claim: a row claimed once (attempts = 1) was
accepted at most once, and a row is never accepted more often than it was claimed.
"""

from __future__ import annotations

import asyncio
import enum
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import asyncpg

from dispatcher.smsc_sim import SimConfig, SmscSimulator
from pdu.constants import CommandStatus
from pdu.segmentation import count_parts

FINAL_STATUSES = frozenset(
    {"delivered", "undeliverable", "expired", "rejected", "failed", "unknown"})


class Fault(enum.Enum):
    """What the simulator does to a message's destination."""

    NONE = "none"
    INVALID = "invalid"  # ESME_RINVDSTADR on every try: final, never resent
    QUEUE_FULL_ALWAYS = "queue_full_always"  # ESME_RMSGQFUL on every try
    QUEUE_FULL_ONCE = "queue_full_once"  # ESME_RMSGQFUL on the first try only
    UNDELIVERABLE = "undeliverable"  # receipt UNDELIV
    EXPIRED = "expired"  # receipt EXPIRED

    @property
    def expected_status(self) -> str:
        """The final status the fault dictates."""
        return _EXPECTED_STATUS[self]


_EXPECTED_STATUS = {
    Fault.NONE: "delivered",
    Fault.INVALID: "rejected",  # seed 004 L2959-2960: never resent
    Fault.QUEUE_FULL_ALWAYS: "failed",  # after the bounded retries, seed 004 L2965-2969
    Fault.QUEUE_FULL_ONCE: "delivered",
    Fault.UNDELIVERABLE: "undeliverable",
    Fault.EXPIRED: "expired",
}


# Fault destinations carry single-part bodies, so the number of submits each fault causes is
# exact (the parts of a multipart message are pipelined: several may be on the wire before
# the first refusal comes back).
_FAULT_CYCLE = (Fault.INVALID, Fault.QUEUE_FULL_ALWAYS, Fault.QUEUE_FULL_ONCE,
                Fault.UNDELIVERABLE, Fault.EXPIRED)
_SINGLE_PART_FAULTS = frozenset({Fault.INVALID, Fault.QUEUE_FULL_ALWAYS, Fault.QUEUE_FULL_ONCE})


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    destination: str
    body: str
    fault: Fault

    @property
    def parts(self) -> int:
        return count_parts(self.body)


def body_for(index: int, *, single_part: bool) -> str:
    """A body unique to `index`: Latin, Cyrillic, GSM escapes, emoji, and (unless
    `single_part`) long texts of two, three and four parts."""
    short = (
        f"Hello {index}, your code is {index * 7 % 10000:04d}",
        f"Привет {index}, ваш код {index * 3 % 10000:04d}",
        f"{{€}} [~] ^|\\ escapes {index}",
        f"emoji 😀 {index}",
    )
    long = (
        f"long latin {index} " + "lorem ipsum dolor sit amet " * 8,  # 2 GSM parts
        f"длинный {index} " + "съешь ещё этих мягких булок " * 6,  # 3 UCS-2 parts
        f"emoji {index} " + "😀 😎 " * 40,  # 4 parts, surrogate pairs at part boundaries
    )
    kinds = short if single_part else short + long
    return kinds[index % len(kinds)]


def plan_messages(
    count: int, *, fault_every: int = 25, prefix: str = "7900"
) -> list[PlannedMessage]:
    """`count` messages to distinct destinations; of every `fault_every`, one of each fault."""
    plan = []
    for index in range(count):
        slot = index % fault_every
        fault = _FAULT_CYCLE[slot] if slot < len(_FAULT_CYCLE) else Fault.NONE
        plan.append(PlannedMessage(
            destination=f"{prefix}{index:07d}",
            body=body_for(index, single_part=fault in _SINGLE_PART_FAULTS),
            fault=fault,
        ))
    return plan


def apply_faults(config: SimConfig, plan: Iterable[PlannedMessage]) -> None:
    """Install the per-destination rules that make each planned message's fault happen."""
    faults = config.faults
    for message in plan:
        if message.fault is Fault.INVALID:
            faults.invalid_destinations.add(message.destination)
        elif message.fault is Fault.QUEUE_FULL_ALWAYS:
            faults.status_by_destination[message.destination] = CommandStatus.ESME_RMSGQFUL
        elif message.fault is Fault.QUEUE_FULL_ONCE:
            faults.queue_full_first[message.destination] = 1
        elif message.fault is Fault.UNDELIVERABLE:
            config.receipt_state_by_destination[message.destination] = "UNDELIV"
        elif message.fault is Fault.EXPIRED:
            config.receipt_state_by_destination[message.destination] = "EXPIRED"


async def insert_messages(db: asyncpg.Connection, plan: Sequence[PlannedMessage]) -> None:
    """One COPY for the whole plan, as a bulk producer would load it."""
    await db.copy_records_to_table(
        "outbox", records=[(m.destination, m.body) for m in plan],
        columns=["destination", "body"])


async def wait_for(
    predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.01
) -> None:
    """Poll `predicate` (real seconds, bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


async def wait_all_final(db: asyncpg.Connection, count: int, timeout: float) -> None:
    """Until `count` rows are final (real seconds, bounded); the error shows what is left."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        done = await db.fetchval(
            "SELECT count(*) FROM outbox WHERE status = ANY($1)", list(FINAL_STATUSES))
        if done >= count:
            return
        if loop.time() > deadline:
            rows = await db.fetch(
                "SELECT status, left(error_text, 80) AS error, count(*) FROM outbox"
                " WHERE NOT status = ANY($1) GROUP BY 1, 2", list(FINAL_STATUSES))
            raise AssertionError(
                f"only {done}/{count} rows final after {timeout} s; the rest: "
                f"{[tuple(r) for r in rows]}")
        await asyncio.sleep(0.05)


@dataclass(frozen=True, slots=True)
class SentRow:
    destination: str
    body: str
    status: str
    attempts: int
    error_code: str | None
    error_text: str | None


async def rows_by_destination(db: asyncpg.Connection) -> dict[str, SentRow]:
    rows = await db.fetch(
        "SELECT destination, body, status, attempts, error_code, error_text FROM outbox")
    return {r["destination"]: SentRow(**dict(r)) for r in rows}


def submits_by_destination(
    simulator: SmscSimulator, command_status: int | None = None
) -> Counter[str]:
    """The submits the simulator received (each part; those answered `command_status`, or
    all), per destination."""
    return Counter(s.destination_addr for s in simulator.recording.submits
                   if command_status is None or s.command_status == command_status)


def check_sent_once_or_in_doubt(
    simulator: SmscSimulator, rows: dict[str, SentRow], *, in_doubt_limit: int
) -> list[str]:
    """The delivery guarantee: a row claimed once was accepted at most once, a row claimed
    again at most once per claim, and no more messages were accepted twice than could be in
    doubt when the fault struck (`in_doubt_limit`). Returns the destinations accepted more
    than once."""
    accepted = simulator.recording.accepted_counts
    duplicated = []
    for row in rows.values():
        times = accepted[(row.destination, row.body)]
        if times > 1:
            duplicated.append(row.destination)
            assert row.attempts > 1, (
                f"{row.destination} accepted {times} times but claimed only once")
        assert times <= row.attempts, (
            f"{row.destination} accepted {times} times in {row.attempts} claims")
    assert len(duplicated) <= in_doubt_limit, (
        f"{len(duplicated)} messages accepted twice, more than the {in_doubt_limit} that "
        "could be in doubt")
    return duplicated


def check_rejoined(simulator: SmscSimulator, rows: dict[str, SentRow]) -> None:
    """Every accepted message re-joined, at the simulator, to exactly the body of its row."""
    for message in simulator.recording.messages:
        row = rows.get(message.destination)
        assert row is not None, f"the simulator got a message for {message.destination}"
        assert message.text == row.body, (
            f"{message.destination}: re-joined {message.text!r}, sent {row.body!r}")


# seed 004 L2955-2957 groups parts per system_id; the simulator reports a part it already has
# for an incomplete message like this (dispatcher/smsc_sim/rejoin.py)
_PART_SENT_TWICE = re.compile(r"part to (\d+): ref \d+ part \d+ of \d+ sent twice")


def unexpected_violations(simulator: SmscSimulator, rows: dict[str, SentRow]) -> list[str]:
    """The simulator's violations, except a part sent again for a multipart message whose row
    was in doubt: the drop cut the message after some of its parts, and the resend of the
    whole message (at-least-once) repeats those parts."""
    unexpected = []
    for violation in simulator.recording.violations:
        repeated = _PART_SENT_TWICE.fullmatch(violation)
        row = rows.get(repeated.group(1)) if repeated else None
        if row is None or row.attempts < 2:
            unexpected.append(violation)
    return unexpected
