"""Retrying database work across connection loss (PostgreSQL restarting, a network blip).

Only errors that say "the database was not reachable or aborted the transaction for reasons of
its own" are retried: connection failures, administrator shutdown, "the database system is
starting up", too many connections, deadlocks and serialization failures. Anything else (a
constraint violation, a bug in a statement) is raised at once. Every store operation is written
to be safe to run twice, because a commit whose acknowledgement was lost is retried too.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
import structlog

from dispatcher.clock import Clock

T = TypeVar("T")
log = structlog.get_logger(__name__)

RETRYABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable; TimeoutError of a connect is an OSError too
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, and "connection does not exist"
    asyncpg.exceptions.OperatorInterventionError,  # 57P01 admin shutdown, 57P03 starting up
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.TransactionRollbackError,  # 40001 serialization, 40P01 deadlock
    # a pooled connection that received the server's FATAL while idle is handed out before
    # its socket is seen closed, and its protocol refuses any use with this error
    asyncpg.exceptions.InternalClientError,
)
# asyncpg reports a pooled connection lost in the middle of an operation as an InterfaceError
# with one of these texts; other InterfaceErrors are programming errors and are not retried
_LOST_CONNECTION_TEXTS = ("connection is closed", "released back to the pool")


def is_retryable(error: BaseException) -> bool:
    """True for errors that mean "try again on a fresh connection".

    An error raised while cleaning up after such an error counts as one too: when a pooled
    connection dies mid-query, asyncpg's reset on release can fail with an internal protocol
    error that replaces (and chains) the connection error.
    """
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            return False
        if _retryable_itself(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _retryable_itself(error: BaseException) -> bool:
    if isinstance(error, RETRYABLE_ERRORS):
        return True
    return isinstance(error, asyncpg.InterfaceError) and any(
        text in str(error) for text in _LOST_CONNECTION_TEXTS
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off with jitter. `give_up_after=None` retries for as long as it takes
    (the daemon's default: results must not be dropped because PostgreSQL restarts)."""

    first_delay: float = 0.05
    max_delay: float = 5.0
    give_up_after: float | None = None


async def with_retry(
    operation: Callable[[], Awaitable[T]],
    *,
    clock: Clock,
    policy: RetryPolicy,
    name: str,
) -> T:
    """Run `operation` until it succeeds, sleeping on the clock between attempts."""
    started = clock.monotonic()
    delay = policy.first_delay
    attempt = 0
    while True:
        try:
            return await operation()
        except Exception as error:
            if not is_retryable(error):
                raise
            attempt += 1
            waited = clock.monotonic() - started
            if policy.give_up_after is not None and waited >= policy.give_up_after:
                raise
            # jitter spreads the reconnects of several daemons after a restart
            pause = delay * random.uniform(0.5, 1.0)
            log.warning(
                "outbox.retry",
                operation=name,
                attempt=attempt,
                error=f"{type(error).__name__}: {error}",
                retry_in=round(pause, 3),
            )
            await clock.sleep(pause)
            delay = min(delay * 2, policy.max_delay)
