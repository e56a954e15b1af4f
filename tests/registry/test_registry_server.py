"""The server as a whole: health, reflection, persistence."""

from __future__ import annotations

import socket

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from common.auth import bearer
from common.credentials import KdfParams
from registry.server import create_server
from pickupbox.registry.v1 import registry_pb2 as pb
from tests.auth_support import admin_token

TEST_KDF = KdfParams(n=2**10)  # as in conftest.py


@pytest.mark.parametrize(
    "service", ["", "pickupbox.registry.v1.KioskService", "pickupbox.registry.v1.OfficeService"]
)
def test_health_is_serving(registry, service):
    stub = health_pb2_grpc.HealthStub(registry.channel)
    response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_a_client_without_generated_code_works_through_reflection(registry):
    reflection_db = ProtoReflectionDescriptorDatabase(registry.channel)
    services = set(reflection_db.get_services())
    assert {
        "pickupbox.registry.v1.KioskService",
        "pickupbox.registry.v1.OfficeService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= services

    pool = descriptor_pool.DescriptorPool(reflection_db)
    office = pool.FindServiceByName("pickupbox.registry.v1.OfficeService")
    create = office.FindMethodByName("CreatePickupOrder")
    get = office.FindMethodByName("GetPickupOrder")
    CreateRequest = message_factory.GetMessageClass(create.input_type)
    CreateResponse = message_factory.GetMessageClass(create.output_type)
    GetRequest = message_factory.GetMessageClass(get.input_type)
    GetResponse = message_factory.GetMessageClass(get.output_type)

    kind = pool.FindEnumTypeByName("pickupbox.registry.v1.DocumentKind")
    request = CreateRequest(
        reference="REFL-1", kind=kind.values_by_name["DOCUMENT_KIND_PASSPORT"].number
    )
    call_create = registry.channel.unary_unary(
        "/pickupbox.registry.v1.OfficeService/CreatePickupOrder",
        request_serializer=CreateRequest.SerializeToString,
        response_deserializer=CreateResponse.FromString,
    )
    credential = bearer(admin_token(registry.db_path))
    created = call_create(request, timeout=5, metadata=credential)
    assert created.order.reference == "REFL-1"
    assert created.pickup_code and created.qr_payload.startswith("PBX1:")

    call_get = registry.channel.unary_unary(
        "/pickupbox.registry.v1.OfficeService/GetPickupOrder",
        request_serializer=GetRequest.SerializeToString,
        response_deserializer=GetResponse.FromString,
    )
    fetched = call_get(GetRequest(reference="REFL-1"), timeout=5, metadata=credential)
    assert fetched.order.kind == kind.values_by_name["DOCUMENT_KIND_PASSPORT"].number
    status = pool.FindEnumTypeByName("pickupbox.registry.v1.OrderStatus")
    assert status.values_by_number[fetched.order.status].name == "ORDER_STATUS_ANNOUNCED"


def test_state_survives_a_restart(tmp_path, registry_at):
    db_path = tmp_path / "registry.sqlite3"
    first = registry_at(db_path, tmp_path / "notes")
    policy = first.kiosk.RegisterKiosk(
        pb.RegisterKioskRequest(kiosk_id="kiosk-1"), timeout=5
    ).credential_policy
    created = first.office.CreatePickupOrder(
        pb.CreatePickupOrderRequest(request_id="create-1", kind=pb.DOCUMENT_KIND_ID_CARD),
        timeout=5,
    )
    first.office.CreateStaffMember(
        pb.CreateStaffMemberRequest(staff_id="alice", card_uid="04AA", pin="123456"), timeout=5
    )
    before = first.kiosk.SyncChanges(pb.SyncChangesRequest(kiosk_id="kiosk-1"), timeout=5)
    first.close()

    # Different KDF parameters must not change an existing database's policy.
    second = registry_at(db_path, tmp_path / "notes", kdf_params=KdfParams(n=2**11))
    try:
        assert second.server.port != 0
        again = second.kiosk.RegisterKiosk(
            pb.RegisterKioskRequest(kiosk_id="kiosk-1"), timeout=5
        ).credential_policy
        assert again == policy
        after = second.kiosk.SyncChanges(pb.SyncChangesRequest(kiosk_id="kiosk-1"), timeout=5)
        assert list(after.orders) == list(before.orders)
        assert list(after.staff) == list(before.staff)
        # The idempotency record survives too.
        replay = second.office.CreatePickupOrder(
            pb.CreatePickupOrderRequest(request_id="create-1", kind=pb.DOCUMENT_KIND_ID_CARD),
            timeout=5,
        )
        assert replay.order == created.order
        # The change sequence continues instead of starting over.
        second.office.CancelPickupOrder(
            pb.CancelPickupOrderRequest(reference=created.order.reference), timeout=5
        )
        changes = second.kiosk.SyncChanges(
            pb.SyncChangesRequest(kiosk_id="kiosk-1", cursor=before.next_cursor), timeout=5
        )
        assert [o.status for o in changes.orders] == [pb.ORDER_STATUS_CANCELLED]
    finally:
        second.close()


def test_database_uses_wal(registry):
    assert registry.sql("PRAGMA journal_mode")[0][0] == "wal"


def test_new_database_uses_the_given_kdf_params(registry):
    rows = dict((r["key"], r["value"]) for r in registry.sql("SELECT key, value FROM meta"))
    assert int(rows["kdf_n"]) == TEST_KDF.n
    assert len(bytes.fromhex(rows["lookup_salt"])) == 16


def test_address_in_use_is_an_os_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"127.0.0.1:{port}"):
            create_server(f"127.0.0.1:{port}", tmp_path / "r.sqlite3", kdf_params=TEST_KDF)
