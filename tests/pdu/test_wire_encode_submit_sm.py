"""`encode_submit_sm` (the engine's sending path) gives the octets `encode(SubmitSm(...))`
gives for the same fields, and refuses what encode refuses, naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdu.codec import encode
from pdu.errors import PDUError
from pdu.pdus import SubmitSm
from pdu.submit_sm import encode_submit_sm

from .test_wire_roundtrip import short_message_fields

# the header's command_status is always 0 for a request
submit_fields = {name: value for name, value in short_message_fields.items()
                 if name != "command_status"}


@given(st.fixed_dictionaries(submit_fields))
def test_the_same_octets_as_encoding_the_dataclass(fields: dict[str, Any]) -> None:
    assert encode_submit_sm(**fields) == encode(SubmitSm(**fields))


def test_the_defaults_are_the_dataclass_defaults() -> None:
    assert encode_submit_sm() == encode(SubmitSm())
    assert encode_submit_sm(tlvs=None) == encode(SubmitSm(tlvs={}))


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"source_addr": "a\x00b"}, "source_addr"),
        ({"esm_class": 256}, "esm_class"),
        # the compiled builder reads octets from a list: a negative value must not wrap
        ({"data_coding": -1}, "data_coding"),
        ({"source_addr_ton": -256}, "source_addr_ton"),
        ({"short_message": b"x" * 256}, "short_message"),
        ({"destination_addr": "Ω"}, "destination_addr"),
        ({"sequence_number": -1}, "sequence_number"),
    ],
)
def test_a_value_that_does_not_fit_is_a_pdu_error_naming_its_field(
    fields: dict[str, Any], named: str
) -> None:
    with pytest.raises(PDUError, match=named):
        encode_submit_sm(**fields)
