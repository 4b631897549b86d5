"""Row validation: each rule, its error text, and the normalised row."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.outbox.records import ClaimedMessage
from dispatcher.outbox.validation import (
    InvalidMessage,
    ValidatedMessage,
    validate_message,
    validate_rule_by_rule,
)
from pdu.segmentation import count_parts


def claimed(**overrides: Any) -> ClaimedMessage:
    fields: dict[str, Any] = {
        "id": 7,
        "route": "default",
        "channel": "sms",
        "source": "MyShop",
        "destination": "79031234567",
        "body": "hello",
        "priority": 0,
        "validity": None,
        "client_ref": None,
        "attempts": 1,
        **overrides,
    }
    return ClaimedMessage(**fields)


def error_of(**overrides: Any) -> str:
    with pytest.raises(InvalidMessage) as caught:
        validate_message(claimed(**overrides), max_parts=10)
    return str(caught.value)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("79031234567", "79031234567"),
        ("+79031234567", "79031234567"),
        ("0079031234567", "79031234567"),
        (" +79031234567 ", "79031234567"),
        ("12345", "12345"),
        ("123456789012345", "123456789012345"),
    ],
)
def test_destination_is_normalised(raw: str, normalised: str) -> None:
    assert validate_message(claimed(destination=raw), max_parts=1).destination == normalised


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (None, "destination is missing"),
        ("  ", "destination is missing"),
        ("+7 903 123-45-67", "destination '+7 903 123-45-67' has non-digit characters"),
        ("++79031234567", "destination '++79031234567' has non-digit characters"),
        ("7903١٢٣٤٥٦٧", "destination '7903١٢٣٤٥٦٧' has non-digit characters"),
        ("+1234", "destination '+1234' has 4 digits; at least 5 are needed"),
        ("1234567890123456",
         "destination '1234567890123456' has 16 digits; at most 15 are allowed"),
    ],
)
def test_destination_errors(raw: str | None, error: str) -> None:
    assert error_of(destination=raw) == error


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        (None, None),
        ("", None),
        ("MyShop", "MyShop"),
        ("ABCDEFGHIJK", "ABCDEFGHIJK"),
        ("123456789012345", "123456789012345"),
        ("+79031234567", "79031234567"),
    ],
)
def test_source_is_checked(raw: str | None, normalised: str | None) -> None:
    assert validate_message(claimed(source=raw), max_parts=1).source == normalised


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("ABCDEFGHIJKL", "source 'ABCDEFGHIJKL' has 12 characters; an alphanumeric sender has "
                         "at most 11"),
        ("1234567890123456", "source '1234567890123456' has 16 digits; a numeric sender has "
                             "at most 15"),
        ("My Shop", "source 'My Shop' is neither up to 11 Latin letters and digits nor up to 15 "
                    "digits"),
        ("Магазин", "source 'Магазин' is neither up to 11 Latin letters and digits nor up to 15 "
                    "digits"),
    ],
)
def test_source_errors(raw: str, error: str) -> None:
    assert error_of(source=raw) == error


def test_body_must_not_be_empty() -> None:
    assert error_of(body="") == "body is empty"
    assert error_of(body=None) == "body is empty"


def test_body_parts_are_counted_like_the_segmentation() -> None:
    assert validate_message(claimed(body="a" * 160), max_parts=1).parts == 1
    assert validate_message(claimed(body="a" * 161), max_parts=2).parts == 2
    assert validate_message(claimed(body="ж" * 70), max_parts=1).parts == 1
    assert validate_message(claimed(body="ж" * 71), max_parts=2).parts == 2
    # with message_payload the SMSC splits: the limit applies to its segments all the same
    payload = validate_message(claimed(body="a" * 306), max_parts=2, split_method="payload")
    assert payload.parts == 2
    with pytest.raises(InvalidMessage, match="body needs 3 parts"):
        validate_message(claimed(body="a" * 307), max_parts=2, split_method="payload")


@given(st.text(st.sampled_from("aZ7 {€жЖ😀é"), min_size=1, max_size=80))
def test_short_bodies_counted_without_encoding_agree_with_the_segmentation(body: str) -> None:
    # up to 70 characters the count skips encoding unless a character is outside the BMP
    assert validate_message(claimed(body=body), max_parts=10).parts == count_parts(body)


def test_body_over_the_route_limit() -> None:
    with pytest.raises(InvalidMessage, match=r"^body needs 3 parts; the route allows at most 2$"):
        validate_message(claimed(body="a" * 307), max_parts=2)
    with pytest.raises(InvalidMessage, match="body of 100000 characters needs more than the 2"):
        validate_message(claimed(body="x" * 100_000), max_parts=2)


def test_validity() -> None:
    assert validate_message(claimed(validity=None), max_parts=1).validity is None
    assert validate_message(claimed(validity=60), max_parts=1).validity == 60
    assert error_of(validity=59) == "validity 59 s is below the minimum of 60 s"


def test_every_broken_rule_is_named() -> None:
    assert error_of(destination="+7 903", body="", validity=0) == (
        "destination '+7 903' has non-digit characters; body is empty; "
        "validity 0 s is below the minimum of 60 s"
    )


def test_a_huge_value_is_quoted_short() -> None:
    text = error_of(destination="x" * 10_000)
    assert len(text) < 100 and text.endswith("...' has non-digit characters")


def test_the_valid_row_keeps_the_rest() -> None:
    message = claimed(priority=5, client_ref="r1", validity=3600, attempts=2)
    valid = validate_message(message, max_parts=1)
    assert (valid.id, valid.route, valid.priority, valid.client_ref, valid.attempts) == (
        7, "default", 5, "r1", 2
    )
    assert valid.body == "hello" and valid.validity == 3600


def rule_by_rule(message: ClaimedMessage, max_parts: int) -> ValidatedMessage | str:
    """What the four rules say one at a time: the record, or the error text."""
    try:
        return validate_rule_by_rule(message, max_parts=max_parts)
    except InvalidMessage as problem:
        return str(problem)


@given(
    st.sampled_from(["79031234567", "0079031234567", "+79031234567", "1234", "12345",
                     "1234567890123456", "７９０３", "7903 1234", None]),
    st.sampled_from([None, "", "MyShop", "+79031234567"]),
    st.sampled_from([None, "", "hello", "x" * 70, "x" * 71, "Привет", "{€}", "a\x00b"])
    | st.text(max_size=80),
    st.sampled_from([None, 30, 60, 3600]),
    st.integers(0, 3),
)
def test_every_row_is_judged_as_the_rules_judge_it_one_by_one(
    destination: str | None, source: str | None, body: str | None, validity: int | None,
    max_parts: int,
) -> None:
    message = claimed(destination=destination, source=source, body=body, validity=validity)
    try:
        judged: ValidatedMessage | str = validate_message(message, max_parts=max_parts)
    except InvalidMessage as problem:
        judged = str(problem)
    assert judged == rule_by_rule(message, max_parts)
    if isinstance(judged, ValidatedMessage):
        assert type(judged) is ValidatedMessage
