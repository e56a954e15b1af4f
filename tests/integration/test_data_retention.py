"""After a pickup and the retention period, no contact, code or PIN is found
anywhere on disk (databases, WAL files, notice folder) or in the logs."""

from __future__ import annotations

import logging
from datetime import timedelta

from kiosk.domain.pickup_session import PickupState
from registry.messages.config import MessagesConfig
from registry.messages.mail import PLAIN, SmtpConfig
from registry.messages.notifier import MessagesNotifier
from registry import retention
from registry.database import utcnow
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.integration.conftest import wait_for
from tests.messages.conftest import start_smtp

CONTACT = "erika.mustermann@example.org"
PIN = "482915"


def everything_on_disk(root) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_nothing_personal_is_left_after_pickup_and_retention(registry, make_kiosk, tmp_path,
                                                             caplog):
    caplog.set_level(logging.DEBUG)
    # The messages queue too: it holds the code until the e-mail is sent and
    # the address until retention.
    smtp = start_smtp()
    messages = MessagesNotifier(
        MessagesConfig(email=SmtpConfig(host="127.0.0.1", port=smtp.port, sender="box@amt.example",
                                        security=PLAIN, timeout=5),
                       retry_base_seconds=0.1, retry_max_seconds=0.5),
    )
    registry.stop()
    registry.more_notifiers.append(messages)
    registry.start()
    k = make_kiosk()
    created = registry.create_order(kind=pb.DOCUMENT_KIND_PASSPORT, pin=PIN, contact=CONTACT)
    ref = created.order.reference
    code = created.pickup_code.replace("-", "")
    number = k.deposit(ref)
    notice = registry.notify_dir / f"{ref}.txt"
    wait_for(notice.exists, what="the ready-for-pickup notice")

    view = k.pickup(created.qr_payload, PIN)
    assert view.pickup_state is PickupState.DOOR_OPEN
    k.bank.close_door(number)
    wait_for(lambda: registry.status(ref) == pb.ORDER_STATUS_COLLECTED, what="collection")
    smtp.handler.wait_for(2)  # the notice and the receipt
    assert messages.worker.wait_until_idle(10)
    # The queue is in the registry database: a sent message keeps no code.
    assert {m.values.get("code", "") for m in messages.queue.for_order(ref)} == {""}

    # The contact and the notice go as soon as the order has ended...
    with registry.server.db.transaction() as tx:
        assert tx.get_order(ref).contact == ""
    assert not notice.exists() and not notice.with_suffix(".png").exists()

    # ...and after the retention period the record itself, leaving a count.
    report = retention.purge(registry.server.db, registry.notifier, retention.RetentionPolicy(),
                             now=utcnow() + timedelta(days=91))
    assert report.orders_deleted == 1
    with registry.server.db.transaction() as tx:
        assert tx.get_order(ref) is None
        counts = [(r["kind"], r["status"], r["count"]) for r in tx.order_counts()]
    assert counts == [("passport", "collected", 1)]

    assert {m.recipient for m in messages.queue.for_order(ref)} == {""}
    assert {m.status for m in messages.queue.for_order(ref)} == {"sent", "cancelled"}
    k.kiosk.stop()
    registry.stop()
    smtp.controller.stop()
    disk = everything_on_disk(tmp_path)
    for secret in (CONTACT, code, created.pickup_code, created.qr_payload, PIN):
        assert secret.encode() not in disk, secret
    # Our logs; "mail.log" is aiosmtpd, the test's stand-in for the office's mail relay.
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    for secret in (CONTACT, code, code[:4], created.qr_payload):
        assert secret not in ours, secret
