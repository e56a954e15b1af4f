"""The kiosk's fault-injection points: see common/faults.py (shared with the registry)."""

from common.faults import arm, fault_point

__all__ = ["arm", "fault_point"]
