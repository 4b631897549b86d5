"""submit_sm and the other message operations: ids, recordings, query/cancel/replace."""

from __future__ import annotations

from pdu.constants import CommandStatus, DataCoding
from pdu.pdus import (
    CancelSm,
    DataSm,
    DestAddress,
    QuerySm,
    QuerySmResp,
    ReplaceSm,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
)
from pdu.receipt import MESSAGE_STATE_BY_STAT
from pdu.smpp_time import parse_smpp_time
from pdu.tlv import Tag
from tests.smsc_sim.conftest import PASSWORD, SYSTEM_ID, SimFactory
from tests.smsc_sim.smpp_client import TinyEsme


def submit(destination: str, text: bytes = b"hello", **fields: object) -> SubmitSm:
    return SubmitSm(
        source_addr_ton=5,
        source_addr_npi=1,
        source_addr="Sender",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=destination,
        short_message=text,
        **fields,  # type: ignore[arg-type]
    )


async def test_hex_message_ids_are_upper_case_with_leading_zeros(make_sim: SimFactory) -> None:
    sim = await make_sim(message_id_format="hex", message_id_start=42, hex_id_width=10)
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    first = await esme.request(submit("79030000001"))
    second = await esme.request(submit("79030000002"))
    assert (first.message_id, second.message_id) == ("000000002A", "000000002B")
    await esme.close()


async def test_decimal_message_ids(make_sim: SimFactory) -> None:
    sim = await make_sim(message_id_format="decimal", message_id_start=1000)
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    first = await esme.request(submit("79030000001"))
    second = await esme.request(submit("79030000002"))
    assert (first.message_id, second.message_id) == ("1000", "1001")
    await esme.close()


async def test_every_submit_is_recorded(make_sim: SimFactory) -> None:
    sim = await make_sim()
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    pdu = submit(
        "79031234567",
        "Привет".encode("utf-16-be"),
        data_coding=DataCoding.UCS2,
        registered_delivery=1,
        validity_period="000000000500000R",
        tlvs={Tag.USER_MESSAGE_REFERENCE: b"\x00\x07"},
    )
    response = await esme.request(pdu)
    [record] = sim.recording.submits
    assert record.command == "submit_sm"
    assert record.sequence_number == pdu.sequence_number
    assert (record.source_addr_ton, record.source_addr_npi, record.source_addr) == (5, 1, "Sender")
    assert (record.dest_addr_ton, record.dest_addr_npi) == (1, 1)
    assert record.destination_addr == "79031234567"
    assert record.data_coding == DataCoding.UCS2 and record.esm_class == 0
    assert record.short_message == "Привет".encode("utf-16-be")
    assert record.tlvs == {Tag.USER_MESSAGE_REFERENCE: b"\x00\x07"}
    assert record.message_id == response.message_id and record.command_status == 0
    assert record.session_id == sim.recording.sessions[0].session_id
    assert sim.recording.accepted_counts[("79031234567", "Привет")] == 1
    assert sim.recording.violations == []
    await esme.close()


async def test_query_sm_follows_the_message_state(make_sim: SimFactory) -> None:
    # One clock second lasts 1 ms: the message turns final 10 ms after it was accepted.
    sim = await make_sim(receipt_delay=10.0, receipt_states={"UNDELIV": 1.0}, receipts=False)
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "trx")
    message_id = (await esme.request(submit("79030000001"))).message_id
    enroute = await esme.request(QuerySm(message_id=message_id, source_addr="Sender"))
    assert isinstance(enroute, QuerySmResp)
    assert enroute.message_state == MESSAGE_STATE_BY_STAT["ENROUTE"]
    assert enroute.final_date == ""
    await sim.wait_until(lambda: sim.message_state(message_id) == "UNDELIV")
    final = await esme.request(QuerySm(message_id=message_id, source_addr="Sender"))
    assert isinstance(final, QuerySmResp)
    assert final.message_state == MESSAGE_STATE_BY_STAT["UNDELIV"]
    assert final.error_code != 0
    assert parse_smpp_time(final.final_date) is not None
    unknown = await esme.request(QuerySm(message_id="FFFFFFFF"))
    assert unknown.command_status == CommandStatus.ESME_RQUERYFAIL
    await esme.close()


