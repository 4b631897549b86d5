"""The command_status a submit gets: exact per-destination rules first, then seeded fractions.

The statuses are the three a provider answers under load or for a bad number, each with the
client behaviour the seed demands (seed 004_80a28bca441860d4.txt):
- ESME_RINVDSTADR: delete, never resend (L2959-2960);
- ESME_RTHROTTLED: requeue, pause that connection 1 s (L2962-2963);
- ESME_RMSGQFUL: end of queue, 3-5 more tries at 5/15/45 s (L2965-2969).
"""

from __future__ import annotations

import random

from dispatcher.smsc_sim.config import FaultConfig, SimConfig
from pdu.constants import CommandStatus


class SubmitPolicy:
    def __init__(self, config: SimConfig) -> None:
        # The config, not its FaultConfig: a test may swap `config.faults` while running.
        self._config = config
        self._random = random.Random(config.seed)
        # Tries so far of each destination a throttle_first / queue_full_first rule names. The
        # rest are not counted: nothing reads their tries, and a count per destination would
        # grow by one entry for nearly every submit, for good.
        self._tries: dict[str, int] = {}

    def answer(self, destination: str | None) -> tuple[int, float]:
        """The status and the response delay of one submit to `destination`."""
        faults = self._config.faults
        # has_destination_rules() or has_rates(), written out: this is once per submit_sm
        if (
            faults.status_by_destination
            or faults.invalid_destinations
            or faults.throttle_first
            or faults.queue_full_first
            or faults.response_delay_by_destination
            or faults.throttle_rate > 0
            or faults.queue_full_rate > 0
            or faults.invalid_rate > 0
        ):
            return self.status_for(destination), self.response_delay(destination)
        return CommandStatus.ESME_ROK, faults.response_delay

    def status_for(self, destination: str | None) -> int:
        """The answer for one submit to `destination` (None when the body was not decoded,
        which the caller only does when no per-destination rule is set)."""
        faults = self._config.faults
        if destination is not None and (
            faults.status_by_destination
            or faults.invalid_destinations
            or faults.throttle_first
            or faults.queue_full_first
        ):
            status = self._rule_status(faults, destination)
            if status is not None:
                return status
        if not faults.has_rates():
            return CommandStatus.ESME_ROK
        draw = self._random.random()
        if draw < faults.throttle_rate:
            return CommandStatus.ESME_RTHROTTLED
        draw -= faults.throttle_rate
        if draw < faults.queue_full_rate:
            return CommandStatus.ESME_RMSGQFUL
        draw -= faults.queue_full_rate
        if draw < faults.invalid_rate:
            return CommandStatus.ESME_RINVDSTADR
        return CommandStatus.ESME_ROK

    def _rule_status(self, faults: FaultConfig, destination: str) -> int | None:
        """The status a per-destination rule gives this submit, or None (no rule applies)."""
        throttled_tries = faults.throttle_first.get(destination, 0)
        queue_full_tries = faults.queue_full_first.get(destination, 0)
        tries = 0
        if throttled_tries or queue_full_tries:
            tries = self._tries.get(destination, 0) + 1
            self._tries[destination] = tries
        fixed = faults.status_by_destination.get(destination)
        if fixed is not None:
            return fixed
        if destination in faults.invalid_destinations:
            return CommandStatus.ESME_RINVDSTADR
        if 0 < tries <= throttled_tries:
            return CommandStatus.ESME_RTHROTTLED
        if 0 < tries <= queue_full_tries:
            return CommandStatus.ESME_RMSGQFUL
        return None

    def response_delay(self, destination: str | None) -> float:
        faults = self._config.faults
        delay = faults.response_delay
        if destination is not None and faults.response_delay_by_destination:
            delay += faults.response_delay_by_destination.get(destination, 0.0)
        return delay
