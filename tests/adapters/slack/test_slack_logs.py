"""A failed signature check logs no request body, though Bolt writes it at INFO."""

from __future__ import annotations

import io
import json
import logging

from adapters.logs import WITHHELD, WithholdRequestData, configure_server_logging
from tests.adapters.slack.conftest import SlackHarness, event_payload

HKID = "A123456(7)"


async def test_a_request_with_a_wrong_signature_leaves_no_body_in_the_logs(
    harness: SlackHarness,
):
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_server_logging("INFO", stream=stream)
    try:
        payload = event_payload("dm_message", text=f"My HKID is {HKID}, can I paste it?")
        posted = await harness.post(json.dumps(payload), "application/json", secret="rotated")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])

    assert posted.status == 401
    logged = stream.getvalue()
    assert "Invalid request signature" in logged, "Bolt's record is still there, cut short"
    assert WITHHELD in logged
    assert HKID not in logged and "paste it" not in logged


def test_records_of_the_loggers_given_to_bolt_are_cut_too():
    record = logging.makeLogRecord(
        {"name": "adapters.slack.bolt", "msg": "request body: %s", "args": ({"text": HKID},)}
    )
    WithholdRequestData().filter(record)

    assert HKID not in record.getMessage()
