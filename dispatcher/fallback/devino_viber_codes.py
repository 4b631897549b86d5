"""Devino's Viber vocabulary, shared by the Viber HTTP API client (chapter 12) and the Viber
calls of the REST (chapters 1-2) and SOAP (chapters 7-8) clients.

Status tables, the return codes and what the dispatcher does about each, and the checks a
Viber message must pass before any request is made (the provider would refuse it anyway, or,
for the SMS re-send, silently fail to re-send).

Seed references are lines of `seeds/004_80a28bca441860d4.txt` (written "seed L123").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from dispatcher.fallback.devino_codes import ErrorAction
from dispatcher.fallback.viber import LegStatus, OutgoingViber
from dispatcher.status import MessageStatus

# seed L6214-6215 (API) and L983 (REST): a Viber sender name has at most 11 characters.
MAX_SUBJECT_CHARS: Final = 11
# seed L980-982 (REST), L4289 (SOAP): a Viber text has at most 1000 characters.
MAX_TEXT_CHARS: Final = 1000
# seed L6403: a button message's text has 2 to 1000 characters; L6404: a caption at most 30.
MIN_BUTTON_TEXT_CHARS: Final = 2
MAX_CAPTION_CHARS: Final = 30
# seed L6277-6280: the re-send's SMS sender, at most 11 Latin characters or digits.
_SMS_SENDER: Final = re.compile(r"[A-Za-z0-9 ._-]{1,11}")
# Our reading of "international format (E.164) without '+'" (seed L6126-6128, L977-979).
_ADDRESS: Final = re.compile(r"[0-9]{10,15}")


@dataclass(frozen=True, slots=True)
class ViberState:
    code: str
    description: str
    status: MessageStatus


# REST Viber `State` (v1 Table 19, seed L1416-1427; v2 Table 18). The classes are spec
# §2.7.3: 2 may later become 3 or 8, all three are delivered; 4 and 7 may be followed by an
# SMS re-send.
REST_VIBER_STATES: Final[dict[int, ViberState]] = {
    0: ViberState("0", "Отправляется", MessageStatus.SUBMITTED),
    1: ViberState("1", "Отправлено", MessageStatus.SUBMITTED),
    2: ViberState("2", "Доставлено (не прочитано)", MessageStatus.DELIVERED),
    3: ViberState("3", "Доставлено (прочитано)", MessageStatus.DELIVERED),
    4: ViberState("4", "Не доставлено", MessageStatus.UNDELIVERABLE),
    5: ViberState("5", "Ошибка", MessageStatus.FAILED),
    6: ViberState("6", "Неизвестно", MessageStatus.UNKNOWN),
    7: ViberState("7", "Просрочено", MessageStatus.EXPIRED),
    8: ViberState("8", "Переход по ссылке", MessageStatus.DELIVERED),
}

# SOAP Viber `State` is an enum name (seed L4479) although Table 15 says int (L4504); spec
# §4.11 [Inference] maps the names onto the REST codes.
SOAP_VIBER_STATE_NAMES: Final[dict[str, int]] = {
    "enqueued": 0,
    "sent": 1,
    "delivered": 2,
    "read": 3,
    "undelivered": 4,
    "failed": 5,
    "unknown": 6,
    "expired": 7,
}

# Viber HTTP API `status` (seed L6651-6659) and the callback's upper-case `Status` (L6748-6753).
API_VIBER_STATES: Final[dict[str, MessageStatus]] = {
    "enqueued": MessageStatus.SUBMITTED,
    "sent": MessageStatus.SUBMITTED,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "visited": MessageStatus.DELIVERED,  # followed the link: delivered and read
    "undelivered": MessageStatus.UNDELIVERABLE,
    "failed": MessageStatus.FAILED,  # "not sent because of a failure"
    "cancelled": MessageStatus.FAILED,  # sending cancelled: final, never delivered
    "vp_expired": MessageStatus.EXPIRED,
}

# Viber HTTP API `smsStates[].status` (seed L6627-6630): the SMS re-send, per segment.
API_SMS_STATES: Final[dict[str, MessageStatus]] = {
    "enqueued": MessageStatus.SUBMITTED,
    "sent": MessageStatus.SUBMITTED,
    "delivered": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERABLE,
}

# Request-level `status` of the Viber HTTP API (seed L6847-6865). The format errors concern
# the request as a whole; the client isolates the message at fault by sending one at a time.
# L6855 prints "error-instant-message-typeformat"; the hyphenated spelling is accepted too.
API_REQUEST_STATUSES: Final[dict[str, ErrorAction]] = {
    "error-syntax": ErrorAction.REJECT,
    "error-auth": ErrorAction.STOP_CHANNEL,
    "error-system": ErrorAction.RETRY,
    "error-account-locked": ErrorAction.STOP_CHANNEL,
    "error-instant-message-typeformat": ErrorAction.REJECT,
    "error-instant-message-type-format": ErrorAction.REJECT,
    "error-instant-message-content-type-format": ErrorAction.REJECT,
    "error-instant-message-content-image-id-format": ErrorAction.REJECT,
}

# Per-message `code` (seed L6867-6940; the REST `Desc` values of Table 20, L1429-1468, are a
# subset). Spec §9.4: error-system is retryable, every other error is permanent.
MESSAGE_CODES: Final[dict[str, str]] = {
    "error-system": "системная ошибка",
    "not-permitted": "запрещено",
    "error-subject-format": "неправильный формат подписи",
    "error-subject-unknown": "указанная подпись не разрешена клиенту",
    "error-subject-not-specified": "подпись не указана",
    "error-address-format": "неправильный формат номера абонента",
    "error-address-unknown": "отправка на номерную емкость абонента не разрешена клиенту",
    "error-address-not-specified": "номер абонента не указан",
    "error-priority-format": "неправильный формат значения приоритета",
    "error-comment-format": "неправильный формат значения комментария",
    "error-instant-message-type-format": "неправильный формат типа сообщения",
    "error-instant-message-type-not-specified": "неправильный формат типа содержимого",
    "error-content-type-format": "неправильный формат содержимого сообщения",
    "error-content-not-specified": "содержимое сообщения не указано",
    "error-validity-period-seconds-format": "неправильно указано время ожидания доставки",
    "error-instant-message-provider-id-format": "неправильный формат провайдерского id",
    "error-instant-message-provider-id-duplicate": "провайдерский id неуникален в запросе",
    "error-instant-message-provider-id-unknown": "сообщение с этим id не найдено",
    "error-resend-sms-error": "поля переотправки указаны, но переотправка не включена",
    "error-resend-sms-validity-period-error": "неверное время жизни для смс",
    "error-route-not-found": "нет маршрута",
}
OK: Final = "ok"


def viber_leg(code: int, description: str | None) -> LegStatus:
    """The Viber leg for a REST/SOAP Viber state code; undocumented codes are UNKNOWN."""
    known = REST_VIBER_STATES.get(code)
    if known is None:
        return LegStatus(MessageStatus.UNKNOWN, str(code), description or None)
    return LegStatus(known.status, known.code, description or known.description)


def id_text(value: object) -> str | None:
    """A 64-bit id as text, whether it came as a JSON number or a string (spec ch. 12
    ambiguity 6: never through a float)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip().isdigit():
        return value.strip()
    return None


