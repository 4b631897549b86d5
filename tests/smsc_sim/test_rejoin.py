"""Re-joined messages and the checks on their parts (what a handset would show)."""

from __future__ import annotations

import pytest

from pdu.constants import ESM_UDHI, DataCoding
from pdu.pdus import SubmitSm
from pdu.segmentation import split_text
from pdu.tlv import Tag
from tests.smsc_sim.conftest import PASSWORD, SYSTEM_ID, SimFactory
from tests.smsc_sim.smpp_client import TinyEsme

LONG_LATIN = "Long message with an escape € and more text. " * 8
LONG_CYRILLIC = "Длинное сообщение, которое не помещается в одну часть. " * 4


def parts_of(
    text: str, method: str, reference: int, destination: str = "79031234567"
) -> list[SubmitSm]:
    return [
        SubmitSm(
            source_addr="Sender",
            destination_addr=destination,
            esm_class=part.esm_class,
            data_coding=part.data_coding,
            short_message=part.short_message,
            tlvs=dict(part.tlvs),
        )
        for part in split_text(text, method=method, reference=reference)
    ]


def udh_part(reference: int, total: int, index: int, text: bytes) -> SubmitSm:
    return SubmitSm(
        source_addr="Sender",
        destination_addr="79031234567",
        esm_class=ESM_UDHI,
        short_message=bytes((5, 0, 3, reference, total, index)) + text,
    )


async def send_all(esme: TinyEsme, pdus: list[SubmitSm]) -> None:
    for pdu in pdus:
        assert (await esme.request(pdu)).command_status == 0


@pytest.mark.parametrize("method", ["udh", "udh16", "sar", "payload"])
@pytest.mark.parametrize("text", [LONG_LATIN, LONG_CYRILLIC])
async def test_parts_are_rejoined(make_sim: SimFactory, method: str, text: str) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    parts = parts_of(text, method, reference=77)
    await send_all(esme, list(reversed(parts)))  # any order
    [message] = sim.recording.messages
    assert (message.source, message.destination, message.text) == ("Sender", "79031234567", text)
    assert message.parts == len(parts) and message.times_seen == 1
    assert sim.recording.accepted_counts[("79031234567", text)] == 1
    assert sim.incomplete_messages() == 0
    # Only the 16-bit-reference UDH breaks the provider's 6-byte rule.
    expected = ["L2951"] * len(parts) if method == "udh16" else []
    assert [v.split("seed 004 ")[-1][:5] for v in sim.recording.violations] == expected
    await esme.close()


async def test_a_resent_message_is_seen_twice(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    await send_all(esme, parts_of(LONG_LATIN, "udh", reference=1))
    await send_all(esme, parts_of(LONG_LATIN, "udh", reference=2))
    [message] = sim.recording.messages
    assert message.times_seen == 2
    assert sim.recording.accepted_counts[("79031234567", LONG_LATIN)] == 2
    await esme.close()


async def test_same_reference_to_two_destinations_does_not_mix(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    first = parts_of(LONG_LATIN, "udh", reference=5, destination="79030000001")
    second = parts_of(LONG_CYRILLIC, "udh", reference=5, destination="79030000002")
    await send_all(esme, [p for pair in zip(first, second, strict=False) for p in pair])
    await send_all(esme, second[len(first) :])
    texts = {(m.destination, m.text) for m in sim.recording.messages}
    assert texts == {("79030000001", LONG_LATIN), ("79030000002", LONG_CYRILLIC)}
    await esme.close()


async def test_refused_part_is_not_joined_until_resent(make_sim: SimFactory) -> None:
    sim = await make_sim()
    sim.config.faults.throttle_first["79031234567"] = 1
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    first, *rest = parts_of(LONG_LATIN, "udh", reference=9)
    assert (await esme.request(first)).command_status != 0
    await send_all(esme, rest)
    assert sim.recording.messages == [] and sim.incomplete_messages() == 1
    first.sequence_number = 0
    await send_all(esme, [first])
    assert [m.text for m in sim.recording.messages] == [LONG_LATIN]
    await esme.close()


async def test_duplicate_and_inconsistent_parts_are_violations(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    await send_all(
        esme,
        [
            udh_part(3, 3, 1, b"one "),
            udh_part(3, 3, 1, b"one again "),
            udh_part(3, 2, 2, b"two of two?"),
            udh_part(3, 3, 4, b"four of three"),
        ],
    )
    violations = sim.recording.violations
    assert len(violations) == 3
    assert "part 1 of 3 sent twice" in violations[0]
    assert "says 2 parts, an earlier part said 3" in violations[1]
    assert "inconsistent concatenation" in violations[2]
    await send_all(esme, [udh_part(3, 3, 2, b"two "), udh_part(3, 3, 3, b"three")])
    assert [m.text for m in sim.recording.messages] == ["four of three", "one two three"]
    await esme.close()


async def test_oversized_parts_are_violations(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    ucs2_part = SubmitSm(
        destination_addr="79030000001",
        esm_class=ESM_UDHI,
        data_coding=DataCoding.UCS2,
        short_message=bytes((5, 0, 3, 1, 2, 1)) + "я".encode("utf-16-be") * 68,  # 142 octets
    )
    gsm_single = SubmitSm(destination_addr="79030000002", short_message=b"a" * 161)
    gsm_fits = SubmitSm(destination_addr="79030000003", short_message=b"a" * 160)
    await send_all(esme, [ucs2_part, gsm_single, gsm_fits])
    assert sim.recording.violations == [
        "part to 79030000001: 142 octets, more than one SMS carries (140)",
        "part to 79030000002: 161 septets, more than one SMS carries (160)",
    ]
    await esme.close()


async def test_short_validity_period_is_a_violation(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    await send_all(
        esme,
        [
            SubmitSm(destination_addr="79030000001", validity_period="000000000030000R"),
            SubmitSm(destination_addr="79030000002", validity_period="000000000100000R"),
        ],
    )
    [violation] = sim.recording.violations
    assert "79030000001" in violation and "L2971-2972" in violation
    await esme.close()


async def test_message_payload_single_submit(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    payload = LONG_CYRILLIC.encode("utf-16-be")
    await send_all(
        esme,
        [
            SubmitSm(
                destination_addr="79030000001",
                data_coding=DataCoding.UCS2,
                tlvs={Tag.MESSAGE_PAYLOAD: payload},
            )
        ],
    )
    assert [m.text for m in sim.recording.messages] == [LONG_CYRILLIC]
    assert sim.recording.violations == []
    await esme.close()
