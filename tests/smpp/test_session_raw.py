"""Session behaviour the simulator cannot provoke, against a scripted SMSC on real TCP: bodies
that do not decode, the SMSC's own enquire_link, unknown commands, data_sm, server unbind."""

from __future__ import annotations

import asyncio
import ssl
import struct
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dispatcher.clock import ScaledClock
from dispatcher.smpp import OutcomeKind, SessionInfo, SessionState, SmppSession
from dispatcher.smpp.session import FRAME_NOT_READ
from dispatcher.smpp.settings import BindMode
from pdu import pdus
from pdu.codec import decode, encode
from pdu.constants import CommandId, CommandStatus
from pdu.framer import Framer

from .conftest import PASSWORD, SYSTEM_ID, PoolFactory, account, bound, request


class ScriptedSmsc:
    """Answers the bind, then sends what the test tells it and queues what it receives."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.binds: list[pdus.BindTransceiver] = []
        self.received: asyncio.Queue[Any] = asyncio.Queue()
        self._writer: asyncio.StreamWriter | None = None
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        framer = Framer()
        while data := await reader.read(65536):
            for frame in framer.feed(data):
                pdu = decode(frame)
                if isinstance(pdu, pdus.BindTransceiver):
                    self.binds.append(pdu)
                    self.send(
                        pdus.BindTransceiverResp(
                            system_id="scripted", sequence_number=pdu.sequence_number
                        )
                    )
                elif isinstance(pdu, pdus.Unbind):
                    self.send(pdus.UnbindResp(sequence_number=pdu.sequence_number))
                else:
                    await self.received.put(pdu)

    def send(self, pdu: Any) -> None:
        self.send_raw(encode(pdu))

    def send_raw(self, frame: bytes) -> None:
        assert self._writer is not None
        self._writer.write(frame)

    async def next(self) -> Any:
        return await asyncio.wait_for(self.received.get(), 5.0)


@pytest.fixture
async def smsc() -> AsyncIterator[ScriptedSmsc]:
    server = ScriptedSmsc()
    await server.start()
    yield server
    await server.stop()


async def open_session(smsc: ScriptedSmsc, clock: ScaledClock, inbound: list[Any]) -> SmppSession:
    settings = account(smsc.port)
    info = SessionInfo(settings.name, 0, "127.0.0.1", smsc.port, BindMode.TRX)
    return await SmppSession.open(
        settings, info, clock=clock, on_inbound=lambda _info, pdu: inbound.append(pdu)
    )


async def test_every_deliver_sm_and_data_sm_is_acked_with_status_zero(
    smsc: ScriptedSmsc, clock: ScaledClock
) -> None:
    inbound: list[Any] = []
    session = await open_session(smsc, clock, inbound)
    # a deliver_sm whose body has no NUL-terminated service_type: it cannot be decoded
    smsc.send_raw(struct.pack(">IIII", 19, CommandId.DELIVER_SM, 0, 77) + b"\x01\x02\x03")
    ack = await smsc.next()
    assert isinstance(ack, pdus.DeliverSmResp)
    assert (ack.sequence_number, ack.command_status) == (77, CommandStatus.ESME_ROK)
    smsc.send(pdus.DataSm(source_addr="79031234567", destination_addr="Shop", sequence_number=78))
    ack = await smsc.next()
    assert isinstance(ack, pdus.DataSmResp) and (ack.sequence_number, ack.command_status) == (78, 0)
    smsc.send(pdus.DeliverSm(short_message=b"hi", sequence_number=79))
    ack = await smsc.next()
    assert isinstance(ack, pdus.DeliverSmResp) and (ack.sequence_number, ack.command_status) == (
        79,
        0,
    )
    assert [type(p) for p in inbound] == [pdus.DataSm, pdus.DeliverSm]
    assert session.state is SessionState.BOUND
    await session.close(10.0)


async def test_a_frame_reader_takes_the_frames_it_reads_and_leaves_the_rest(
    smsc: ScriptedSmsc, clock: ScaledClock
) -> None:
    read: list[bytes] = []
    inbound: list[Any] = []

    def read_inbound_frame(_info: SessionInfo, frame: bytes) -> object:
        pdu = decode(frame)
        assert isinstance(pdu, pdus.DeliverSm)
        if pdu.short_message == b"fails":
            raise RuntimeError("a bug in the reader")
        if pdu.short_message != b"read me":
            return FRAME_NOT_READ
        read.append(frame)
        return None

    settings = account(smsc.port)
    info = SessionInfo(settings.name, 0, "127.0.0.1", smsc.port, BindMode.TRX)
    session = await SmppSession.open(
        settings, info, clock=clock, on_inbound=lambda _info, pdu: inbound.append(pdu),
        read_inbound_frame=read_inbound_frame,
    )
    for seq, text in enumerate((b"read me", b"left", b"fails"), start=80):
        smsc.send(pdus.DeliverSm(short_message=text, sequence_number=seq))
        ack = await smsc.next()
        assert isinstance(ack, pdus.DeliverSmResp)
        assert (ack.sequence_number, ack.command_status) == (seq, CommandStatus.ESME_ROK)
    # the frame it read never reached the handler; the one it left and the one it failed on
    # did, decoded
    assert [decode(frame).sequence_number for frame in read] == [80]
    assert [(p.sequence_number, p.short_message) for p in inbound] == [(81, b"left"),
                                                                      (82, b"fails")]
    await session.close(10.0)


async def test_smsc_requests_get_their_answers(smsc: ScriptedSmsc, clock: ScaledClock) -> None:
    session = await open_session(smsc, clock, [])
    smsc.send(pdus.EnquireLink(sequence_number=5))
    answer = await smsc.next()
    assert isinstance(answer, pdus.EnquireLinkResp) and answer.sequence_number == 5
    smsc.send_raw(struct.pack(">IIII", 16, 0x00000099, 0, 6))
    answer = await smsc.next()
    assert isinstance(answer, pdus.GenericNack)
    assert (answer.sequence_number, answer.command_status) == (6, CommandStatus.ESME_RINVCMDID)
    assert session.state is SessionState.BOUND
    smsc.send(pdus.Unbind(sequence_number=7))
    answer = await smsc.next()
    assert isinstance(answer, pdus.UnbindResp) and answer.sequence_number == 7
    assert await asyncio.wait_for(session.wait_closed(), 5.0) == "unbind from the SMSC"
    assert session.in_flight == 0 and not session.is_bound


async def test_a_response_body_that_does_not_decode_still_answers_its_request(
    smsc: ScriptedSmsc, make_pool: PoolFactory
) -> None:
    pool = await make_pool(account(smsc.port))
    await bound(pool)
    accepted = await pool.submit(request("accepted"))
    submit = await smsc.next()
    assert isinstance(submit, pdus.SubmitSm)
    # status 0 and a message_id with no terminating NUL
    smsc.send_raw(
        struct.pack(">IIII", 19, CommandId.SUBMIT_SM_RESP, 0, submit.sequence_number) + b"abc"
    )
    outcome = await accepted
    assert outcome.kind is OutcomeKind.ACCEPTED and outcome.message_ids == ("",)
    refused = await pool.submit(request("refused"))
    submit = await smsc.next()
    smsc.send_raw(
        struct.pack(
            ">IIII",
            19,
            CommandId.SUBMIT_SM_RESP,
            CommandStatus.ESME_RINVDSTADR,
            submit.sequence_number,
        )
        + b"abc"
    )
    assert (await refused).kind is OutcomeKind.REJECTED
    assert pool.bound_sessions == 1


async def test_the_bind_carries_the_provider_settings(
    smsc: ScriptedSmsc, clock: ScaledClock
) -> None:
    session = await open_session(smsc, clock, [])
    (bind,) = smsc.binds
    assert (bind.system_id, bind.password) == (SYSTEM_ID, PASSWORD)  # a 22-character password
    assert (bind.system_type, bind.interface_version) == ("", 0x34)  # seed L2900-2901
    assert (bind.addr_ton, bind.addr_npi, bind.address_range) == (0, 0, "")
    await session.close(10.0)


async def test_a_session_over_tls(tmp_path: Path, clock: ScaledClock) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))
    smsc = ScriptedSmsc(tls=server_context)
    await smsc.start()
    try:
        settings = account(smsc.port, tls=client_context)
        info = SessionInfo(settings.name, 0, "127.0.0.1", smsc.port, BindMode.TRX)
        session = await SmppSession.open(settings, info, clock=clock)
        assert session.is_bound and len(smsc.binds) == 1
        smsc.send(pdus.EnquireLink(sequence_number=9))
        answer = await smsc.next()
        assert isinstance(answer, pdus.EnquireLinkResp)
        await session.close(10.0)
    finally:
        await smsc.stop()
