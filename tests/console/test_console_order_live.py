"""An order's page follows the order live: its event stream over real HTTP
sends the state and history again when the kiosk reports on the order, and
has the page's access checks (another office's clerk, a technician, nobody
signed in: no stream)."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from registry import identity
from registry.console import history, live
from registry.permissions import Role
from tests.console.conftest import PASSWORD
from tests.registry.conftest import compartments
from pickupbox.registry.v1 import registry_pb2 as pb

pytestmark = pytest.mark.integration


def _announce(console, reference: str) -> None:
    console.registry.kiosk.RegisterKiosk(pb.RegisterKioskRequest(
        kiosk_id="kiosk-1", software_version="test",
        compartments=compartments(*(pb.COMPARTMENT_STATE_FREE,) * 3)), timeout=5)
    console.registry.office.CreatePickupOrder(pb.CreatePickupOrderRequest(
        request_id=str(uuid.uuid4()), reference=reference, kind=pb.DOCUMENT_KIND_ID_CARD,
        kiosk_id="kiosk-1"), timeout=5)


def _report_deposit(console, reference: str) -> None:
    event = pb.KioskEvent(event_id=str(uuid.uuid4()), type=pb.EVENT_TYPE_ORDER_DEPOSITED,
                          order_reference=reference, compartment_number=2, staff_ids=["s-1"])
    event.occur_time.GetCurrentTime()
    event.pickup_deadline.FromDatetime(datetime.now(timezone.utc) + timedelta(days=14))
    console.registry.kiosk.ReportEvents(
        pb.ReportEventsRequest(kiosk_id="kiosk-1", events=[event]), timeout=5)


def _listen(client, path: str, until: str) -> tuple[threading.Event, list[str]]:
    """Reads the stream in a thread to the end of the event with a line holding ``until``.
    Returns once the stream has taken its first fingerprint (its retry hint came)."""
    lines: list[str] = []
    started, seen = threading.Event(), threading.Event()

    def listen():
        with client.stream("GET", path, timeout=30) as stream:
            for line in stream.iter_lines():
                lines.append(line)
                started.set()
                if line == "" and any(until in earlier for earlier in lines):
                    seen.set()
                    return

    threading.Thread(target=listen, daemon=True).start()
    assert started.wait(20), "the stream did not start"
    return seen, lines


def test_an_event_carries_every_line_of_its_parts_as_a_data_line():
    assert live.sse_event("order", '<div id="a">\n1</div>') == (
        'event: order\ndata: <div id="a">\ndata: 1</div>\n\n')
    assert live.sse_event("signedout", "") == "event: signedout\ndata: \n\n"


def test_the_order_stream_sends_state_and_history_when_the_kiosk_reports(console):
    _announce(console, "BB-LIVE-O")
    clara = console.client("clara")
    page = clara.get("/orders/BB-LIVE-O")
    shown = f"/orders/BB-LIVE-O/live?shown={pb.ORDER_STATUS_ANNOUNCED}"
    assert f'data-live="{shown}"' in page.text and 'id="order-history"' in page.text
    opened, lines = _listen(clara, shown, "In der Station")
    with console.registry.server.db.transaction() as tx:
        before = history.order_history_version(tx, "BB-LIVE-O")
    _report_deposit(console, "BB-LIVE-O")
    assert opened.wait(20), lines[-5:]
    data = "\n".join(lines)
    assert "event: order" in data
    assert 'data: <div id="order-facts">' in data and 'data: <div id="order-history">' in data
    assert '<dd id="order-state">In der Station</dd>' in data
    assert "<td>In die Station eingelegt</td><td>Station kiosk-1</td>" in data  # the history
    # The page was opened while announced: the clerk is told the actions changed.
    assert "Der Auftrag hat sich geändert" in data
    with console.registry.server.db.transaction() as tx:
        assert history.order_history_version(tx, "BB-LIVE-O") != before


def test_the_order_stream_has_the_pages_access_checks(console):
    _announce(console, "BB-LIVE-P")
    with console.registry.server.db.transaction() as tx:
        tx.add_office("nord", "Bürgerbüro Nord")
        identity.create_user(tx, "nora", PASSWORD, "nord", frozenset({Role.CLERK}))
    path = "/orders/BB-LIVE-P/live"
    # A clerk of another office: the page's refusal, no stream, nothing of the order.
    nora = console.client("nora")
    foreign = nora.get(path)
    assert foreign.status_code == nora.get("/orders/BB-LIVE-P").status_code == 403
    assert foreign.headers["content-type"].startswith("text/html")
    assert "event:" not in foreign.text and "order-state" not in foreign.text
    # No right to read orders (a technician): refused and audited, as for the page.
    technician = console.client("tina")
    refused = technician.get(path)
    assert refused.status_code == 403 and "event:" not in refused.text
    assert [r["actor"] for r in console.audit("call.denied")][-1] == "user:tina"
    # Nobody signed in: to the sign-in page.
    anonymous = console.anonymous().get(path)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin")
    # The office's own clerk gets the stream.
    with console.client("clara").stream("GET", path, timeout=30) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
