"""Where every sender puts what happened to a message: accepted, final, or back to the queue.

One object for the SMPP, fallback and Viber senders, so a result is written (batched) and
counted (`smpp_dispatcher_messages_total{route, provider, status}`) the same way whichever
route carried the message.
"""

from __future__ import annotations

from collections.abc import Sequence

from dispatcher.daemon.batch_writer import BatchWriter
from dispatcher.fast_metrics import CounterChild
from dispatcher.metrics import Metrics
from dispatcher.outbox.records import (
    CorrelationRecord,
    FinalResult,
    ReceiptRecord,
    Release,
    Submission,
)
from dispatcher.status import MessageStatus

# A message put back after "in doubt" or "not sent" waits this long before its next claim, so
# a failing session or provider does not spin on the same rows.
REQUEUE_DELAY_SECONDS = 1.0
# An Enum member's .value costs 0.3 µs on Python 3.11: counted once per message accepted.
_SUBMITTED = MessageStatus.SUBMITTED.value


class ResultSinks:
    def __init__(
        self,
        submitted: BatchWriter[CorrelationRecord],
        final: BatchWriter[FinalResult],
        released: BatchWriter[Release],
        metrics: Metrics,
    ) -> None:
        self.submitted_writer = submitted
        self.final_writer = final
        self.released_writer = released
        self._metrics = metrics
        self._counters: dict[tuple[str, str, str], CounterChild] = {}

    def submitted(self, submission: Submission, route: str) -> None:
        """The provider accepted it (the row becomes `submitted`, waiting for its receipt)."""
        self.submitted_writer.add(submission)
        key = (route, submission.provider, _SUBMITTED)  # `_count`, inline: once per message
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self._metrics.messages.labels(*key)
        counter.inc()

    def final(
        self, outbox_id: int, status: MessageStatus, code: str | None, text: str | None,
        provider: str, route: str,
    ) -> None:
        self.final_writer.add(FinalResult(outbox_id, status, code, text, provider))
        self._count(route, provider, status.value)

    def release(self, outbox_id: int, text: str, code: str | None = None) -> None:
        """Back to the queue after REQUEUE_DELAY_SECONDS, the reason visible on the row."""
        self.released_writer.add(
            Release(outbox_id, REQUEUE_DELAY_SECONDS, error_code=code, error_text=text))

    def _count(self, route: str, provider: str, status: str) -> None:
        key = (route, provider, status)
        counter = self._counters.get(key)
        if counter is None:  # a labels() call per message would cost more than the inc()
            counter = self._counters[key] = self._metrics.messages.labels(*key)
        counter.inc()


def split_correlation(
    batch: Sequence[CorrelationRecord],
) -> tuple[list[Submission], list[ReceiptRecord]]:
    """A results batch as `OutboxStore.record_results` takes it."""
    submissions: list[Submission] = []
    receipts: list[ReceiptRecord] = []
    for item in batch:
        if isinstance(item, Submission):
            submissions.append(item)
        else:
            receipts.append(item)
    return submissions, receipts
