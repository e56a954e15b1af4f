"""`kiosk-registry serve --notifier directory,messages --messages-config FILE`
as a real process: a deposit reported over gRPC becomes an e-mail at the
test's SMTP server, and the directory notifier still writes its files."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import pytest

from common.auth import ADMIN_CREDENTIAL_FILE, authenticated_channel, bearer, read_secret_file
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc
from tests.messages.test_registry_messages import report
from tests.registry.conftest import compartments

pytestmark = pytest.mark.integration


def test_serve_with_directory_and_messages(tmp_path, smtp_server):
    config = tmp_path / "messages.toml"
    config.write_text(
        '[office]\nname = "Bürgerbüro Musterstadt"\nphone = "0123 456789"\n'
        f'[email]\nhost = "127.0.0.1"\nport = {smtp_server.port}\nsecurity = "none"\n'
        'sender = "box@musterstadt.example"\n',
        encoding="utf-8",
    )
    script = Path(sys.executable).parent / "kiosk-registry"
    server = subprocess.Popen(
        [str(script), "serve", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "r.sqlite3"),
         "--notify-dir", str(tmp_path / "notes"), "--kdf-n", "1024",
         "--notifier", "directory,messages", "--messages-config", str(config),
         "--metrics-listen", "off"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        seen, match = [], None
        while match is None and (line := server.stderr.readline()):
            seen.append(line)
            match = re.search(r"registry listening on (127\.0\.0\.1:\d+)", line)
        assert match, "".join(seen)
        # The operator enrols the kiosk; the office calls with the local admin key.
        enrol = subprocess.run(
            [str(script), "kiosk", "enrol", "kiosk-1", "--db", str(tmp_path / "r.sqlite3"),
             "--output", str(tmp_path / "kiosk-1.credential")],
            capture_output=True, text=True, timeout=30,
        )
        assert enrol.returncode == 0, enrol.stderr
        admin = bearer(read_secret_file(tmp_path / ADMIN_CREDENTIAL_FILE))
        kiosk_key = bearer(read_secret_file(tmp_path / "kiosk-1.credential"))
        with grpc.insecure_channel(match.group(1)) as channel:
            office = registry_pb2_grpc.OfficeServiceStub(authenticated_channel(channel, admin))
            kiosk = registry_pb2_grpc.KioskServiceStub(authenticated_channel(channel, kiosk_key))
            kiosk.RegisterKiosk(pb.RegisterKioskRequest(
                kiosk_id="kiosk-1", software_version="test",
                compartments=compartments(pb.COMPARTMENT_STATE_FREE)), timeout=10)
            created = office.CreatePickupOrder(pb.CreatePickupOrderRequest(
                kind=pb.DOCUMENT_KIND_PASSPORT, contact="olena@example.org;lang=uk",
                request_id=str(uuid.uuid4())), timeout=10)
            report(kiosk, pb.EVENT_TYPE_ORDER_DEPOSITED, created.order.reference,
                   compartment_number=1)
        (received,) = smtp_server.handler.wait_for(1)
        text = received.parsed().get_payload()[0].get_payload(decode=True).decode()
        assert created.pickup_code in text and "Код отримання" in text
        reference = created.order.reference
        assert (tmp_path / "notes" / f"{reference}.txt").exists()  # the directory notifier
        assert not (tmp_path / "messages.sqlite3").exists()  # the queue is in the database
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stderr.close()
