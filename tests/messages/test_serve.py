"""`kiosk-registry serve --notifier directory,messages --messages-config FILE`
as a real process: a deposit reported over gRPC becomes an e-mail at the
test's SMTP server, and the directory notifier still writes its files; an
SMS gateway's delivery report posted to the registry's web port bounces the
SMS when signed and is refused and audited when not."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest

from common.auth import ADMIN_CREDENTIAL_FILE, authenticated_channel, bearer, read_secret_file
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc
from registry.messages.bounces import sign_report
from tests.messages.test_registry_messages import report
from tests.registry.conftest import compartments

pytestmark = pytest.mark.integration


SCRIPT = Path(sys.executable).parent / "kiosk-registry"
REPORT_SECRET = "gateway-report-secret-0123"


@dataclass
class Serving:
    grpc_address: str
    web_url: str  # "" unless started with a web address
    office: registry_pb2_grpc.OfficeServiceStub  # as the local admin
    kiosk: registry_pb2_grpc.KioskServiceStub  # as kiosk-1, registered with free compartments


@contextmanager
def serving(tmp_path: Path, config: Path, notifier: str, *options: str) -> Iterator[Serving]:
    """`kiosk-registry serve` as a process with the messages config; kiosk-1
    enrolled by the operator and registered; stopped with SIGTERM at the end."""
    db = tmp_path / "r.sqlite3"
    server = subprocess.Popen(
        [str(SCRIPT), "serve", "--listen", "127.0.0.1:0", "--db", str(db),
         "--notify-dir", str(tmp_path / "notes"), "--kdf-n", "1024",
         "--notifier", notifier, "--messages-config", str(config),
         "--metrics-listen", "off", *options],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        seen, grpc_address, web_url = [], "", ""
        wants_web = "--web-address" in options
        while not (grpc_address and (web_url or not wants_web)) and (
                line := server.stderr.readline()):
            seen.append(line)
            if found := re.search(r"registry listening on (127\.0\.0\.1:\d+)", line):
                grpc_address = found.group(1)
            if found := re.search(r"office console on (http://127\.0\.0\.1:\d+)/", line):
                web_url = found.group(1)
        assert grpc_address and (web_url or not wants_web), "".join(seen)
        # The operator enrols the kiosk; the office calls with the local admin key.
        enrol = subprocess.run(
            [str(SCRIPT), "kiosk", "enrol", "kiosk-1", "--db", str(db),
             "--output", str(tmp_path / "kiosk-1.credential")],
            capture_output=True, text=True, timeout=30,
        )
        assert enrol.returncode == 0, enrol.stderr
        admin = bearer(read_secret_file(tmp_path / ADMIN_CREDENTIAL_FILE))
        kiosk_key = bearer(read_secret_file(tmp_path / "kiosk-1.credential"))
        with grpc.insecure_channel(grpc_address) as channel:
            office = registry_pb2_grpc.OfficeServiceStub(authenticated_channel(channel, admin))
            kiosk = registry_pb2_grpc.KioskServiceStub(authenticated_channel(channel, kiosk_key))
            kiosk.RegisterKiosk(pb.RegisterKioskRequest(
                kiosk_id="kiosk-1", software_version="test",
                compartments=compartments(pb.COMPARTMENT_STATE_FREE)), timeout=10)
            yield Serving(grpc_address, web_url, office, kiosk)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stderr.close()


def deposited(serving: Serving, kind: int, contact: str) -> pb.CreatePickupOrderResponse:
    created = serving.office.CreatePickupOrder(pb.CreatePickupOrderRequest(
        kind=kind, contact=contact, request_id=str(uuid.uuid4())), timeout=10)
    report(serving.kiosk, pb.EVENT_TYPE_ORDER_DEPOSITED, created.order.reference,
           compartment_number=1)
    return created


def test_serve_with_directory_and_messages(tmp_path, smtp_server):
    config = tmp_path / "messages.toml"
    config.write_text(
        '[office]\nname = "Bürgerbüro Musterstadt"\nphone = "0123 456789"\n'
        f'[email]\nhost = "127.0.0.1"\nport = {smtp_server.port}\nsecurity = "none"\n'
        'sender = "box@musterstadt.example"\n',
        encoding="utf-8",
    )
    with serving(tmp_path, config, "directory,messages") as registry:
        created = deposited(registry, pb.DOCUMENT_KIND_PASSPORT, "olena@example.org;lang=uk")
        (received,) = smtp_server.handler.wait_for(1)
        text = received.parsed().get_payload()[0].get_payload(decode=True).decode()
        assert created.pickup_code in text and "Код отримання" in text
        reference = created.order.reference
        assert (tmp_path / "notes" / f"{reference}.txt").exists()  # the directory notifier
        assert not (tmp_path / "messages.sqlite3").exists()  # the queue is in the database


def test_serve_takes_sms_delivery_reports_on_its_web_port(tmp_path, http_receiver):
    """The endpoint through `serve` itself (cli._notifier_routes mounting the
    notifier's web routes beside the console), not mounted by the test."""
    (tmp_path / "sms-reports.key").write_text(REPORT_SECRET + "\n", encoding="utf-8")
    config = tmp_path / "messages.toml"
    config.write_text(
        '[office]\nname = "Bürgerbüro Musterstadt"\nphone = "0123 456789"\n'
        f'[sms]\nurl = "{http_receiver.url}/sms"\n'
        """body = '{"to": "{to}", "text": "{text}"}'\n"""
        """id_pattern = '"id"\\s*:\\s*"([^"]+)"'\n"""
        '[sms.delivery_reports]\nsecret_file = "sms-reports.key"\n',
        encoding="utf-8",
    )
    with serving(tmp_path, config, "messages", "--web-address", "127.0.0.1:0") as registry:
        created = deposited(registry, pb.DOCUMENT_KIND_ID_CARD, "+49 151 23456789;lang=tr")
        reference = created.order.reference
        (sent,) = http_receiver.wait_for(1)
        assert sent.path == "/sms" and created.pickup_code in sent.body.decode()

        def ready_sms() -> pb.OrderMessage:
            messages = registry.office.ListOrderMessages(
                pb.ListOrderMessagesRequest(reference=reference), timeout=10).messages
            (sms,) = [m for m in messages if m.channel == "sms" and m.kind == "ready"]
            return sms

        deadline = time.monotonic() + 10  # the gateway's answer is stored after its POST
        while ready_sms().status != pb.MESSAGE_STATUS_SENT and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ready_sms().status == pb.MESSAGE_STATUS_SENT

        url = f"{registry.web_url}/messages/sms-reports"
        failed = b'{"id": "gw-1", "status": "undeliverable", "error": "absent subscriber"}'
        json_type = {"Content-Type": "application/json"}
        unsigned = httpx.post(url, content=failed, headers=json_type)
        forged = httpx.post(url, content=failed, headers={
            **json_type, "X-Signature": sign_report("not-the-shared-secret-0", failed)})
        assert (unsigned.status_code, forged.status_code) == (401, 401)
        assert "shared secret" in forged.text
        assert ready_sms().status == pb.MESSAGE_STATUS_SENT  # a forged report changes nothing
        with sqlite3.connect(tmp_path / "r.sqlite3") as audit:
            refused = audit.execute(
                "SELECT actor, outcome FROM audit_log WHERE action = 'sms_report.refused'"
            ).fetchall()
        assert refused == [("sms-gateway", "denied")] * 2

        signed = httpx.post(url, content=failed, headers={
            **json_type, "X-Signature": sign_report(REPORT_SECRET, failed)})
        assert signed.status_code == 204, signed.text
        bounced = ready_sms()
        assert bounced.status == pb.MESSAGE_STATUS_BOUNCED
        assert "absent subscriber" in bounced.reason
