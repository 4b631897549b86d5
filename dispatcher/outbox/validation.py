"""Checking an outbox row before it is sent. Pure functions, no I/O.

A row that breaks a rule is `rejected` with an error_text naming every rule it breaks, e.g.
"destination '+7 903 123-45-67' has non-digit characters; body is empty". The rules:

- destination: required; surrounding whitespace and then one leading '+' or '00' are dropped;
  what remains must be 5 to 15 ASCII digits. 15 is the providers' maximum (international
  format); 5 is our own floor, below which a "number" is a typo rather than an international
  number.
- source: NULL or empty means the route's sender; otherwise up to 11 Latin letters and digits,
  or up to 15 digits (a leading '+' dropped).
- body: not empty (NULL counts as empty) and no more parts than the route allows, counted the
  way the segmentation will split it (with message_payload: the segments the SMSC will make).
- validity: NULL means the route's default; otherwise at least 60 seconds.
"""

from __future__ import annotations

import codecs
from typing import NamedTuple

from dispatcher.outbox.records import ClaimedMessage
from dispatcher.smpp.settings import MIN_VALIDITY_SECONDS  # seed L2971-2972
from pdu.fast_tuple import new_record
from pdu.segmentation import count_parts

# seed 001_dac1ab069e60388a.txt L79: "Recipient number must be indicated in international
# format (max. 15 digits)."
MAX_DESTINATION_DIGITS = 15
# our own floor (see the module docstring)
MIN_DESTINATION_DIGITS = 5
# seed 004_80a28bca441860d4.txt L1608: "Адрес отправителя сообщения. До 11 латинских символов
# или до 15 цифровых." (the sender: up to 11 Latin characters or up to 15 digits)
MAX_NUMERIC_SOURCE_DIGITS = 15
MAX_ALPHANUMERIC_SOURCE_CHARACTERS = 11
# a single part carries at most 160 characters, so a longer text cannot fit in fewer parts
# than len / 160: enough to refuse a huge body without encoding it
_MAX_CHARACTERS_PER_PART = 160
# Most bodies are short: up to 70 characters of the Basic Multilingual Plane are one part in
# every coding (70 UCS-2 units, at most 140 GSM septets with every character escaped, 70
# octets in Latin-1), so they need not be encoded to be counted. Outside the BMP a character
# takes two UCS-2 units: `_outside_the_bmp` tells, in 0.25 µs where max(body) took 2-3.
_ONE_PART_IN_ANY_CODING = 70
_QUOTE_LIMIT = 40
_utf_16_be_encode = codecs.utf_16_be_encode

class InvalidMessage(ValueError):
    """The row breaks at least one rule; `str(error)` is the error_text to store."""


class ValidatedMessage(NamedTuple):
    """A row that passed every check, normalised for sending (a NamedTuple for the reason
    given in dispatcher.outbox.records)."""

    id: int
    route: str
    channel: str
    source: str | None  # None: use the route's sender
    destination: str  # digits only
    body: str
    priority: int
    validity: int | None  # seconds; None: use the route's default
    parts: int  # SMS segments (billed parts)
    client_ref: str | None
    attempts: int


def _quoted(value: str) -> str:
    """The producer's value in an error text, cut short so a huge value cannot flood it."""
    if len(value) > _QUOTE_LIMIT:
        value = value[:_QUOTE_LIMIT] + "..."
    return repr(value)


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def normalise_destination(raw: str | None) -> str:
    """Digits only, without '+' or '00'; raises InvalidMessage."""
    if raw is None or not raw.strip():
        raise InvalidMessage("destination is missing")
    digits = raw.strip()
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    if not _ascii_digits(digits):
        raise InvalidMessage(f"destination {_quoted(raw)} has non-digit characters")
    if len(digits) < MIN_DESTINATION_DIGITS:
        raise InvalidMessage(
            f"destination {_quoted(raw)} has {len(digits)} digits; "
            f"at least {MIN_DESTINATION_DIGITS} are needed"
        )
    if len(digits) > MAX_DESTINATION_DIGITS:
        raise InvalidMessage(
            f"destination {_quoted(raw)} has {len(digits)} digits; "
            f"at most {MAX_DESTINATION_DIGITS} are allowed"
        )
    return digits


