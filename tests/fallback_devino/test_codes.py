"""The Devino code tables: the union status decoder (spec §9.3), error classification (§9.4),
and the small pure helpers of the batch logic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from dispatcher.fallback.devino_batch import split_ids, validity_minutes
from dispatcher.fallback.devino_codes import (
    SMS_STATES,
    ErrorAction,
    check_statistics_range,
    classify_rest_error,
    classify_soap_fault,
    decode_sms_state,
    format_datetime,
    soap_fault_detail,
)
from dispatcher.status import MessageStatus

# Spec §9.3, written out independently of the module's table.
IN_PROGRESS = {-1, -2, -20, -30, -40, 255}
EXPECTED_STATUS = {
    0: MessageStatus.DELIVERED,
    11: MessageStatus.REJECTED,  # bad recipient: never resent
    41: MessageStatus.REJECTED,
    10: MessageStatus.FAILED,  # sender / configuration
    42: MessageStatus.UNDELIVERABLE,  # refused by the SMSC
    46: MessageStatus.EXPIRED,
    47: MessageStatus.UNDELIVERABLE,  # deleted
    48: MessageStatus.FAILED,
    69: MessageStatus.FAILED,
    -98: MessageStatus.FAILED,
    -3: MessageStatus.FAILED,
    8: MessageStatus.FAILED,
    99: MessageStatus.UNKNOWN,
    -200: MessageStatus.UNKNOWN,  # report filters, not message states
    -100: MessageStatus.UNKNOWN,
} | dict.fromkeys(IN_PROGRESS, MessageStatus.SUBMITTED)


def test_the_union_table_holds_every_rest_and_soap_state() -> None:
    rest = {-1, -2, 47, -98, 0, 10, 11, 41, 42, 46, 48, 69, 99, 255}  # seed L1399-1414
    soap = {
        -200,
        -100,
        -3,
        -1,
        -2,
        -40,
        -30,
        -20,
        0,
        11,
        10,
        41,
        42,
        46,
        47,
        48,
        255,
        8,
    }  # L4516-4569
    assert set(SMS_STATES) == rest | soap == set(EXPECTED_STATUS)


@pytest.mark.parametrize("code", sorted(EXPECTED_STATUS))
def test_each_state_decodes_as_the_spec_says(code: int) -> None:
    assert decode_sms_state(code) is EXPECTED_STATUS[code]
    assert decode_sms_state(code).is_final is (code not in IN_PROGRESS)


def test_255_is_final_unknown_only_from_48_hours() -> None:
    assert decode_sms_state(255, age_seconds=47.9 * 3600) is MessageStatus.SUBMITTED
    assert decode_sms_state(255, age_seconds=48 * 3600) is MessageStatus.UNKNOWN
    assert decode_sms_state(0, age_seconds=72 * 3600) is MessageStatus.DELIVERED


def test_an_undocumented_state_is_unknown() -> None:
    assert decode_sms_state(12345) is MessageStatus.UNKNOWN


@pytest.mark.parametrize(
    ("code", "description", "has_session", "expected"),
    [
        (4, "SessionID expired", True, ErrorAction.RENEW_SESSION),  # seed L196-200
        (4, "Invalid user login or password", True, ErrorAction.STOP_CHANNEL),  # L141-145
        (4, "Invalid user login or password", False, ErrorAction.STOP_CHANNEL),
        (3, "Invalid session id", True, ErrorAction.RENEW_SESSION),
        (3, "Invalid session id", False, ErrorAction.RETRY),  # not in the v2 table
        (5, "Not enough credits", False, ErrorAction.PAUSE_CHANNEL),
        (7, "Forbidden", False, ErrorAction.STOP_CHANNEL),
        (6, "Invalid source address", False, ErrorAction.REJECT),
        (9, "The parameters dictionary contains a null entry", False, ErrorAction.RETRY),
        (77, "something new", False, ErrorAction.RETRY),
        (None, "", False, ErrorAction.RETRY),
    ],
)
def test_rest_error_classification(
    code: int | None, description: str, has_session: bool, expected: ErrorAction
) -> None:
    assert classify_rest_error(code, description, has_session=has_session) is expected


def test_soap_fault_detail_and_classification_from_the_seed_text() -> None:
    # seed L3523-3524, line break and all
    reason = "Server was unable to process request. ---\n> Invalid user login or password"
    assert soap_fault_detail(reason) == "Invalid user login or password"
    assert classify_soap_fault(reason, has_session=True) is ErrorAction.STOP_CHANNEL
    session = "Server was unable to process request. ---> SessionID expired"
    assert classify_soap_fault(session, has_session=True) is ErrorAction.RENEW_SESSION
    assert classify_soap_fault(session, has_session=False) is ErrorAction.RETRY


def test_statistics_range_and_date_format() -> None:
    start = datetime(2012, 1, 18)
    check_statistics_range(start, start + timedelta(days=90))
    with pytest.raises(ValueError):
        check_statistics_range(start, start + timedelta(days=90, seconds=1))
    with pytest.raises(ValueError):
        check_statistics_range(start, start - timedelta(seconds=1))
    moscow = timezone(timedelta(hours=3))
    assert format_datetime(datetime(2012, 1, 18, 3, 0, tzinfo=moscow)) == "2012-01-18T00:00:00"
    assert format_datetime(datetime(2012, 1, 18, 23, 59, tzinfo=UTC)) == "2012-01-18T23:59:00"


def test_validity_minutes() -> None:
    assert validity_minutes(None) is None
    assert validity_minutes(0) == 1
    assert validity_minutes(60) == 1
    assert validity_minutes(61) == 2
    assert validity_minutes(48 * 3600) == 2880


def test_split_ids() -> None:
    assert split_ids(["a1", "a2", "b1", "b2"], 2) == [("a1", "a2"), ("b1", "b2")]
    assert split_ids(["a", "b", "c"], 2) is None  # spec §2.4: mapping unknown
    assert split_ids([], 1) is None
