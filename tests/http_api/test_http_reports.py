"""The report figures end to end: orders through the API, deposit, pickup
and an alarm reported by the kiosk, the figures read back as the auditor."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from common.convert import to_timestamp
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.http_api.conftest import reason


def _events(api, *events):
    api.registry.kiosk.ReportEvents(pb.ReportEventsRequest(kiosk_id="kiosk-1", events=events),
                                    timeout=5)


def _event(type_, reference="", at=None, **fields):
    return pb.KioskEvent(event_id=str(uuid.uuid4()), type=type_, order_reference=reference,
                         occur_time=to_timestamp(at), **fields)


def test_reports_through_the_api(api):
    at = [datetime(2026, 11, 3, 8, tzinfo=timezone.utc),  # 09:00 in Berlin: deposit
          datetime(2026, 11, 3, 21, tzinfo=timezone.utc)]  # 22:00: collected, counter closed
    with api.client("integration") as http:
        reference = http.post("/orders", json={"kind": "DOCUMENT_KIND_ID_CARD"}).json()[
            "order"]["reference"]
        refused = http.get("/reports")
    assert (refused.status_code, reason(refused)) == (403, "ROLE_MISSING")
    _events(api, _event(pb.EVENT_TYPE_ORDER_DEPOSITED, reference, at[0], compartment_number=1),
            _event(pb.EVENT_TYPE_ORDER_COLLECTED, reference, at[1], pin_letter_confirmed=True),
            _event(pb.EVENT_TYPE_DOOR_FORCED, "", at[1], compartment_number=2))
    with api.client("auditor") as http:
        report = http.get("/reports", params={"start": "2026-11-01", "end": "2026-11-30"}).json()
        exported = http.get("/reports:csv", params={"start": "2026-11-01"})
        public = http.get("/reports/open-data").json()
        bad = http.get("/reports", params={"start": "1.11.2026"})
    assert report["pickups_total"] == 1 and report["pickups_per_day"]["2026-11-03"] == 1
    assert report["pickups_per_hour"][22] == 1 and report["outside_opening_hours"] == 1
    assert report["days_to_pickup"]["0"] == 1
    assert report["alarms_by_kind"] == {"DOOR_FORCED": 1}
    assert exported.headers["content-type"].startswith("text/csv")
    assert "pickups_per_day,2026-11-03,1" in exported.text
    assert public["pickups_per_month"] == {"2026-11": None} and reference not in str(public)
    assert (bad.status_code, reason(bad)) == (400, "INVALID_ARGUMENT")
    assert "YYYY-MM-DD" in bad.json()["error"]["message"]
    # Another office's supervisor sees none of it.
    with api.client("north-supervisor") as http:
        north = http.get("/reports").json()
    assert north["pickups_total"] == 0 and north["alarms_by_kind"] == {}
