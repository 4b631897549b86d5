"""The platform's side of the incoming-SMS push (seed 004 chapter 11, L6011-6017, L6046-6080):
it calls the client's "external handler" URL with the message and reads an optional reply.

The request carries sourcePhone, number, prefix, text and messageId (L6052-6058); the method is
not stated, so the pusher sends a GET with a query string (the literal reading) unless told to
POST a form. An answer `{sms=<text>}` (L6073-6077) means "send this reply SMS", recorded in
`replies`. No answer within 30 s is retried at once, an error answer after 300 s (L6015-6017);
the seed names no limit, the pusher stops after `attempts`.

`await MoPusher(url, clock=...).push(platform.receive_mo(...))` triggers one push.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

import aiohttp

from dispatcher.clock import Clock, SystemClock
from dispatcher.provider_sim.devino_platform import IncomingSim

ANSWER_TIMEOUT_SECONDS: Final = 30.0  # seed L6015-6016
RETRY_AFTER_ERROR_SECONDS: Final = 300.0  # seed L6016-6017
DEFAULT_ATTEMPTS: Final = 3  # our bound; the seed names none
_REPLY: Final = re.compile(r"\{sms=(.*)\}", re.DOTALL)


@dataclass(frozen=True)
class PushAttempt:
    message_id: int
    status: int | None  # None: no answer in time, or no connection
    body: str


@dataclass
class MoPusher:
    url: str
    clock: Clock = field(default_factory=SystemClock)
    method: str = "GET"  # or "POST" (a form body)
    attempts: int = DEFAULT_ATTEMPTS
    answer_timeout_seconds: float = ANSWER_TIMEOUT_SECONDS
    retry_after_error_seconds: float = RETRY_AFTER_ERROR_SECONDS
    history: list[PushAttempt] = field(default_factory=list)
    replies: dict[int, str] = field(default_factory=dict)  # message id -> reply text

    async def push(self, message: IncomingSim) -> str | None:
        """Push one message until a 200 answer (or `attempts` run out); the reply text the
        handler gave, if any."""
        fields = {
            "sourcePhone": message.source,
            "number": message.destination,
            "prefix": message.prefix,
            "text": message.text,
            "messageId": str(message.id),
        }
        for attempt in range(self.attempts):
            status, body = await self._call(fields)
            self.history.append(PushAttempt(message.id, status, body))
            if status == 200:
                match = _REPLY.fullmatch(body.strip())
                if match is None:
                    return None
                self.replies[message.id] = match.group(1)
                return match.group(1)
            if status is not None and attempt + 1 < self.attempts:
                await self.clock.sleep(self.retry_after_error_seconds)
        return None

    async def _call(self, fields: dict[str, str]) -> tuple[int | None, str]:
        timeout = aiohttp.ClientTimeout(total=self.clock.real_seconds(self.answer_timeout_seconds))
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                if self.method == "POST":
                    request = http.post(self.url, data=fields)
                else:
                    request = http.get(self.url, params=fields)
                async with request as response:
                    return response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError):
            return None, ""
