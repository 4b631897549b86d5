"""Routing SMSC-originated deliver_sm (receipts and MO) to an account's rx/trx sessions.

A deliver_sm goes to one bound receiver of its system_id, round robin; a batch (the receipts
due at one timer tick) takes one turn, so the batch's deliver_sm of one account go out on one
session in one write (spread over every receiver, a burst cost up to one write per session).
With none bound a deliver_sm waits, in order, until one binds. One the client did not
acknowledge before its connection closed goes out again: a real SMSC keeps a receipt until it
is acknowledged, so a client may see a receipt twice but never lose one.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from dispatcher.smsc_sim.records import DeliverKind


@dataclass(slots=True, eq=False)
class OutboundDeliver:
    system_id: str
    body: bytes  # the deliver_sm after its header; the session that sends it numbers it
    kind: DeliverKind
    message_id: str | None = None  # the receipted id
    on_ack: Callable[[int], None] | None = None  # called with the deliver_sm_resp status


class Receiver(Protocol):
    def send_delivers(self, items: list[OutboundDeliver]) -> None: ...


class DeliveryRouter:
    def __init__(self) -> None:
        self._receivers: dict[str, list[Receiver]] = defaultdict(list)
        self._turn: dict[str, int] = defaultdict(int)
        self._waiting: dict[str, deque[OutboundDeliver]] = defaultdict(deque)

    def add_receiver(self, system_id: str, receiver: Receiver) -> None:
        self._receivers[system_id].append(receiver)
        waiting = self._waiting.pop(system_id, None)
        while waiting:
            self.deliver(waiting.popleft())

    def remove_receiver(self, system_id: str, receiver: Receiver) -> None:
        receivers = self._receivers.get(system_id)
        if receivers and receiver in receivers:
            receivers.remove(receiver)

    def has_receiver(self, system_id: str) -> bool:
        return bool(self._receivers.get(system_id))

    def deliver(self, item: OutboundDeliver) -> None:
        self._deliver_to_account(item.system_id, [item])

    def deliver_batch(self, items: list[OutboundDeliver]) -> None:
        """Deliver `items` in order, those of one account on one receiver (one turn)."""
        if not items:
            return
        system_id = items[0].system_id
        for item in items:
            if item.system_id != system_id:
                break
        else:  # the usual batch: one account
            self._deliver_to_account(system_id, items)
            return
        by_account: dict[str, list[OutboundDeliver]] = defaultdict(list)
        for item in items:
            by_account[item.system_id].append(item)
        for system_id, account_items in by_account.items():
            self._deliver_to_account(system_id, account_items)

    def _deliver_to_account(self, system_id: str, items: list[OutboundDeliver]) -> None:
        receivers = self._receivers.get(system_id)
        if not receivers:
            self._waiting[system_id].extend(items)
            return
        turn = self._turn[system_id]
        self._turn[system_id] = turn + 1
        receivers[turn % len(receivers)].send_delivers(items)

    def waiting(self, system_id: str | None = None) -> int:
        """deliver_sm held because no receiver of the account is bound."""
        if system_id is not None:
            return len(self._waiting.get(system_id, ()))
        return sum(len(queue) for queue in self._waiting.values())
