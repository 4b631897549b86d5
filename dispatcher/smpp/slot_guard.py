"""Who may open a session slot of an account.

The provider allows 4 sessions per account (seed 004_80a28bca441860d4.txt L2922-2923). One
daemon never opens more than its settings say; when several daemons share an account, the
daemon plugs in a guard backed by PostgreSQL advisory locks so the limit holds across them.
"""

from __future__ import annotations

from typing import Protocol


class SlotGuard(Protocol):
    async def acquire(self, account: str, slot: int) -> None:
        """Return once this process may open `slot` of `account` (wait as long as needed)."""

    async def release(self, account: str, slot: int) -> None:
        """The slot's connection is closed; another holder may take it."""


class AlwaysGranted:
    """The default guard for a single daemon: its own settings already cap the binds."""

    async def acquire(self, account: str, slot: int) -> None:
        return None

    async def release(self, account: str, slot: int) -> None:
        return None