def check_source(raw: str | None) -> str | None:
    """The sender to use (None: the route's); raises InvalidMessage."""
    if raw is None or raw == "":
        return None
    numeric = raw[1:] if raw.startswith("+") else raw
    if _ascii_digits(numeric):
        if len(numeric) > MAX_NUMERIC_SOURCE_DIGITS:
            raise InvalidMessage(
                f"source {_quoted(raw)} has {len(numeric)} digits; "
                f"a numeric sender has at most {MAX_NUMERIC_SOURCE_DIGITS}"
            )
        return numeric
    if not (raw.isascii() and raw.isalnum()):
        raise InvalidMessage(
            f"source {_quoted(raw)} is neither up to {MAX_ALPHANUMERIC_SOURCE_CHARACTERS} "
            f"Latin letters and digits nor up to {MAX_NUMERIC_SOURCE_DIGITS} digits"
        )
    if len(raw) > MAX_ALPHANUMERIC_SOURCE_CHARACTERS:
        raise InvalidMessage(
            f"source {_quoted(raw)} has {len(raw)} characters; an alphanumeric sender has "
            f"at most {MAX_ALPHANUMERIC_SOURCE_CHARACTERS}"
        )
    return raw


def count_body_parts(body: str | None, max_parts: int, split_method: str = "udh") -> int:
    """The number of SMS segments the body becomes; raises InvalidMessage.

    With message_payload the SMSC splits (and bills) the text itself, the way UDH
    concatenation would, so the limit applies to those segments too.
    """
    if not body:
        raise InvalidMessage("body is empty")
    if len(body) > max_parts * _MAX_CHARACTERS_PER_PART:
        raise InvalidMessage(
            f"body of {len(body)} characters needs more than the {max_parts} parts "
            f"the route allows"
        )
    if len(body) <= _ONE_PART_IN_ANY_CODING and (body.isascii() or not _outside_the_bmp(body)):
        return 1
    try:
        method = "udh" if split_method == "payload" else split_method
        parts = count_parts(body, coding="auto", method=method)
    except ValueError as error:
        raise InvalidMessage(f"body cannot be encoded: {error}") from error
    if parts > max_parts:
        raise InvalidMessage(f"body needs {parts} parts; the route allows at most {max_parts}")
    return parts


def _outside_the_bmp(text: str) -> bool:
    """True when some character of `text` takes a surrogate pair (two UTF-16 code units)."""
    return len(_utf_16_be_encode(text)[0]) != 2 * len(text)


def check_validity(validity: int | None) -> int | None:
    """Seconds, or None for the route's default; raises InvalidMessage."""
    if validity is not None and validity < MIN_VALIDITY_SECONDS:
        raise InvalidMessage(
            f"validity {validity} s is below the minimum of {MIN_VALIDITY_SECONDS} s"
        )
    return validity


def validate_message(
    message: ClaimedMessage, *, max_parts: int, split_method: str = "udh"
) -> ValidatedMessage:
    """The normalised message, or InvalidMessage naming every rule the row breaks."""
    destination, body = message.destination, message.body
    if (
        destination is not None and destination.isdigit() and destination.isascii()
        and MIN_DESTINATION_DIGITS <= len(destination) <= MAX_DESTINATION_DIGITS
        and not destination.startswith("00")
        and not message.source and message.validity is None
        and body and len(body) <= _ONE_PART_IN_ANY_CODING and body.isascii() and max_parts >= 1
    ):
        # The usual row, which every rule leaves as it is: digits only, the route's sender
        # and validity, a short ASCII body (one part in any coding). Checked here in one go,
        # in a third of the time the rules take one by one.
        return new_record(ValidatedMessage, (
            message.id, message.route, message.channel, None, destination, body,
            message.priority, None, 1, message.client_ref, message.attempts,
        ))
    return validate_rule_by_rule(message, max_parts=max_parts, split_method=split_method)


def validate_rule_by_rule(
    message: ClaimedMessage, *, max_parts: int, split_method: str = "udh"
) -> ValidatedMessage:
    """`validate_message` without its shortcut for the usual row: each rule in turn."""
    destination, body = message.destination, message.body
    problems: list[str] = []
    source = validity = None
    parts = 0
    try:
        destination = normalise_destination(destination)
    except InvalidMessage as error:
        problems.append(str(error))
    try:
        source = check_source(message.source)
    except InvalidMessage as error:
        problems.append(str(error))
    try:
        parts = count_body_parts(body, max_parts, split_method)
    except InvalidMessage as error:
        problems.append(str(error))
    try:
        validity = check_validity(message.validity)
    except InvalidMessage as error:
        problems.append(str(error))
    if problems:
        raise InvalidMessage("; ".join(problems))
    assert destination is not None and body is not None
    return new_record(ValidatedMessage, (
        message.id, message.route, message.channel, source, destination, body,
        message.priority, validity, parts, message.client_ref, message.attempts,
    ))