def message_code_action(code: str) -> ErrorAction:
    """What a per-message return code means for that message (spec §9.4)."""
    return ErrorAction.RETRY if code == "error-system" else ErrorAction.REJECT


def is_message_code(text: str) -> bool:
    return text.strip().lower() in MESSAGE_CODES


def address_problem(destination: str) -> str | None:
    if not _ADDRESS.fullmatch(destination.removeprefix("+")):
        return "destination is not an international number"
    return None


def common_problem(message: OutgoingViber) -> str | None:
    """Why no Devino Viber API can carry this message (checked before any request)."""
    if not 0 < len(message.source) <= MAX_SUBJECT_CHARS:
        return f"Viber sender name must have 1 to {MAX_SUBJECT_CHARS} characters"
    problem = address_problem(message.destination)
    if problem is not None:
        return problem
    if len(message.body) > MAX_TEXT_CHARS:
        return f"Viber text longer than {MAX_TEXT_CHARS} characters"
    if message.image_url is not None:
        if message.body or message.button is not None:
            return "an image message carries neither text nor a button"  # seed L6444-6447
    elif not message.body:
        return "empty Viber text"
    if message.button is not None:
        if len(message.body) < MIN_BUTTON_TEXT_CHARS:
            return f"a button message needs at least {MIN_BUTTON_TEXT_CHARS} characters of text"
        if not 0 < len(message.button.caption) <= MAX_CAPTION_CHARS:
            return f"a button caption must have 1 to {MAX_CAPTION_CHARS} characters"
        if not message.button.action:
            return "a button needs an action URL"
    if message.resend is not None:
        return resend_problem(message)
    return None


def resend_problem(message: OutgoingViber) -> str | None:
    """The SMS leg's sender rules (issue 7: checked before sending)."""
    if message.image_url is not None:
        # seed L6416-6418: an image cannot be re-sent; asking is a validation error.
        return "an image message cannot be re-sent as SMS"
    if not message.sms_text.strip():
        return "empty SMS re-send text"
    if not _SMS_SENDER.fullmatch(message.sms_source):
        return "SMS re-send sender must be 1 to 11 Latin letters or digits"
    return None


def same_sender_problem(message: OutgoingViber) -> str | None:
    """The REST and SOAP re-send sends the Viber text from the Viber sender: "the SMS sender
    must be identical to the Viber sender" (seed L949-950, L1158-1161); there is no field for
    another SMS text or sender."""
    if message.resend is None:
        return None
    if message.sms_source != message.source:
        return "this API re-sends from the Viber sender; a different SMS sender is not possible"
    if message.sms_text != message.body:
        return "this API re-sends the Viber text; a different SMS text is not possible"
    return None


def text_only_problem(message: OutgoingViber) -> str | None:
    """The REST and SOAP Viber calls carry a text only (seed L975-986, L4289-4304)."""
    if message.button is not None or message.image_url is not None:
        return "this API sends Viber text only (no buttons or images)"
    return None
