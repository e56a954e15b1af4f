"""Pickup orders through the console's forms, against the real registry: the
code and PIN shown once, the letter, finding, history, cancel and reissue,
and forms that never act twice or for the wrong person."""

from __future__ import annotations

import io
import re

import cv2
import numpy as np
import pypdf
import pytest

from hardware.camera.decoding import decode, make_decoder
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.console.conftest import form_fields

pytestmark = pytest.mark.integration

CODE = re.compile(r'id="pickup-code">([A-Z0-9-]+)<')
PIN = re.compile(r'id="pin">(\d{6})<')


def create(client, **fields):
    form = form_fields(client.get("/orders/new").text)
    data = {**form, "kind": "id_card", "size": "S", "language": "de", **fields}
    return client.post("/orders/new", data=data), data


def qr_of_letter(pdf: bytes) -> str:
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    (image,) = page.images
    frame = cv2.imdecode(np.frombuffer(image.data, np.uint8), cv2.IMREAD_COLOR)
    hit = decode(frame, make_decoder(None, source="test"))
    assert hit is not None, "no QR code in the letter"
    return hit.payloads[0].decode()


def test_a_clerk_creates_an_order_and_sees_code_qr_and_pin_once(console):
    client = console.client("clara")
    response, _ = create(client, contact="anna@example.org", reference="BB-2026-0001",
                         recipient="Anna Muster\nHauptstr. 1\n12345 Musterstadt")
    assert response.status_code == 200, response.text
    code, pin = CODE.search(response.text).group(1), PIN.search(response.text).group(1)
    assert '<svg role="img"' in response.text
    order = console.registry.office.GetPickupOrder(pb.GetPickupOrderRequest(
        reference="BB-2026-0001")).order
    assert order.status == pb.ORDER_STATUS_ANNOUNCED and order.kind == pb.DOCUMENT_KIND_ID_CARD
    created = console.audit("order.created")
    assert [(r["actor"], r["target"]) for r in created] == [("user:clara", "BB-2026-0001")]
    letter = client.get("/orders/BB-2026-0001/letter")
    assert letter.status_code == 200 and letter.headers["content-type"] == "application/pdf"
    assert qr_of_letter(letter.content) == "PBX1:" + code.replace("-", "")
    text = pypdf.PdfReader(io.BytesIO(letter.content)).pages[0].extract_text()
    assert code in text and "Anna Muster" in text and "Personalausweis" in text
    assert pin not in text  # the PIN never travels with the letter
    # Another session of the same user never gets this letter (nor its code).
    other = console.client("clara")
    assert other.get("/orders/BB-2026-0001/letter").status_code == 410


def test_the_letter_is_in_the_citizens_language(console):
    client = console.client("clara")
    response, _ = create(client, reference="BB-EN-1", language="en")
    assert response.status_code == 200
    text = pypdf.PdfReader(io.BytesIO(client.get("/orders/BB-EN-1/letter").content)
                           ).pages[0].extract_text()
    assert "identity card is ready for collection" in text and "Pickup code" in text


def test_a_double_submit_creates_one_order_and_shows_the_same_code(console):
    client = console.client("clara")
    first, data = create(client, reference="BB-TWICE")
    again = client.post("/orders/new", data=data)
    assert again.status_code == 200
    assert CODE.search(again.text).group(1) == CODE.search(first.text).group(1)
    assert len(console.audit("order.created")) == 1


def test_bad_fields_are_named_next_to_the_field_and_nothing_is_created(console):
    client = console.client("clara")
    response, _ = create(client, kind="", contact="not an address", pin="12ab",
                         reference="bad reference!")
    assert response.status_code == 422
    for name in ("kind", "contact", "pin", "reference"):
        assert f'id="error-{name}"' in response.text, name
    assert "Bitte wählen Sie die Art des Dokuments." in response.text
    assert console.audit("order.created") == []


def test_a_taken_reference_is_said_next_to_nothing_lost(console):
    client = console.client("clara")
    create(client, reference="BB-SAME")
    response, _ = create(client, reference="BB-SAME", contact="anna@example.org")
    assert response.status_code == 409
    assert "existiert bereits" in response.text
    assert 'value="anna@example.org"' in response.text  # the entry stays in the form


def test_a_technician_may_not_create_orders_and_the_refusal_is_audited(console):
    client = console.client("tina")
    response = client.get("/orders/new")
    assert response.status_code == 403 and "Nicht erlaubt" in response.text
    denied = console.audit("call.denied")
    assert [(r["actor"], r["outcome"]) for r in denied] == [("user:tina", "denied")]


