"""Balance and statistics of every configured provider, read side by side.

The building blocks behind `smpp-dispatcher balance`, `smpp-dispatcher stats --from --to` and
the balance gauge: each provider is asked concurrently, within a time limit, and whatever one
of them answers (or fails to) becomes a reading of its own, so one provider that is down or
refuses the credentials never hides the others. `BalanceWatcher` repeats the balance reading
on a timer of the injected clock and hands each reading to a callback (the gauge).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

import structlog

from dispatcher.clock import Clock, SystemClock
from dispatcher.fallback.base import Balance, ChannelError
from dispatcher.fallback.devino_codes import DevinoStatistics

log = structlog.get_logger(__name__)

# Our choices: how long one provider may take to answer, and how often the gauge is refreshed.
DEFAULT_READ_TIMEOUT_SECONDS = 30.0
DEFAULT_BALANCE_INTERVAL_SECONDS = 300.0

T = TypeVar("T")


class HasBalance(Protocol):
    name: str

    async def balance(self) -> Balance: ...


class HasStatistics(Protocol):
    name: str

    async def statistics(self, start: datetime, end: datetime) -> DevinoStatistics: ...


@dataclass(frozen=True, slots=True)
class Reading(Generic[T]):
    provider: str
    value: T | None  # None when `error` says why
    error: str | None = None


async def read_balances(
    providers: Sequence[HasBalance],
    *,
    clock: Clock | None = None,
    timeout_seconds: float = DEFAULT_READ_TIMEOUT_SECONDS,
) -> list[Reading[Balance]]:
    """One reading per provider, in order; never raises."""
    return await _read_all(
        [(p.name, p.balance) for p in providers], clock or SystemClock(), timeout_seconds
    )


async def read_statistics(
    providers: Sequence[HasStatistics],
    start: datetime,
    end: datetime,
    *,
    clock: Clock | None = None,
    timeout_seconds: float = DEFAULT_READ_TIMEOUT_SECONDS,
) -> list[Reading[DevinoStatistics]]:
    """One reading per provider for [start, end], in order; never raises. A period the
    provider refuses (over 90 days for Devino) is an error reading."""

    def asking(provider: HasStatistics) -> Callable[[], Awaitable[DevinoStatistics]]:
        return lambda: provider.statistics(start, end)

    return await _read_all(
        [(p.name, asking(p)) for p in providers], clock or SystemClock(), timeout_seconds
    )


class BalanceWatcher:
    """Reads every provider's balance every `interval_seconds` and hands each reading to
    `on_reading` (a gauge setter, say). `run` loops until cancelled."""

    def __init__(
        self,
        providers: Sequence[HasBalance],
        on_reading: Callable[[Reading[Balance]], None],
        *,
        clock: Clock | None = None,
        interval_seconds: float = DEFAULT_BALANCE_INTERVAL_SECONDS,
        timeout_seconds: float = DEFAULT_READ_TIMEOUT_SECONDS,
    ) -> None:
        self._providers = providers
        self._on_reading = on_reading
        self._clock = clock or SystemClock()
        self._interval = interval_seconds
        self._timeout = timeout_seconds

    async def refresh(self) -> list[Reading[Balance]]:
        readings = await read_balances(
            self._providers, clock=self._clock, timeout_seconds=self._timeout
        )
        for reading in readings:
            self._on_reading(reading)
        return readings

    async def run(self) -> None:
        while True:
            await self.refresh()
            await self._clock.sleep(self._interval)


async def _read_all(
    calls: Sequence[tuple[str, Callable[[], Awaitable[T]]]], clock: Clock, timeout: float
) -> list[Reading[T]]:
    async def one(name: str, call: Callable[[], Awaitable[T]]) -> Reading[T]:
        try:
            value: T = await clock.wait_for(call(), timeout)
        except TimeoutError:
            return Reading(name, None, f"no answer within {timeout:g} s")
        except ChannelError as error:
            return Reading(name, None, str(error))
        except ValueError as error:  # a request the client refuses to make
            return Reading(name, None, str(error))
        except Exception as error:
            log.exception("provider_reading_failed", provider=name)
            return Reading(name, None, f"failed ({type(error).__name__})")
        return Reading(name, value)

    return list(await asyncio.gather(*(one(name, call) for name, call in calls)))
