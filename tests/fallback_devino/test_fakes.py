"""The Devino fakes themselves, spoken to with a plain HTTP client: the formats they accept and
the answers they give are the ones the spec documents."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

import aiohttp
import pytest

from dispatcher.clock import ScaledClock, SystemClock
from dispatcher.fallback.http import parse_xml
from dispatcher.provider_sim import devino_soap as soap_sim
from dispatcher.provider_sim.devino_platform import DevinoPlatform
from tests.http_servers import Serve

from .conftest import LOGIN, PASSWORD, new_platform

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP_HEADERS = {"Content-Type": "application/soap+xml; charset=utf-8"}


def envelope(operation: str, fields: str, *, soap_ns: str = SOAP12) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap12:Envelope xmlns:soap12="{soap_ns}"><soap12:Body>'
        f'<{operation} xmlns="http://ws.devinosms.com">{fields}</{operation}>'
        "</soap12:Body></soap12:Envelope>"
    ).encode()


async def rest_login(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(
        f"{url}/rest/user/sessionid?" + urlencode({"login": LOGIN, "password": PASSWORD})
    ) as r:
        return str(json.loads(await r.text()))


# --- REST ------------------------------------------------------------------------------------


async def test_rest_session_answer_and_case_insensitive_names(rest_url: str) -> None:
    async with aiohttp.ClientSession() as http:
        query = urlencode({"LOGIN": LOGIN, "PassWord": PASSWORD})
        async with http.get(f"{rest_url}/REST/User/SessionID?{query}") as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "application/json; charset=utf-8"
            assert response.headers["Cache-Control"] == "private"
            session_id = json.loads(await response.text())
    assert isinstance(session_id, str) and len(session_id) == 36  # seed L128


async def test_rest_errors_are_strict_json_with_the_table_status(rest_url: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{rest_url}/rest/user/sessionid?login={LOGIN}&password=wrong") as r:
            assert r.status == 401
            assert json.loads(await r.text()) == {
                "Code": 4,
                "Desc": "Invalid user login or password",
            }
        async with http.get(f"{rest_url}/rest/User/Balance?SessionID=NOSUCHSESSION") as r:
            assert r.status == 400
            assert json.loads(await r.text())["Code"] == 3


async def test_rest_send_validates_in_the_documented_order(rest_url: str) -> None:
    async with aiohttp.ClientSession() as http:
        session_id = await rest_login(http, rest_url)
        form = {
            "SessionID": session_id,
            "SourceAddress": "DEVINO",
            "DestinationAddress": "79161002030",
        }
        async with http.post(f"{rest_url}/rest/Sms/Send", data=form) as r:  # no Data
            assert r.status == 400
            assert json.loads(await r.text())["Code"] == 1
        bad_sender = {**form, "Data": "x", "SourceAddress": "NAME-TOO-LONG-X"}
        async with http.post(f"{rest_url}/rest/Sms/Send", data=bad_sender) as r:
            assert (r.status, json.loads(await r.text())) == (
                400,
                {"Code": 6, "Desc": "Invalid source address"},
            )
        async with http.get(f"{rest_url}/rest/Sms/Send", params={**form, "Data": "x"}) as r:
            assert r.status == 405  # sends are POST


async def test_rest_takes_query_and_form_parameters_and_the_first_repeated_scalar(
    rest_url: str, platform: DevinoPlatform
) -> None:
    async with aiohttp.ClientSession() as http:
        session_id = await rest_login(http, rest_url)
        query = urlencode({"SessionId": session_id, "SourceAddress": "DEVINO"})
        body = "DestinationAddress=79161002030&Data=first&data=second&sourceaddress=bad%21%21"
        async with http.post(
            f"{rest_url}/rest/sms/send?{query}",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ) as r:
            assert r.status == 200, await r.text()
            ids = json.loads(await r.text())
    assert [s.text for s in platform.segments.values()] == ["first"]
    assert len(ids) == 1


async def test_rest_sendbulk_limit_and_segment_ids(rest_url: str) -> None:
    async with aiohttp.ClientSession() as http:
        session_id = await rest_login(http, rest_url)
        too_many = [("SessionID", session_id), ("SourceAddress", "DEVINO"), ("Data", "x")]
        too_many += [("DestinationAddresses", f"7916{i:07d}") for i in range(3000)]
        async with http.post(f"{rest_url}/rest/Sms/SendBulk", data=too_many) as r:
            assert (r.status, json.loads(await r.text())["Code"]) == (400, 2)

        two = [("SessionID", session_id), ("SourceAddress", "DEVINO"), ("Data", "x" * 161)]
        two += [("DestinationAddresses", "79160000001"), ("DestinationAddresses", "79160000002")]
        async with http.post(f"{rest_url}/rest/Sms/SendBulk", data=two) as r:
            ids = json.loads(await r.text())
    # seed L526-529: all segments of the first recipient, then all of the next
    assert [i.split("-")[1] for i in ids] == ["GW01+79160000001"] * 2 + ["GW01+79160000002"] * 2


async def test_rest_state_needs_plus_encoded_and_dates_in_ms_form(
    rest_url: str, platform: DevinoPlatform
) -> None:
    async with aiohttp.ClientSession() as http:
        session_id = await rest_login(http, rest_url)
        form = [("SessionID", session_id), ("SourceAddress", "DEVINO"), ("Data", "x" * 161)]
        form += [("DestinationAddresses", "79160000001"), ("DestinationAddresses", "79160000002")]
        async with http.post(f"{rest_url}/rest/Sms/SendBulk", data=form) as r:
            segment_id = json.loads(await r.text())[0]
        assert "+" in segment_id

        encoded = urlencode({"sessionId": session_id, "messageId": segment_id})
        async with http.get(f"{rest_url}/rest/Sms/State?{encoded}") as r:
            text = await r.text()
        assert json.loads(text)["State"] in (-2, -1)
        assert '"CreationDateUtc":"\\/Date(' in text  # seed L743-749

        raw = f"sessionId={session_id}&messageId={segment_id}"  # `+` left as is: a space
        async with http.get(f"{rest_url}/rest/Sms/State?{raw}") as r:
            assert json.loads(await r.text())["State"] == 255


async def test_rest_v2_has_no_session_resource(rest_url: str) -> None:
    url = f"{rest_url}/rest/v2/user/sessionid?login={LOGIN}"
    async with aiohttp.ClientSession() as http, http.get(url) as r:
        assert r.status == 404


async def test_rest_statistics_refuses_more_than_90_days(rest_url: str) -> None:
    params = {"Login": LOGIN, "Password": PASSWORD, "startDateTime": "2012-01-18 00:00:00"}
    async with aiohttp.ClientSession() as http:
        query = urlencode({**params, "endDateTime": "2012-06-18T00:00:00"})
        async with http.get(f"{rest_url}/rest/v2/Sms/Statistics?{query}") as r:
            assert (r.status, json.loads(await r.text())) == (
                400,
                {"Code": 2, "Desc": "Нельзя указывать диапазон дат более 90 дней."},
            )
        query = urlencode({**params, "endDateTime": "2012-01-18T23:59:00"})
        async with http.get(f"{rest_url}/rest/v2/Sms/Statistics?{query}") as r:
            answer = json.loads(await r.text())
    assert answer["Total"] == 0 and set(answer) >= {
        "Sent",
        "Delivered",
        "InProcess",
        "DeliveryRatio",
    }


# --- SOAP ------------------------------------------------------------------------------------


async def soap_post(
    url: str, path: str, body: bytes, headers: dict[str, str] = SOAP_HEADERS
) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}{path}", data=body, headers=headers) as r,
    ):
        return r.status, await r.text()


def fault_of(text: str) -> tuple[str, str]:
    root = parse_xml(text)
    value = root.find(f".//{{{SOAP12}}}Value")
    reason = root.find(f".//{{{SOAP12}}}Text")
    assert value is not None and reason is not None
    return value.text or "", reason.text or ""


async def test_soap_faults_are_http_500_with_the_seed_reason(soap_url: str) -> None:
    body = envelope("GetSessionID", f"<login>{LOGIN}</login><password>wrong</password>")
    status, text = await soap_post(soap_url, "/SmsService.asmx", body)
    assert status == 500
    assert fault_of(text) == (
        "soap:Receiver",
        "Server was unable to process request. ---> Invalid user login or password",
    )


async def test_soap_matches_paths_and_local_names_case_insensitively(soap_url: str) -> None:
    login = envelope("GetSessionID", f"<LOGIN>{LOGIN}</LOGIN><Password>{PASSWORD}</Password>")
    status, text = await soap_post(soap_url, "/smsservice.ASMX", login)
    assert status == 200, text
    result = parse_xml(text).find(".//{http://ws.devinosms.com}GetSessionIDResult")
    assert result is not None and len(result.text or "") == 36
    # seed L4076: GetStatistics names it `sessionId`
    stats = envelope(
        "GetStatistics",
        f"<sessionId>{result.text}</sessionId><startDateTime>2024-01-01T00:00:00</startDateTime>"
        "<endDateTime>2024-01-02T00:00:00</endDateTime>",
    )
    status, text = await soap_post(soap_url, "/SmsService.asmx", stats)
    assert status == 200, text
    assert parse_xml(text).find(".//{http://ws.devinosms.com}Delivered") is not None


async def test_soap_refuses_other_request_formats(soap_url: str) -> None:
    login = envelope("GetBalance", f"<login>{LOGIN}</login><password>{PASSWORD}</password>")
    status, _ = await soap_post(
        soap_url, "/SmsServicev2.asmx", login, {"Content-Type": "text/xml; charset=utf-8"}
    )
    assert status == 415

    soap11 = envelope("GetBalance", "", soap_ns="http://schemas.xmlsoap.org/soap/envelope/")
    status, text = await soap_post(soap_url, "/SmsServicev2.asmx", soap11)
    assert (status, fault_of(text)[0]) == (500, "soap:VersionMismatch")

    wrong_ns = login.replace(b"http://ws.devinosms.com", b"http://ws.devinotele.com")
    status, text = await soap_post(soap_url, "/SmsServicev2.asmx", wrong_ns)
    assert (status, fault_of(text)[0]) == (500, "soap:Sender")

    no_session_op = envelope(
        "GetSessionID", f"<login>{LOGIN}</login><password>{PASSWORD}</password>"
    )
    status, text = await soap_post(soap_url, "/SmsServicev2.asmx", no_session_op)
    assert (status, fault_of(text)[0]) == (500, "soap:Sender")  # v2 has no GetSessionID


async def test_soap_refuses_entity_expansion(soap_url: str, platform: DevinoPlatform) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b'<soap12:Envelope xmlns:soap12="http://www.w3.org/2003/05/soap-envelope"><soap12:Body>'
        b'<GetBalance xmlns="http://ws.devinosms.com"><login>&b;</login></GetBalance>'
        b"</soap12:Body></soap12:Envelope>"
    )
    status, text = await soap_post(soap_url, "/SmsServicev2.asmx", bomb)
    assert (status, fault_of(text)[0]) == (500, "soap:Sender")
    assert platform.requests_for("soap") == []


async def test_soap_refuses_more_than_ten_requests_per_second(serve: Serve) -> None:
    platform = new_platform(SystemClock())  # real time: 15 requests at once fall in one second
    url = await serve(soap_sim.build_app(platform))
    balance = envelope("GetBalance", f"<login>{LOGIN}</login><password>{PASSWORD}</password>")

    answers = await asyncio.gather(
        *(soap_post(url, "/SmsServicev2.asmx", balance) for _ in range(15))
    )

    refused = [text for status, text in answers if status == 500]
    assert len(refused) == platform.rate_limited >= 5
    assert "Too many requests" in fault_of(refused[0])[1]


async def test_soap_message_state_answer(soap_url: str, clock: ScaledClock) -> None:
    auth = f"<login>{LOGIN}</login><password>{PASSWORD}</password>"
    send = envelope(
        "SendMessage",
        auth + "<message><Data>hi</Data><DestinationAddresses><string>79161002030</string>"
        "</DestinationAddresses><SourceAddress>DEVINO</SourceAddress></message>",
    )
    status, text = await soap_post(soap_url, "/SmsServicev2.asmx", send)
    assert status == 200, text
    message_id = parse_xml(text).findtext(".//{http://ws.devinosms.com}string")
    await clock.sleep(10.0)

    state = envelope("GetMessageState", auth + f"<messageID>{message_id}</messageID>")
    status, text = await soap_post(soap_url, "/SmsServicev2.asmx", state)
    result = parse_xml(text).find(".//{http://ws.devinosms.com}GetMessageStateResult")
    assert result is not None
    fields = {child.tag.split("}")[1]: child.text for child in result}
    # seed L4032-4039: the fields, in this order
    assert list(fields) == [
        "State",
        "CreationDateUtc",
        "SubmittedDateUtc",
        "ReportedDateUtc",
        "StateDescription",
        "Price",
    ]
    assert (fields["State"], fields["StateDescription"]) == ("0", "Доставлено абоненту")


@pytest.mark.parametrize("validity", ["abc", "1.5"])
async def test_soap_refuses_a_validity_that_is_not_an_int(soap_url: str, validity: str) -> None:
    send = envelope(
        "SendMessage",
        f"<login>{LOGIN}</login><password>{PASSWORD}</password><message><Data>hi</Data>"
        "<DestinationAddresses><string>79161002030</string></DestinationAddresses>"
        f"<SourceAddress>DEVINO</SourceAddress><Validity>{validity}</Validity></message>",
    )
    status, text = await soap_post(soap_url, "/SmsServicev2.asmx", send)
    assert status == 500
    assert "Validity" in fault_of(text)[1] or "validity" in fault_of(text)[1]
