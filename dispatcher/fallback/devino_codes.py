"""Devino's shared vocabulary for the REST (v1/v2) and SOAP (v1/v2) clients.

The code tables of the provider documents, the one status decoder over the union of the REST
and SOAP status sets (spec §9.3), the classification of every documented error into what the
dispatcher does about it (spec §9.4), and the statistics counters both APIs return.

Seed references are lines of `seeds/004_80a28bca441860d4.txt` (written "seed L123").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from dispatcher.status import MessageStatus

# seed L147 (REST) and L3533-3534 (SOAP): a session id is valid for 120 minutes.
SESSION_LIFETIME_SECONDS = 120 * 60
# seed L238 (REST), L3809 (SOAP): the text is at most 2000 characters.
MAX_DATA_CHARS = 2000
# seed L687-688, L1414: a message sent more than 48 hours ago answers 255 forever.
STATUS_WINDOW_SECONDS = 48 * 3600
# seed L898 ("не более 3 месяцев") and L944 (the error says 90 days): keep to the stricter one.
MAX_STATISTICS_RANGE = timedelta(days=90)


class ErrorAction(StrEnum):
    """What the dispatcher does about one provider error."""

    REJECT = "reject"  # permanent for the message(s) of the request: SendResult REJECTED
    RETRY = "retry"  # transient: SendResult RETRY (the router bounds the attempts)
    RENEW_SESSION = "renew_session"  # session expired or unknown: log in again, repeat once
    STOP_CHANNEL = "stop_channel"  # credentials / access: ChannelError(permanent=True)
    PAUSE_CHANNEL = "pause_channel"  # no money: ChannelError(retry_after=...)


@dataclass(frozen=True, slots=True)
class RestError:
    code: int
    http_status: int
    description: str
    action: ErrorAction


# seed L1384-1397 (v1 Table 17) and L2775-2790 (v2 Table 16; code 3 exists in v1 only).
# The actions are spec §9.4; code 4 is refined by its Desc in `classify_rest_error`.
REST_ERRORS: dict[int, RestError] = {
    e.code: e
    for e in (
        RestError(1, 400, "Argument cannot be null or empty", ErrorAction.REJECT),
        RestError(2, 400, "Invalid argument", ErrorAction.REJECT),
        RestError(3, 400, "Invalid session id", ErrorAction.RENEW_SESSION),
        RestError(4, 401, "Unauthorized access", ErrorAction.STOP_CHANNEL),
        RestError(5, 403, "Not enough credits", ErrorAction.PAUSE_CHANNEL),
        # spec A11: the examples (seed L318-322) use 6 for "Invalid source address".
        RestError(6, 400, "Invalid operation", ErrorAction.REJECT),
        RestError(7, 403, "Forbidden", ErrorAction.STOP_CHANNEL),
        RestError(8, 500, "Gateway error", ErrorAction.RETRY),
        # spec §9.4: retry bounded; the router's attempt limit is that bound.
        RestError(9, 500, "Internal server error", ErrorAction.RETRY),
    )
}


def classify_rest_error(code: int | None, description: str, *, has_session: bool) -> ErrorAction:
    """The action for a REST `{Code, Desc}` error (spec §9.4, A12).

    Code 4 means a stale session when its Desc names the SessionID (seed L196-200) and bad
    credentials otherwise (seed L141-145). Undocumented codes are treated as transient: the
    request was answered with an error, so nothing was sent, and the router bounds retries.
    """
    if code is None or code not in REST_ERRORS:
        return ErrorAction.RETRY
    if code in (3, 4) and has_session and (code == 3 or "session" in description.lower()):
        return ErrorAction.RENEW_SESSION
    if code == 3:  # "Invalid session id" from an API that has no sessions (v2): not documented
        return ErrorAction.RETRY
    return REST_ERRORS[code].action


# SOAP has no numeric error codes: a fault's reason text is classified (spec §9.4, A35). Only
# the credentials text is in the seed (L3523-3524, L4616-4617); the other markers are the REST
# descriptions, which the same platform uses. Checked in this order; the first match wins.
_SOAP_FAULT_MARKERS: tuple[tuple[str, ErrorAction], ...] = (
    ("invalid user login or password", ErrorAction.STOP_CHANNEL),
    ("session", ErrorAction.RENEW_SESSION),
    ("not enough credits", ErrorAction.PAUSE_CHANNEL),
    ("недостаточно средств", ErrorAction.PAUSE_CHANNEL),
    ("forbidden", ErrorAction.STOP_CHANNEL),
    ("too many requests", ErrorAction.RETRY),
    ("address", ErrorAction.REJECT),
    ("too long", ErrorAction.REJECT),
    ("length", ErrorAction.REJECT),
    ("argument", ErrorAction.REJECT),
)

SOAP_FAULT_SEPARATOR = "--->"  # seed L3523-3524: "Server was unable to process request. --->"


def soap_fault_detail(reason: str) -> str:
    """The part of an ASMX fault reason after `--->`, which carries the actual error.
    Whitespace is folded, also inside a line-broken arrow (seed L3523-3524 shows one)."""
    folded = re.sub(r"-{3}\s*>", SOAP_FAULT_SEPARATOR, " ".join(reason.split()))
    _, separator, detail = folded.partition(SOAP_FAULT_SEPARATOR)
    return (detail if separator else folded).strip()


def classify_soap_fault(reason: str, *, has_session: bool) -> ErrorAction:
    """The action for a SOAP fault, judged by its reason text; unknown faults are transient."""
    text = soap_fault_detail(reason).lower()
    for marker, action in _SOAP_FAULT_MARKERS:
        if marker in text:
            if action is ErrorAction.RENEW_SESSION and not has_session:
                return ErrorAction.RETRY
            return action
    return ErrorAction.RETRY


@dataclass(frozen=True, slots=True)
class SmsState:
    code: int
    description: str
    status: MessageStatus


# The union of REST Table 18 (seed L1399-1414, v2 Table 17 L2792-2810) and SOAP Table 16
# (seed L4516-4569, repeated L5550-5602), decoded as spec §9.3 says:
#   in progress -> SUBMITTED; 0 -> DELIVERED; bad recipient (11, 41) -> REJECTED, never resent;
#   46 -> EXPIRED; 47 "deleted" -> UNDELIVERABLE; sender/config (10) and the failures that may
#   go through another channel (42, 48, 69, -98, -3, 8) -> FAILED, except that 42 ("rejected by
#   the SMSC") is the network's answer -> UNDELIVERABLE; 99, report filters -> UNKNOWN.
SMS_STATES: dict[int, SmsState] = {
    s.code: s
    for s in (
        SmsState(-1, "Отправлено (передано в мобильную сеть)", MessageStatus.SUBMITTED),  # L1401
        SmsState(-2, "В очереди", MessageStatus.SUBMITTED),  # L1402; SOAP LocalQueued L4540
        SmsState(-20, "Сообщение отправлено получателю", MessageStatus.SUBMITTED),  # L4543-4546
        # L4542: named "Остановлено" but the enum is Sending_To_Gateway (spec A36).
        SmsState(-30, "Отправлено в шлюз", MessageStatus.SUBMITTED),
        SmsState(-40, "Ожидание", MessageStatus.SUBMITTED),  # L4541
        SmsState(0, "Доставлено абоненту", MessageStatus.DELIVERED),  # L1405, L4548
        SmsState(10, "Неверно введен адрес отправителя", MessageStatus.FAILED),  # L1406, L4554
        SmsState(11, "Неверно введен адрес получателя", MessageStatus.REJECTED),  # L1407, L4549
        SmsState(41, "Недопустимый адрес получателя", MessageStatus.REJECTED),  # L1408, L4559
        SmsState(42, "Отклонено смс-центром", MessageStatus.UNDELIVERABLE),  # L1409, L4564
        SmsState(46, "Просрочено (истек срок жизни сообщения)", MessageStatus.EXPIRED),  # L1410
        SmsState(47, "Удалено", MessageStatus.UNDELIVERABLE),  # L1403, L4566
        SmsState(48, "Отклонено Платформой", MessageStatus.FAILED),  # L1411, L4567
        SmsState(69, "Отклонено", MessageStatus.FAILED),  # L1412
        SmsState(-98, "Остановлено", MessageStatus.FAILED),  # L1404
        SmsState(-3, "Ошибка интерпретации даты и времени отправки", MessageStatus.FAILED),  # L4536
        SmsState(8, "Внутренняя ошибка", MessageStatus.FAILED),  # L4569 System_Error
        SmsState(99, "Неизвестный", MessageStatus.UNKNOWN),  # L1413
        # L1414, L4568: "not in the database yet, or older than 48 h"; see `decode_sms_state`.
        SmsState(255, "Неизвестный", MessageStatus.SUBMITTED),
        # L4524-4531: report filters, not message states; never expected for one message.
        SmsState(-200, "Ошибка (фильтр детализации)", MessageStatus.UNKNOWN),
        SmsState(-100, "Протарифицировано (фильтр детализации)", MessageStatus.UNKNOWN),
    )
}

STATE_NOT_YET_OR_EXPIRED = 255


def decode_sms_state(code: int, *, age_seconds: float | None = None) -> MessageStatus:
    """Our status for a Devino SMS state code (REST or SOAP).

    255 means "not in the database yet" while the message is young and "older than 48 h"
    afterwards (spec A27): it stays in progress unless the message's age is known to have
    reached the 48 h window. Undocumented codes are UNKNOWN (spec http-providers §4.5).
    """
    if code == STATE_NOT_YET_OR_EXPIRED:
        if age_seconds is not None and age_seconds >= STATUS_WINDOW_SECONDS:
            return MessageStatus.UNKNOWN
        return MessageStatus.SUBMITTED
    state = SMS_STATES.get(code)
    return state.status if state is not None else MessageStatus.UNKNOWN


@dataclass(frozen=True, slots=True)
class DevinoStatistics:
    """Message counters for a period: REST Sms/Statistics (seed L918-930) or SOAP GetStatistics
    (seed L4122-4133, which has no totals nor ratio)."""

    sent: int
    delivered: int
    errors: int
    in_process: int
    expired: int
    rejected: int
    total: int | None = None
    total_with_errors: int | None = None
    delivery_ratio: float | None = None


def check_statistics_range(start: datetime, end: datetime) -> None:
    """Refuse a period the provider refuses (seed L898, L942-945) before asking it."""
    start, end = as_utc(start), as_utc(end)
    if end < start:
        raise ValueError("statistics period ends before it starts")
    if end - start > MAX_STATISTICS_RANGE:
        raise ValueError(f"statistics period longer than {MAX_STATISTICS_RANGE.days} days")


def as_utc(moment: datetime) -> datetime:
    """Aware datetimes converted to UTC; naive ones are taken as UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_datetime(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS` in UTC with a Latin T (spec A40; seed L246-248 example)."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S")