def test_find_orders_by_reference_state_and_pages(console):
    client = console.client("clara")
    for i in range(27):
        create(client, reference=f"BB-{i:03d}")
    found = client.get("/orders", params={"reference": "BB-007"})
    assert found.headers["location"] == "/orders/BB-007"
    missing = client.get("/orders", params={"reference": "BB-NOPE"})
    assert missing.status_code == 422 and 'id="error-reference"' in missing.text
    first = client.get("/orders", params={"status": "announced"})
    assert first.status_code == 200 and first.text.count('<a href="/orders/BB-') == 25
    next_link = re.search(r'href="/orders\?([^"]+)" rel="next"', first.text).group(1)
    second = client.get("/orders?" + next_link.replace("&amp;", "&"))
    assert second.text.count('<a href="/orders/BB-') == 2
    none = client.get("/orders", params={"status": "collected"})
    assert "Keine Aufträge gefunden." in none.text


def test_cancel_needs_a_reason_is_done_once_and_shows_in_the_history(console):
    client = console.client("clara")
    create(client, reference="BB-C")
    page = client.get("/orders/BB-C")
    fields = form_fields(page.text)
    empty = client.post("/orders/BB-C/cancel", data={**fields, "cancel_reason": ""})
    assert empty.status_code == 422 and 'id="error-cancel_reason"' in empty.text
    data = {**fields, "cancel_reason": "citizen moved away"}
    done = client.post("/orders/BB-C/cancel", data=data)
    assert done.status_code == 303
    assert client.post("/orders/BB-C/cancel", data=data).status_code == 303  # replayed
    assert len(console.audit("order.cancelled")) == 1
    history = client.get(done.headers["location"]).text
    assert "Der Auftrag ist storniert." in history
    assert "Auftrag angelegt" in history and "Auftrag storniert" in history
    assert "Grund: citizen moved away" in history
    fresh = form_fields(client.get("/orders/BB-C").text)
    assert "cancel_reason" not in client.get("/orders/BB-C").text  # no actions on a closed order
    late = client.post("/orders/BB-C/cancel", data={**fresh, "csrf": fields["csrf"],
                                                    "request_id": "another-form",
                                                    "cancel_reason": "again"})
    assert late.status_code == 409 and "nicht mehr storniert" in late.text


def test_reissue_shows_a_new_code_and_the_old_one_is_gone(console):
    client = console.client("clara")
    first, _ = create(client, reference="BB-R")
    old = CODE.search(first.text).group(1)
    fields = form_fields(client.get("/orders/BB-R").text)
    response = client.post("/orders/BB-R/reissue", data={**fields, "reissue_reason": "letter lost",
                                                          "language": "en"})
    assert response.status_code == 200
    new = CODE.search(response.text).group(1)
    assert new != old and PIN.search(response.text)
    letter = client.get("/orders/BB-R/letter")
    assert qr_of_letter(letter.content) == "PBX1:" + new.replace("-", "")
    assert [r["actor"] for r in console.audit("order.reissued")] == ["user:clara"]


def test_find_orders_by_the_day_they_were_created(console):
    client = console.client("clara")
    create(client, reference="BB-NOV")
    create(client, reference="BB-DEC")
    # 23:30 UTC on 1 December is 00:30 on 2 December in Berlin: the office's day counts.
    console.registry.sql("UPDATE orders SET create_time = '2026-11-30T12:00:00+00:00'"
                         " WHERE reference = 'BB-NOV'")
    console.registry.sql("UPDATE orders SET create_time = '2026-12-01T23:30:00+00:00'"
                         " WHERE reference = 'BB-DEC'")
    day = client.get("/orders", params={"created_from": "2026-12-02", "created_to": "2026-12-02"})
    assert "BB-DEC" in day.text and "BB-NOV" not in day.text
    before = client.get("/orders", params={"created_to": "2026-12-01"})
    assert "BB-NOV" in before.text and "BB-DEC" not in before.text
    bad = client.get("/orders", params={"created_from": "2026-12-03", "created_to": "2026-12-02"})
    assert bad.status_code == 422 and 'id="error-created_to"' in bad.text
    wrong = client.get("/orders", params={"created_from": "yesterday"})
    assert wrong.status_code == 422 and "TT.MM.JJJJ" in wrong.text


def test_htmx_gets_only_the_results_and_a_plain_browser_the_whole_page(console):
    client = console.client("clara")
    create(client, reference="BB-HX")
    partial = client.get("/orders", params={"status": "announced"}, headers={"HX-Request": "true"})
    assert "BB-HX" in partial.text and "<html" not in partial.text
    whole = client.get("/orders", params={"status": "announced"})
    assert "BB-HX" in whole.text and "<html" in whole.text
