"""ListPickupOrders by creation time: created_after inclusive, created_before
exclusive, pages still stable, and a reversed range named as the problem."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import grpc
import pytest

from common.convert import to_timestamp
from pickupbox.registry.v1 import registry_pb2 as pb

pytestmark = pytest.mark.integration


def test_orders_are_listed_by_creation_time(registry):
    for reference in ("PO-OLD", "PO-MID", "PO-NEW"):
        registry.office.CreatePickupOrder(pb.CreatePickupOrderRequest(
            reference=reference, kind=pb.DOCUMENT_KIND_ID_CARD))
    for reference, created in (("PO-OLD", "2026-11-01T10:00:00+00:00"),
                               ("PO-MID", "2026-11-02T00:00:00+00:00"),
                               ("PO-NEW", "2026-11-03T00:00:00.500000+00:00")):
        registry.sql("UPDATE orders SET create_time = ? WHERE reference = ?", created, reference)

    def listed(after=None, before=None, **extra):
        request = pb.ListPickupOrdersRequest(**extra)
        if after:
            request.created_after.CopyFrom(to_timestamp(after))
        if before:
            request.created_before.CopyFrom(to_timestamp(before))
        return [o.reference for o in registry.office.ListPickupOrders(request).orders]

    day = datetime(2026, 11, 2, tzinfo=timezone.utc)
    assert listed(after=day) == ["PO-MID", "PO-NEW"]  # at the boundary: included
    assert listed(before=day) == ["PO-OLD"]  # at the boundary: excluded
    assert listed(after=day, before=day + timedelta(days=1)) == ["PO-MID"]
    assert listed() == ["PO-OLD", "PO-MID", "PO-NEW"]
    page = registry.office.ListPickupOrders(pb.ListPickupOrdersRequest(
        page_size=1, created_after=to_timestamp(day)))
    assert [o.reference for o in page.orders] == ["PO-MID"]
    assert listed(after=day, page_token=page.next_page_token) == ["PO-NEW"]
    with pytest.raises(grpc.RpcError) as refused:
        listed(after=day, before=day)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "created_before" in refused.value.details()
