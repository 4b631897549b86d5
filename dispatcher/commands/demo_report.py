"""What the demo shows: the live progress line and the closing summary, read from the outbox
(the producers' view) and from the daemon's own metrics (what the SMSC did to it)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from dispatcher.metrics import Metrics
from dispatcher.status import FINAL_STATUSES, MessageStatus

_SHORT_NAMES = {
    MessageStatus.QUEUED: "queued",
    MessageStatus.SENDING: "sending",
    MessageStatus.SUBMITTED: "submitted",
    MessageStatus.DELIVERED: "delivered",
    MessageStatus.UNDELIVERABLE: "undeliv",
    MessageStatus.EXPIRED: "expired",
    MessageStatus.REJECTED: "rejected",
    MessageStatus.FAILED: "failed",
    MessageStatus.UNKNOWN: "unknown",
}


async def status_counts(connection: asyncpg.Connection) -> Counter[MessageStatus]:
    rows = await connection.fetch("SELECT status, count(*) AS n FROM outbox GROUP BY status")
    return Counter({MessageStatus(row["status"]): row["n"] for row in rows})


def final_count(counts: Counter[MessageStatus]) -> int:
    return sum(n for status, n in counts.items() if status in FINAL_STATUSES)


def progress_text(counts: Counter[MessageStatus], total: int, elapsed: float) -> str:
    """`demo 12,345/20,000 final  1,234 msg/s  delivered 11,000 ...` (non-zero statuses)."""
    final = final_count(counts)
    rate = final / elapsed if elapsed > 0 else 0.0
    statuses = "  ".join(
        f"{_SHORT_NAMES[status]} {counts[status]:,}" for status in MessageStatus if counts[status]
    )
    return f"demo {final:,}/{total:,} final  {rate:,.0f} msg/s  {elapsed:4.1f} s  {statuses}"


@dataclass(frozen=True, slots=True)
class DemoSummary:
    total: int
    seconds: float  # from the daemon's start until the last row was final
    statuses: Counter[MessageStatus]
    rejected_by_smsc: int  # the simulator refused the number (ESME_RINVDSTADR)
    rejected_by_validation: int  # the row broke a rule; never sent
    parts: int  # SMS parts accepted by the SMSC
    receipts_matched: int  # parts whose receipt was matched to them
    receipts_unmatched: int  # receipts still waiting for their part
    multipart_messages: int
    multipart_parts: int
    throttle_pauses: int
    queue_full_retries: int
    throttle_pause_seconds: float  # how long a throttled session stops
    queue_full_delays: Sequence[float]  # seconds before the 1st, 2nd, ... queue-full retry


async def collect_summary(
    connection: asyncpg.Connection,
    metrics: Metrics,
    *,
    total: int,
    seconds: float,
    throttle_pause_seconds: float,
    queue_full_delays: Sequence[float],
) -> DemoSummary:
    statuses = await status_counts(connection)
    rejected = await connection.fetchrow(
        "SELECT count(*) FILTER (WHERE provider IS NOT NULL) AS by_smsc,"
        " count(*) FILTER (WHERE provider IS NULL) AS by_validation"
        " FROM outbox WHERE status = 'rejected'")
    parts = await connection.fetchrow(
        "SELECT count(*) AS parts, count(*) FILTER (WHERE receipt_at IS NOT NULL) AS matched"
        " FROM dispatcher_part")
    multipart = await connection.fetchrow(
        "SELECT count(*) AS messages, coalesce(sum(parts), 0) AS parts"
        " FROM outbox WHERE parts > 1 AND submitted_at IS NOT NULL")
    unmatched: int = await connection.fetchval("SELECT count(*) FROM dispatcher_pending_receipt")
    return DemoSummary(
        total=total,
        seconds=seconds,
        statuses=statuses,
        rejected_by_smsc=rejected["by_smsc"],
        rejected_by_validation=rejected["by_validation"],
        parts=parts["parts"],
        receipts_matched=parts["matched"],
        receipts_unmatched=unmatched,
        multipart_messages=multipart["messages"],
        multipart_parts=multipart["parts"],
        throttle_pauses=_metric_total(metrics, "smpp_dispatcher_throttle_pauses_total"),
        queue_full_retries=_metric_total(metrics, "smpp_dispatcher_queue_full_retries_total"),
        throttle_pause_seconds=throttle_pause_seconds,
        queue_full_delays=queue_full_delays,
    )


def _metric_total(metrics: Metrics, name: str) -> int:
    """The sum of a counter over all its label values."""
    return int(sum(
        sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name == name
    ))


def render_summary(summary: DemoSummary) -> str:
    rate = summary.total / summary.seconds if summary.seconds > 0 else 0.0
    lines = [
        "Summary",
        f"  messages       {summary.total:>8,}  final in {summary.seconds:.1f} s "
        f"({rate:,.0f} messages/s)",
    ]
    for status in MessageStatus:
        count = summary.statuses[status]
        if not count:
            continue
        line = f"  {status.value:<14} {count:>8,}"
        if status is MessageStatus.REJECTED:
            line += (f"  (the SMSC refused the number: {summary.rejected_by_smsc:,}; "
                     f"failed validation, never sent: {summary.rejected_by_validation:,})")
        lines.append(line)
    lines += [
        f"  receipts       {summary.receipts_matched:>8,}  matched of {summary.parts:,} parts "
        f"accepted; {summary.receipts_unmatched:,} unmatched",
        f"  multipart      {summary.multipart_messages:>8,}  messages sent as "
        f"{summary.multipart_parts:,} parts",
        f"  SMSC faults    throttled {summary.throttle_pauses:,} times (that session paused "
        f"{summary.throttle_pause_seconds:g} s), queue full {summary.queue_full_retries:,} "
        f"times (retried {', '.join(f'{d:g}' for d in summary.queue_full_delays)}, ... s later)",
    ]
    return "\n".join(lines)
