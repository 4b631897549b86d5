"""The demo's traffic: a repeatable mix of the messages a bulk SMS platform sends, plus the
bad ones it must survive.

Every kind appears at least once whenever the demo has at least as many messages as there are
kinds, so a short run (`--messages 300`) still shows each behaviour. The order is shuffled
(seeded), as real traffic would be.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from dispatcher.commands.outbox_rows import DEFAULT_PRIORITY, DEFAULT_ROUTE, OutboxRecord

# The simulator answers ESME_RINVDSTADR for these numbers (passed to it with
# --invalid-destination), so the daemon marks such messages `rejected` and never resends them.
INVALID_DESTINATIONS = tuple(f"7999000000{n}" for n in range(1, 6))


@dataclass(frozen=True, slots=True)
class Kind:
    name: str  # as the demo reports it
    weight: float  # share of the messages
    make: Callable[[random.Random, int], OutboxRecord]


def _record(
    destination: str | None, body: str | None, *, source: str | None = None,
    validity: int | None = None, priority: int = DEFAULT_PRIORITY,
) -> OutboxRecord:
    return OutboxRecord(destination, body, source, DEFAULT_ROUTE, priority, None, validity, None)


def _number(rng: random.Random) -> str:
    while True:
        number = f"79{rng.randrange(10**9):09d}"
        if number not in INVALID_DESTINATIONS:
            return number


def _latin(rng: random.Random, n: int) -> OutboxRecord:
    return _record(_number(rng), f"Your code is {rng.randrange(10**6):06d}. Order #{n} ships "
                                 "today.")


def _cyrillic(rng: random.Random, n: int) -> OutboxRecord:
    return _record(_number(rng), f"Ваш код {rng.randrange(10**6):06d}. Заказ №{n} отправлен.")


def _long_latin(rng: random.Random, n: int) -> OutboxRecord:
    # 417 to 470 GSM characters: three or four UDH parts of 153
    text = (f"Dear customer, order #{n} is confirmed. " * 11).strip()
    return _record(_number(rng), text, priority=1)


def _long_cyrillic(rng: random.Random, n: int) -> OutboxRecord:
    # 199 to 230 UCS-2 characters: three or four parts of 67
    text = (f"Уважаемый клиент, заказ №{n} подтверждён. " * 5).strip()
    return _record(_number(rng), text)


def _emoji(rng: random.Random, n: int) -> OutboxRecord:
    # characters outside the BMP: UTF-16 surrogate pairs in UCS-2
    return _record(_number(rng), f"Happy birthday 🎉🎂 — gift #{n} inside 🎁")


def _gsm_extension(rng: random.Random, n: int) -> OutboxRecord:
    # characters of the GSM 7-bit extension table (two septets each)
    return _record(_number(rng), f"Total: 12€ [promo {{A{n}}}] ~ see ^terms^ | thanks\\")


def _invalid_number(rng: random.Random, n: int) -> OutboxRecord:
    return _record(rng.choice(INVALID_DESTINATIONS), f"To a number the network refuses #{n}")


# Rows breaking one rule each of dispatcher.outbox.validation: `rejected` before sending.
_MALFORMED: tuple[Callable[[random.Random, int], OutboxRecord], ...] = (
    lambda rng, n: _record(f"+7 903 ABC-{n}", "destination with letters"),
    lambda rng, n: _record(_number(rng), ""),
    lambda rng, n: _record("1234", "a destination far too short"),
    lambda rng, n: _record(_number(rng), "a sender too long", source="AVeryLongSenderName"),
    lambda rng, n: _record(_number(rng), "a validity below 60 s", validity=30),
    lambda rng, n: _record(_number(rng), "x" * 2000),  # more parts than the route allows
)


def _malformed(rng: random.Random, n: int) -> OutboxRecord:
    return _MALFORMED[n % len(_MALFORMED)](rng, n)


INVALID_NUMBER_KIND = "to invalid numbers"
MALFORMED_KIND = "malformed"
KINDS = (
    Kind("Latin", 0.39, _latin),
    Kind("Cyrillic", 0.25, _cyrillic),
    Kind("long Latin (multipart)", 0.10, _long_latin),
    Kind("long Cyrillic (multipart)", 0.08, _long_cyrillic),
    Kind("emoji", 0.10, _emoji),
    Kind("GSM extension characters", 0.04, _gsm_extension),
    Kind(INVALID_NUMBER_KIND, 0.01, _invalid_number),
    Kind(MALFORMED_KIND, 0.03, _malformed),
)


def demo_records(total: int, seed: int = 1) -> tuple[list[OutboxRecord], Counter[str]]:
    """`total` records in a shuffled, repeatable order, and how many there are of each kind."""
    counts = _allocate(total)
    rng = random.Random(seed)
    plan = [kind for kind in KINDS for _ in range(counts[kind.name])]
    rng.shuffle(plan)
    records = [kind.make(rng, n) for n, kind in enumerate(plan)]
    return records, counts


def _allocate(total: int) -> Counter[str]:
    """Messages per kind: its share, at least one each when there is room; Latin takes up
    the rounding."""
    counts: Counter[str] = Counter()
    room_for_all = total >= len(KINDS)
    for kind in KINDS[1:]:
        share = round(total * kind.weight)
        counts[kind.name] = max(share, 1) if room_for_all else 0
    counts[KINDS[0].name] = total - sum(counts.values())
    return counts
