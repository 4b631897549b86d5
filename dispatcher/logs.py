"""Logging: JSON lines on stdout through structlog (journald picks them up).

One event per line with stable keys (`event`, `level`, `timestamp`, then the event's own
fields). Secrets never reach a line: values of keys named like secrets are replaced, and every
configured secret value is scrubbed from every string field as a last line of defence. Phone
numbers and message bodies can be masked by configuration.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

REDACTED = "[redacted]"
_SECRET_KEY_PARTS = ("password", "secret", "token", "session_id", "sessionid", "dsn")
_NUMBER_KEYS = frozenset({"destination", "source", "phone", "msisdn", "destination_addr"})
_BODY_KEYS = frozenset({"body", "text", "short_message"})

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}


def mask_number(number: str) -> str:
    """7903***4567: enough to tell numbers apart in an incident, not enough to dial."""
    if len(number) <= 7:
        return "*" * len(number)
    return f"{number[:4]}***{number[-4:]}"


class _Scrubber:
    """A structlog processor removing secrets and, if asked, numbers and bodies."""

    def __init__(self, secrets: Iterable[str], mask_numbers: bool, mask_bodies: bool) -> None:
        self.secrets = sorted({s for s in secrets if len(s) >= 3}, key=len, reverse=True)
        self.mask_numbers = mask_numbers
        self.mask_bodies = mask_bodies

    def __call__(
        self, logger: Any, method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in list(event.items()):
            lowered = key.lower()
            if any(part in lowered for part in _SECRET_KEY_PARTS):
                event[key] = REDACTED
                continue
            if self.mask_numbers and lowered in _NUMBER_KEYS and isinstance(value, str):
                event[key] = mask_number(value)
                continue
            if self.mask_bodies and lowered in _BODY_KEYS and isinstance(value, str | bytes):
                event[key] = f"<{len(value)} chars>"
                continue
            if isinstance(value, str) and self.secrets:
                event[key] = self._scrub(value)
        return event

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


def configure_logging(
    level: str = "info",
    *,
    secrets: Iterable[str] = (),
    mask_numbers: bool = False,
    mask_bodies: bool = False,
    stream: TextIO | None = None,
) -> None:
    """Send every structlog event (and stdlib logging) as JSON lines to `stream` (stdout)."""
    output = stream or sys.stdout
    scrubber = _Scrubber(secrets, mask_numbers, mask_bodies)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            scrubber,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(output),
        cache_logger_on_first_use=False,
    )
    # Libraries logging through the standard library (asyncio, aiohttp) get the same JSON.
    handler = logging.StreamHandler(output)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                scrubber,
                structlog.processors.JSONRenderer(),
            ],
            foreign_pre_chain=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.format_exc_info,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(_LEVELS[level], logging.WARNING))
