"""Devino HLR HTTP API (seed 004 chapter 16, L9663-9769): ask the network whether numbers
exist and are reachable, and which country and operator they belong to.

`Hlr/SendBulk` starts a lookup for at most 200 numbers (L9701-9704) and answers one request
id per number (L9715), mapped back by position; `Hlr/State` answers the results per id
(L9717-9769), polled here with a growing pause until every number has a final state or the
lookup's validity has passed. The calls ride on a REST client's authentication: the session
variant `/rest/Hlr/...` with a v1 client, login and password `/rest/v2/Hlr/...` with a v2
client (L9672-9678); spec ch. 16 ambiguity 7 prefers the session variant (no password in
URLs).

The result of each number is classified (`NumberVerdict`): StateCode 3 "subscriber does not
exist" is DEAD, the one verdict a route may act on by skipping the number (spec "What the
dispatcher needs" §2); 2 "temporarily unavailable" is UNREACHABLE, a reason to keep it.

Seed references are lines of `seeds/004_80a28bca441860d4.txt`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Final, Protocol

import structlog

from dispatcher.clock import Clock, SystemClock
from dispatcher.fallback.devino_batch import (
    DevinoApiError,
    RequestInDoubt,
    RequestNotSent,
    channel_error,
)
from dispatcher.fallback.devino_codes import ErrorAction

log = structlog.get_logger(__name__)

MAX_NUMBERS_PER_REQUEST: Final = 200  # seed L9701-9704; used for State as well (amb. 5)
# seed L9708: Validity (minutes) is required; the example uses 5 (L9683).
DEFAULT_VALIDITY_MINUTES: Final = 5
# Our choices (the seed gives no polling interval, amb. 5): the first look after 2 s, then
# twice as long each time, at most a minute apart.
FIRST_POLL_SECONDS: Final = 2.0
MAX_POLL_SECONDS: Final = 60.0
# seed L9704: "79031234567;+79031234567;89031234567".
_NUMBER: Final = re.compile(r"\+?[0-9]{10,15}")


class NumberVerdict(StrEnum):
    PENDING = "pending"  # StateCode 0: still being asked
    ALIVE = "alive"  # 1: subscriber available
    UNREACHABLE = "unreachable"  # 2: exists, temporarily unavailable: keep the number
    DEAD = "dead"  # 3: does not exist: a route may skip it
    UNKNOWN = "unknown"  # 4 request error, 99 unknown, undocumented, or no answer in time
    INVALID = "invalid"  # not a number: refused without asking, or refused by the provider


@dataclass(frozen=True, slots=True)
class HlrState:
    code: int
    description: str
    verdict: NumberVerdict


# seed L9762-9769 (the StateCode table; amb. 1: trust the code, not StateDesc).
HLR_STATES: Final[dict[int, HlrState]] = {
    s.code: s
    for s in (
        HlrState(0, "Отправляется", NumberVerdict.PENDING),
        HlrState(1, "Абонент доступен", NumberVerdict.ALIVE),
        HlrState(2, "Абонент временно недоступен", NumberVerdict.UNREACHABLE),
        HlrState(3, "Абонент не существует", NumberVerdict.DEAD),
        HlrState(4, "Ошибка запроса", NumberVerdict.UNKNOWN),
        HlrState(99, "Неизвестно", NumberVerdict.UNKNOWN),
    )
}


def classify(state_code: int) -> NumberVerdict:
    state = HLR_STATES.get(state_code)
    return state.verdict if state is not None else NumberVerdict.UNKNOWN


@dataclass(frozen=True, slots=True)
class HlrResult:
    number: str  # as it was given
    verdict: NumberVerdict
    request_id: str | None = None
    state_code: int | None = None  # the raw StateCode
    description: str | None = None  # StateDesc, or why there is no state
    country: str | None = None
    operator: str | None = None

    @property
    def is_final(self) -> bool:
        return self.verdict is not NumberVerdict.PENDING

    @property
    def is_dead(self) -> bool:
        return self.verdict is NumberVerdict.DEAD


class RestApi(Protocol):
    """The authenticated REST access HLR needs (`DevinoRestV1Sender`/`V2Sender.call_api`)."""

    name: str

    async def call_api(self, method: str, resource: str, params: list[tuple[str, str]]) -> Any: ...


class DevinoHlrClient:
    def __init__(
        self,
        rest: RestApi,
        *,
        clock: Clock | None = None,
        validity_minutes: int = DEFAULT_VALIDITY_MINUTES,
        first_poll_seconds: float = FIRST_POLL_SECONDS,
        max_poll_seconds: float = MAX_POLL_SECONDS,
    ) -> None:
        if validity_minutes < 1:
            raise ValueError("HLR validity must be at least 1 minute")
        self._rest = rest
        self._clock = clock or SystemClock()
        self._validity_minutes = validity_minutes
        self._first_poll = first_poll_seconds
        self._max_poll = max_poll_seconds

    def __repr__(self) -> str:
        return f"DevinoHlrClient(rest={self._rest.name!r})"

    async def lookup(self, numbers: Sequence[str]) -> list[HlrResult]:
        """Submit the numbers and poll until each has a final verdict; those still pending
        when the validity has passed are UNKNOWN. One result per number, in order."""
        results = await self.submit(numbers)
        deadline = self._clock.monotonic() + self._validity_minutes * 60.0
        pause = self._first_poll
        while any(not r.is_final for r in results) and self._clock.monotonic() < deadline:
            await self._clock.sleep(min(pause, max(0.0, deadline - self._clock.monotonic())))
            pause = min(pause * 2, self._max_poll)
            results = await self.refresh(results)
        return [
            r
            if r.is_final
            else replace(r, verdict=NumberVerdict.UNKNOWN, description="no result in time")
            for r in results
        ]

    async def submit(self, numbers: Sequence[str]) -> list[HlrResult]:
        """`Hlr/SendBulk` in requests of at most 200 numbers (seed L9667-9715). Numbers that
        are not numbers are INVALID without asking; a request refused for a bad number is
        repeated number by number to find it. Raises ChannelError for channel-level errors
        (credentials, money, access)."""
        results: list[HlrResult] = []
        valid: list[int] = []
        for index, number in enumerate(numbers):
            if _NUMBER.fullmatch(number.strip()):
                valid.append(index)
                results.append(HlrResult(number, NumberVerdict.PENDING))
            else:
                results.append(
                    HlrResult(number, NumberVerdict.INVALID, description="not a phone number")
                )
        for start in range(0, len(valid), MAX_NUMBERS_PER_REQUEST):
            chunk = valid[start : start + MAX_NUMBERS_PER_REQUEST]
            await self._submit_chunk(results, chunk)
        return results

    async def refresh(self, results: Sequence[HlrResult]) -> list[HlrResult]:
        """`Hlr/State` for every pending result with a request id (at most 200 ids per
        request, repeated `messageIds`, seed L9727-9733); the others are returned as they are."""
        updated = list(results)
        pending = [i for i, r in enumerate(results) if not r.is_final and r.request_id]
        for start in range(0, len(pending), MAX_NUMBERS_PER_REQUEST):
            chunk = pending[start : start + MAX_NUMBERS_PER_REQUEST]
            params = [("messageIds", str(updated[i].request_id)) for i in chunk]
            try:
                answer = await self._rest.call_api("GET", "Hlr/State", params)
            except DevinoApiError as error:
                self._raise_if_channel(error)
                log.warning("hlr_state_error", provider=self._rest.name, code=error.code)
                continue
            except (RequestNotSent, RequestInDoubt) as error:
                log.warning("hlr_state_unanswered", provider=self._rest.name, reason=str(error))
                continue
            self._apply_states(updated, chunk, answer)
        return updated

    # --- internals ----------------------------------------------------------------------------

    async def _submit_chunk(self, results: list[HlrResult], chunk: list[int]) -> None:
        params = [("DestinationAddresses", results[i].number.strip()) for i in chunk]
        params.append(("Validity", str(self._validity_minutes)))
        try:
            answer = await self._rest.call_api("POST", "Hlr/SendBulk", params)
        except DevinoApiError as error:
            self._raise_if_channel(error)
            if error.action is ErrorAction.REJECT and len(chunk) > 1:
                for index in chunk:
                    await self._submit_chunk(results, [index])
                return
            refused = error.action is ErrorAction.REJECT
            verdict = NumberVerdict.INVALID if refused else NumberVerdict.UNKNOWN
            self._settle(results, chunk, verdict, f"refused: {error.text}")
            return
        except (RequestNotSent, RequestInDoubt) as error:
            self._settle(results, chunk, NumberVerdict.UNKNOWN, f"not asked: {error}")
            return
        ids = answer if isinstance(answer, list) else None
        if ids is None or len(ids) != len(chunk) or not all(isinstance(i, str | int) for i in ids):
            count = len(ids) if ids is not None else "no"
            log.warning("hlr_ids_unmapped", provider=self._rest.name, numbers=len(chunk))
            text = f"{count} ids for {len(chunk)} numbers cannot be mapped"
            self._settle(results, chunk, NumberVerdict.UNKNOWN, text)
            return
        for index, request_id in zip(chunk, ids, strict=True):
            results[index] = replace(results[index], request_id=str(request_id))

    def _apply_states(self, results: list[HlrResult], chunk: list[int], answer: Any) -> None:
        entries = [
            {str(k).lower(): v for k, v in item.items()}
            for item in (answer if isinstance(answer, list) else [])
            if isinstance(item, dict)
        ]
        by_id = {str(e["messageid"]): e for e in entries if "messageid" in e}
        by_number = {_digits(str(e.get("destinationaddress", ""))): e for e in entries}
        for index in chunk:
            result = results[index]
            entry = by_id.get(str(result.request_id)) or by_number.get(_digits(result.number))
            if entry is None:
                continue  # not answered yet: asked again on the next round
            code = _integer(entry.get("statecode"))
            if code is None:
                continue
            results[index] = replace(
                result,
                verdict=classify(code),
                state_code=code,
                description=_text(entry.get("statedesc")),
                country=_text(entry.get("country")),
                operator=_text(entry.get("mobileoperator")),
            )

    def _settle(
        self, results: list[HlrResult], chunk: list[int], verdict: NumberVerdict, text: str
    ) -> None:
        for index in chunk:
            results[index] = replace(results[index], verdict=verdict, description=text)

    def _raise_if_channel(self, error: DevinoApiError) -> None:
        if error.action in (
            ErrorAction.STOP_CHANNEL,
            ErrorAction.PAUSE_CHANNEL,
            ErrorAction.RENEW_SESSION,
        ):
            raise channel_error(self._rest.name, error) from None


def _digits(number: str) -> str:
    """The number for matching: digits only, a national 8 read as 7 (seed L9704)."""
    digits = "".join(c for c in number if c.isdigit())
    return "7" + digits[1:] if len(digits) == 11 and digits.startswith("8") else digits


def _integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
