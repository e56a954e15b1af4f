"""Run the real pcscd with Debian's vpcd driver for the PC/SC tests.

pcscd has one socket per machine (/run/pcscd/pcscd.comm), so all tests of a
run share one daemon through `shared_pcscd()`; a test may stop, kill and
restart it. The daemon reads a private reader.conf.d (``-c``): with vpcd it
shows "Virtual PCD 00 00" and "00 01" (TCP 35963/35964); taking vpcd out
of it is how the tests unplug the readers.

Before starting, a pcscd left over from earlier is stopped by the pid in
/run/pcscd/pcscd.pid. On a developer machine where systemd's pcscd.socket
owns /run/pcscd/pcscd.comm, run ``systemctl stop pcscd.socket pcscd`` first.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PIDFILE = Path("/run/pcscd/pcscd.pid")
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
READER = "Virtual PCD 00 00"
READERS = (READER, "Virtual PCD 00 01")
VPCD_CONF = f"""\
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:0x8C7B
LIBPATH      {VPCD_DRIVER}
CHANNELID    0x8C7B
"""


def missing() -> str | None:
    """Why the PC/SC tests cannot run here, or None."""
    if shutil.which("pcscd") is None:
        return "pcscd is not installed (tools/setup --tests installs it)"
    if not VPCD_DRIVER.exists():
        return "vsmartcard-vpcd is not installed (tools/setup --tests installs it)"
    try:
        import smartcard.scard  # noqa: F401
    except ImportError:
        return "pyscard is not installed (pip install -e '.[hardware]')"
    if os.geteuid() != 0:
        return "pcscd needs root to create /run/pcscd (run the tests as root, as CI does)"
    return None


def skip_if_missing() -> None:
    reason = missing()
    if reason:
        pytest.skip(reason)


class Pcscd:
    """One pcscd in the foreground, as a child process."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        # Only the conf goes in there: pcscd parses every file of the directory.
        self.conf = workdir / "reader.conf.d"
        self.conf.mkdir(exist_ok=True)
        self.log = workdir / "pcscd.log"
        self.process: subprocess.Popen | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def plugged(self) -> bool:
        return (self.conf / "vpcd").exists()

    def start(self, *, plugged: bool = True) -> None:
        """Start pcscd, with the vpcd readers or (plugged=False) with no reader at all."""
        stop_leftover()
        if plugged:
            (self.conf / "vpcd").write_text(VPCD_CONF)
        else:
            (self.conf / "vpcd").unlink(missing_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                ["pcscd", "--foreground", "--config", str(self.conf)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self._wait_for_readers(READERS if plugged else ())

    def unplug(self) -> None:
        """The readers go away: pcscd comes back without vpcd.

        pcscd 1.9 neither drops nor adds reader.conf readers while running
        (SIGUSR1, what ``pcscd --hotplug`` sends, changes nothing for them),
        so this is a restart, as after a reboot with the reader unplugged.
        """
        self.stop()
        self.start(plugged=False)

    def plug(self) -> None:
        """The readers come back (a restart with vpcd, see `unplug`)."""
        self.stop()
        self.start()

    def stop(self) -> None:
        """Stop pcscd the orderly way (SIGTERM), as systemctl stop does."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """pcscd crashes (SIGKILL): no cleanup, the socket and pidfile stay behind."""
        self._end(signal.SIGKILL)

    def _end(self, sig: int) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def _wait_for_readers(self, readers: tuple[str, ...], timeout: float = 10.0) -> None:
        from smartcard import scard

        deadline = time.monotonic() + timeout
        found: list[str] = []
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
            if hresult == scard.SCARD_S_SUCCESS:
                _, found = scard.SCardListReaders(context, [])
                scard.SCardReleaseContext(context)
                if set(readers) == set(found or []):
                    return
            time.sleep(0.05)
        log = self.log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"pcscd did not show readers {readers} (found {found}):\n{log}")


def stop_leftover() -> None:
    """End a pcscd left over from earlier (found by its pidfile), and its stale files."""
    try:
        pid = int(PIDFILE.read_text().strip())
    except (OSError, ValueError):
        pid = None
    if pid is not None and _is_pcscd(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while _is_pcscd(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _is_pcscd(pid):
            os.kill(pid, signal.SIGKILL)
    for stale in (PIDFILE, PIDFILE.with_name("pcscd.comm")):
        stale.unlink(missing_ok=True)


def _is_pcscd(pid: int) -> bool:
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
    except OSError:
        return False
    return comm == "pcscd" and state != "Z"


_shared: Pcscd | None = None
_users = 0


@contextmanager
def shared_pcscd() -> Iterator[Pcscd]:
    """The run's pcscd with vpcd, started by the first user and stopped by the last.

    Each user gets it running with the vpcd readers, whatever the previous
    user did to it.
    """
    global _shared, _users
    skip_if_missing()
    if _shared is None:
        _shared = Pcscd(Path(tempfile.mkdtemp(prefix="pcscd-test-")))
    daemon = _shared
    if not (daemon.running and daemon.plugged):
        daemon.stop()
        daemon.start()
    _users += 1
    try:
        yield daemon
    finally:
        _users -= 1
        if _users == 0:
            daemon.stop()
            stop_leftover()
            shutil.rmtree(daemon.workdir, ignore_errors=True)
            _shared = None


def wait_until_empty(reader: str = READER, timeout: float = 5.0) -> bool:
    """Wait until pcscd sees no card on `reader`.

    vpcd notices a virtual card's disconnect only on its next presence poll;
    a test that takes a card off must let that happen before the next test
    puts another one on, or pcscd treats both as the same card.
    """
    return _wait_for_card(reader, False, timeout)


def wait_until_present(reader: str = READER, timeout: float = 5.0) -> bool:
    """Wait until pcscd sees a card on `reader`."""
    return _wait_for_card(reader, True, timeout)


def _wait_for_card(reader: str, present: bool, timeout: float) -> bool:
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return not present  # no pcscd, no card
    try:
        state = scard.SCARD_STATE_UNAWARE
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hresult, result = scard.SCardGetStatusChange(context, 200, [(reader, state)])
            if hresult == scard.SCARD_S_SUCCESS:
                state = result[0][1] & ~scard.SCARD_STATE_CHANGED
                if bool(state & scard.SCARD_STATE_PRESENT) == present:
                    return True
            elif hresult != scard.SCARD_E_TIMEOUT:
                return not present
        return False
    finally:
        scard.SCardReleaseContext(context)


@contextmanager
def pcscd_vpcd_options() -> Iterator[dict]:
    """Options of the `pcsc` driver for the contract tests: the real pcscd, vpcd's reader."""
    with shared_pcscd():
        yield {"reader": READER, "poll_timeout": 0.2, "retry_max": 0.2}


# --- Fixtures for the test modules (import them by name) ------------------------------


@pytest.fixture(scope="module")
def pcscd() -> Iterator[Pcscd]:
    """The shared pcscd, held for the whole module."""
    with shared_pcscd() as daemon:
        yield daemon


@pytest.fixture
def pcsc_reader(pcscd: Pcscd):
    """A `pcsc` driver on vpcd's first reader; its events collect in `.events`.

    Fast timeouts, so recovery shows within a fraction of a second. Leaves
    pcscd running with its readers, whatever the test did to it.
    """
    from hardware.interfaces import HealthStatus
    from hardware.pcsc.reader import PcscCardReader

    driver = PcscCardReader(READER, poll_timeout=0.2, retry_max=0.2)
    driver.events = []
    driver.subscribe(driver.events.append)
    assert wait_for(lambda: driver.health()[0].status is HealthStatus.OK), driver.health()
    yield driver
    driver.close()
    if not (pcscd.running and pcscd.plugged):
        pcscd.stop()
        pcscd.start()


def wait_for(condition, timeout: float = 5.0) -> bool:
    """Poll `condition` until true or `timeout`; the driver calls back from its thread."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
