"""SubmitEncoder writes the octets `encode(SubmitSm(...))` writes for the same fields: the
account's defaults, a request's overrides, the validity floor, every part of a split text."""

from __future__ import annotations

from datetime import timedelta

from dispatcher.smpp.job import SubmitEncoder
from dispatcher.smpp.outcome import SubmitRequest
from dispatcher.smpp.settings import AccountSettings
from pdu.codec import encode
from pdu.pdus import SubmitSm
from pdu.segmentation import split_text
from pdu.smpp_time import format_relative

SETTINGS = AccountSettings(
    name="a", system_id="a", password="p", hosts=["127.0.0.1"], numeric_source_ton=1
)


def expected(request: SubmitRequest, source_ton: int, validity_seconds: int | None) -> list[bytes]:
    validity = "" if validity_seconds is None else format_relative(
        timedelta(seconds=validity_seconds))
    return [
        encode(SubmitSm(
            source_addr_ton=source_ton,
            source_addr_npi=request.source_npi if request.source_npi is not None else 1,
            source_addr=request.source,
            dest_addr_ton=request.dest_ton if request.dest_ton is not None else 1,
            dest_addr_npi=request.dest_npi if request.dest_npi is not None else 1,
            destination_addr=request.destination,
            esm_class=part.esm_class,
            validity_period=validity,
            registered_delivery=(
                request.registered_delivery if request.registered_delivery is not None else 1),
            data_coding=part.data_coding,
            short_message=part.short_message,
            tlvs=dict(part.tlvs),
        ))
        for part in request.parts
    ]


def test_the_account_defaults_and_the_validity_floor() -> None:
    request = SubmitRequest(1, "Shop", "79031234567", split_text("hi"), 10)
    assert SubmitEncoder(SETTINGS).encode(request) == expected(request, 5, 60)


def test_a_numeric_sender_takes_its_own_ton_and_no_validity_is_sent_empty() -> None:
    request = SubmitRequest(2, "79001112233", "79031234567", split_text("Привет " * 30))
    assert len(request.parts) == 4
    assert SubmitEncoder(SETTINGS).encode(request) == expected(request, 1, None)


def test_a_requests_own_values_win() -> None:
    request = SubmitRequest(
        3, "Shop", "79031234567", split_text("long " * 70, method="sar", reference=7), 7200,
        source_ton=0, source_npi=0, dest_ton=2, dest_npi=9, registered_delivery=0,
    )
    assert SubmitEncoder(SETTINGS).encode(request) == expected(request, 0, 7200)