async def test_one_account_cannot_query_another_accounts_message(make_sim: SimFactory) -> None:
    sim = await make_sim(credentials={"a": "pa", "b": "pb"}, receipt_delay=1e6)
    a = await TinyEsme.bound(sim.port, "a", "pa", "tx")
    b = await TinyEsme.bound(sim.port, "b", "pb", "tx")
    message_id = (await a.request(submit("79030000001"))).message_id
    assert (await b.request(QuerySm(message_id=message_id))).command_status == (
        CommandStatus.ESME_RQUERYFAIL
    )
    await a.close()
    await b.close()


async def test_cancel_and_replace_before_the_final_state(make_sim: SimFactory) -> None:
    sim = await make_sim(receipt_delay=1e6)
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    replaced_id = (await esme.request(submit("79030000001"))).message_id
    replaced = await esme.request(ReplaceSm(message_id=replaced_id, short_message=b"new text"))
    assert replaced.command_status == CommandStatus.ESME_ROK
    cancelled_id = (await esme.request(submit("79030000002"))).message_id
    cancelled = await esme.request(CancelSm(message_id=cancelled_id))
    assert cancelled.command_status == CommandStatus.ESME_ROK
    assert sim.message_state(cancelled_id) == "DELETED"
    # A final message can be neither cancelled nor replaced.
    again = await esme.request(CancelSm(message_id=cancelled_id))
    assert again.command_status == CommandStatus.ESME_RCANCELFAIL
    late = await esme.request(ReplaceSm(message_id=cancelled_id, short_message=b"x"))
    assert late.command_status == CommandStatus.ESME_RREPLACEFAIL
    await esme.close()


async def test_data_sm_is_accepted_with_its_payload(make_sim: SimFactory) -> None:
    sim = await make_sim(message_id_format="decimal")
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    response = await esme.request(
        DataSm(
            source_addr="Sender",
            destination_addr="79030000009",
            tlvs={Tag.MESSAGE_PAYLOAD: b"payload text"},
        )
    )
    assert response.command_status == 0 and response.message_id == "1"
    assert sim.recording.submits[0].command == "data_sm"
    assert sim.recording.accepted_counts[("79030000009", "payload text")] == 1
    await esme.close()


async def test_submit_multi_lists_refused_destinations(make_sim: SimFactory) -> None:
    sim = await make_sim()
    sim.config.faults.invalid_destinations.add("79030000002")
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    response = await esme.request(
        SubmitMulti(
            source_addr="Sender",
            dest_addresses=[
                DestAddress.sme(1, 1, "79030000001"),
                DestAddress.sme(1, 1, "79030000002"),
                DestAddress.distribution_list("friends"),
            ],
            short_message=b"to many",
        )
    )
    assert isinstance(response, SubmitMultiResp)
    assert response.command_status == 0 and response.message_id
    refused = {(u.address, u.error_status_code) for u in response.unsuccess_smes}
    assert refused == {
        ("79030000002", CommandStatus.ESME_RINVDSTADR),
        ("friends", CommandStatus.ESME_RINVDLNAME),
    }
    assert [s.destination_addr for s in sim.recording.accepted()] == ["79030000001"]
    await esme.close()


async def test_many_pipelined_submits_without_recording(make_sim: SimFactory) -> None:
    """The benchmark configuration: header-only fast path, every submit still answered once."""
    sim = await make_sim(record=False, receipts=False)
    esme = await TinyEsme.bound(sim.port, SYSTEM_ID, PASSWORD, "tx")
    futures = []
    for index in range(500):
        pdu = submit(f"7903{index:07d}")
        pdu.sequence_number = index + 10
        futures.append(esme.expect(pdu.sequence_number))
        esme.send(pdu)
    responses = [await f for f in futures]
    ids = {r.message_id for r in responses}
    assert len(ids) == 500 and all(r.command_status == 0 for r in responses)
    assert sim.recording.submits == []
    # Pipelined submits arrive in chunks: the SMSC saw more than one outstanding at once.
    assert sim.recording.max_outstanding() > 1
    await esme.close()
