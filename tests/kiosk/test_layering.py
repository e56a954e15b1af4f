"""The package boundaries the architecture promises.

The registry is the office's server and its own package; the kiosk's uplink
talks to it only through the API and ``common``. A subprocess gives each
check a fresh interpreter, so no earlier import hides a dependency.
"""

import subprocess
import sys

import pytest


def _imported_after(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("module", ["kiosk.uplink.client", "kiosk.uplink.worker", "kiosk.core"])
def test_the_kiosk_side_never_imports_the_registry_server(module):
    loaded = _imported_after(module)
    assert not {name for name in loaded if name == "registry" or name.startswith("registry.")}


@pytest.mark.parametrize("module", ["registry.server", "registry.cli"])
def test_the_registry_never_imports_the_kiosk_core_store_or_ui(module):
    loaded = _imported_after(module)
    forbidden = ("kiosk.core", "kiosk.store", "kiosk.ui", "kiosk.uplink", "kiosk.app", "hardware")
    assert not {name for name in loaded if name.startswith(forbidden)}


def test_common_imports_neither_side():
    loaded = _imported_after("common.convert")
    assert not {n for n in loaded if n.startswith(("registry", "kiosk.core", "kiosk.store", "kiosk.uplink"))}
