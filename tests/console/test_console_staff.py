"""Staff cards through the console: supervisors add and deactivate, clerks may not."""

from __future__ import annotations

import pytest

from pickupbox.registry.v1 import registry_pb2 as pb
from tests.console.conftest import form_fields

pytestmark = pytest.mark.integration


def test_a_supervisor_adds_and_deactivates_a_staff_card_once(console):
    client = console.client("sven")
    fields = form_fields(client.get("/staff").text)
    data = {**fields, "staff_id": "anna", "card_uid": "04:a1:b2:c3:d4:e5:f6", "pin": "246810"}
    response = client.post("/staff/add", data=data)
    assert response.status_code == 303
    assert client.post("/staff/add", data=data).status_code == 303  # double submit: replayed
    staff = console.registry.office.ListStaffMembers(pb.ListStaffMembersRequest()).staff_members
    assert [(s.staff_id, s.active) for s in staff] == [("anna", True)]
    assert [r["actor"] for r in console.audit("staff.created")] == ["user:sven"]
    page = client.get("/staff?done=added")
    assert "Die Person wurde hinzugefügt" in page.text
    fields = form_fields(page.text)
    done = client.post("/staff/anna/deactivate", data=fields)
    assert done.status_code == 303
    staff = console.registry.office.ListStaffMembers(pb.ListStaffMembersRequest()).staff_members
    assert [(s.staff_id, s.active) for s in staff] == [("anna", False)]


def test_bad_staff_fields_are_named_and_nothing_is_added(console):
    client = console.client("sven")
    fields = form_fields(client.get("/staff").text)
    response = client.post("/staff/add", data={**fields, "staff_id": "", "card_uid": "xyz",
                                               "pin": "12"})
    assert response.status_code == 422
    for name in ("staff_id", "card_uid", "pin"):
        assert f'id="error-{name}"' in response.text
    assert console.audit("staff.created") == []


def test_a_clerk_may_not_manage_staff(console):
    client = console.client("clara")
    assert client.get("/staff").status_code == 403
    csrf = form_fields(client.get("/").text)["csrf"]
    response = client.post("/staff/add", data={"csrf": csrf, "staff_id": "x",
                                               "card_uid": "04A1", "pin": "123456"})
    assert response.status_code == 403
    assert console.audit("staff.created") == []
    assert "/staff" not in client.get("/").text  # not offered in the navigation either
