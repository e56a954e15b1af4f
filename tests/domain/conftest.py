"""Fixtures for the domain tests; the building blocks live in domain_kit.py."""

from __future__ import annotations

import pytest

from domain_kit import ALICE, BOB, CAROL_INACTIVE, POLICY, OrderBook, StaffDirectory
from kiosk.domain.pickup_session import PickupSession
from kiosk.domain.staff_session import StaffPolicy, StaffSession
from kiosk.domain.throttle import AttemptThrottle


@pytest.fixture
def throttle():
    return AttemptThrottle()


@pytest.fixture
def pickup(throttle):
    """A pickup session on a bank with door sensors."""
    return PickupSession(POLICY, throttle, has_door_sensors=True)


@pytest.fixture
def sensorless_pickup(throttle):
    return PickupSession(POLICY, throttle, has_door_sensors=False)


@pytest.fixture
def staff_directory():
    return StaffDirectory(ALICE, BOB, CAROL_INACTIVE)


@pytest.fixture
def staff():
    return StaffSession(StaffPolicy(), AttemptThrottle(free_failures=3, alarm_after=5))


@pytest.fixture
def four_eyes_staff():
    return StaffSession(StaffPolicy(four_eyes_deposit=True), AttemptThrottle(free_failures=3, alarm_after=5))


@pytest.fixture
def book():
    """The kiosk's orders (empty; test modules override it with their own cast)."""
    return OrderBook()
