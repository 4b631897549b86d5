"""JSON log lines: stable keys, secrets scrubbed, numbers and bodies maskable."""

from __future__ import annotations

import io
import json
import logging

import structlog

from dispatcher.logs import REDACTED, configure_logging, mask_number


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_events_are_json_lines_with_secrets_removed() -> None:
    stream = io.StringIO()
    configure_logging("info", secrets=["hunter2-long-password"], stream=stream)
    log = structlog.get_logger()
    log.info("bind_failed", host="smpp01", password="hunter2-long-password", status=14)
    log.warning("odd", detail="server said hunter2-long-password back")
    log.debug("hidden")
    logging.getLogger("asyncio").error("stdlib says \"hunter2-long-password\"")
    events = lines(stream)
    assert [e["event"] for e in events[:2]] == ["bind_failed", "odd"]
    assert events[0]["password"] == REDACTED and events[0]["level"] == "info"
    assert "timestamp" in events[0]
    assert events[1]["detail"] == f"server said {REDACTED} back"
    assert "hidden" not in stream.getvalue()
    assert "hunter2-long-password" not in stream.getvalue()
    assert len(events) == 3


def test_numbers_and_bodies_masked_when_asked() -> None:
    stream = io.StringIO()
    configure_logging("info", mask_numbers=True, mask_bodies=True, stream=stream)
    structlog.get_logger().info("sent", destination="79031234567", body="secret plans")
    event = lines(stream)[0]
    assert event["destination"] == mask_number("79031234567") == "7903***4567"
    assert event["body"] == "<12 chars>"
