"""Fault-injection points for the crash tests (tests/integration/test_crash.py,
test_registry_crash.py), shared by the kiosk and the registry.

`fault_point(name)` marks a boundary where a crash must never lose track of a
document: before and after every commit of the kiosk's core and outbox,
around every unlock pulse, and each step of the registry applying a report
and writing a notice. In production neither variable below is set and a
point does nothing but return. It never changes what the process does: it can
only end the process, exactly as a power cut or the OOM killer would.

- ``PICKUPBOX_FAULT_TRACE=<file>``: append each point passed, as
  ``name#n`` (the n-th time this name was passed), so a test can list them.
- ``PICKUPBOX_FAULT_KILL_AT=<name#n>``: SIGKILL this process at that point.

The crash tests' kiosk harness calls `arm()` instead, once the state a flow
needs is set up, so the count starts with the flow.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

_TRACE = os.environ.get("PICKUPBOX_FAULT_TRACE")
_KILL_AT = os.environ.get("PICKUPBOX_FAULT_KILL_AT")
_passed: Counter[str] = Counter()


def fault_point(name: str) -> None:
    if _TRACE is None and _KILL_AT is None:
        return
    _passed[name] += 1
    label = f"{name}#{_passed[name]}"
    if _TRACE is not None:
        with open(_TRACE, "a", encoding="utf-8") as trace:
            trace.write(label + "\n")
    if label == _KILL_AT:
        os.kill(os.getpid(), signal.SIGKILL)


def arm(kill_at: str | None = None, trace: str | None = None) -> None:
    """Counts afresh from here, kills at `kill_at`, traces to `trace` (the crash tests' harness only)."""
    global _KILL_AT, _TRACE
    _passed.clear()
    _KILL_AT, _TRACE = kill_at, trace
