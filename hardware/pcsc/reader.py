"""The `pcsc` card reader driver: one PC/SC reader, watched through pcscd.

Why not pyscard's CardMonitor: its thread dies when pcscd restarts and never
comes back, so a kiosk would silently stop seeing staff cards after a package
update. This driver runs its own *supervised* thread on the low-level
`smartcard.scard` API instead:

- It waits in SCardGetStatusChange on the chosen reader plus the
  ``\\\\?PnP?\\Notification`` pseudo-reader, which wakes it when readers come
  and go.
- When pcscd goes away (SCARD_E_NO_SERVICE, SCARD_E_SERVICE_STOPPED, an
  invalid handle) it drops its contexts and establishes new ones with a
  growing pause, so a restarted pcscd or a replugged reader is picked up
  again. Meanwhile health() says FAILED and why; it is OK again on recovery.
- Two contexts: pcsc-lite holds a context's lock for the whole of a
  SCardGetStatusChange, so `transmit()` uses a second context and never
  waits for the watcher.

On a card it connects, reads the UID with ``FF CA 00 00 00`` (None if the
card refuses), checks for a German eID card (`hardware.pcsc.eid`, which reads
only EF.CardAccess), and emits PRESENTED; REMOVED follows with the same uid
and ATR. As in the simulated reader, no events are sent while pcscd or the
reader is gone; a card still lying there is announced again on recovery.

Callbacks run on the watcher thread; they must hand work off quickly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hardware.errors import CardError, DeviceUnavailable
from hardware.interfaces import (
    CardEvent,
    CardEventKind,
    DeviceHealth,
    HealthStatus,
    Unsubscribe,
)
from hardware.options import validate
from hardware.pcsc import eid
from hardware.subscribers import Subscribers  # the thread-safe subscriber list all drivers share

try:
    from smartcard import scard
except ImportError:  # pyscard is in the "hardware" extra
    scard = None

log = logging.getLogger(__name__)

PNP_NOTIFICATION = "\\\\?PnP?\\Notification"
GET_UID = bytes.fromhex("FFCA000000")
RETRY_MIN = 0.1  # seconds before the first reconnect attempt
STARTUP_WAIT = 2.0  # longest the constructor waits for the first look at pcscd

PCSCD_DOWN = "pcscd is not running: start it with systemctl start pcscd"
NO_READER = "no card reader found: check the USB cable"


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reader: str = Field("", description="Part of the reader's name; empty: the first reader.")
    poll_timeout: float = Field(1.0, gt=0, le=60, description="Seconds per wait on pcscd.")
    retry_max: float = Field(5.0, gt=0, le=300, description="Longest pause between reconnects.")


class _DaemonLost(Exception):
    """pcscd went away (or never was there); the contexts must be rebuilt."""


@dataclass(frozen=True)
class _Card:
    handle: int
    protocol: int
    reader: str
    uid: bytes | None
    atr: bytes
    german_eid: bool
    counter: int  # pcsc-lite's per-reader event counter when the card was seen


class PcscCardReader:
    """CardReader on pcscd. Options: ``reader``, ``poll_timeout``, ``retry_max``."""

    def __init__(self, reader: str = "", *, poll_timeout: float = 1.0,
                 retry_max: float = 5.0) -> None:
        if scard is None:
            raise DeviceUnavailable(
                "pyscard is not installed: pip install 'pickupbox-kiosk[hardware]'"
            )
        self.wanted = reader
        self._poll_ms = int(poll_timeout * 1000)
        self._retry_max = retry_max
        self._subscribers: Subscribers[CardEvent] = Subscribers()
        self._lock = threading.RLock()  # guards the fields below and every card I/O
        self._io_context: int | None = None
        self._monitor_context: int | None = None
        self._reader_name: str | None = None
        self._card: _Card | None = None
        self._unidentified: str | None = None  # reader whose card did not answer
        self._served = False  # the current session reached pcscd's reader list
        self._problem: str | None = "connecting to pcscd"
        self._stop = threading.Event()
        self._first_look = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pcsc-reader", daemon=True)
        self._thread.start()
        # Return once the watcher has looked for pcscd and the reader (or a
        # moment has passed), so health() and transmit() tell the truth at once.
        self._first_look.wait(STARTUP_WAIT)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> PcscCardReader:
        opts = validate(_Options, options, source="card_reader driver 'pcsc'")
        return cls(opts.reader, poll_timeout=opts.poll_timeout, retry_max=opts.retry_max)

    # --- CardReader protocol

    def subscribe(self, callback: Callable[[CardEvent], None]) -> Unsubscribe:
        return self._subscribers.add(callback)

    def transmit(self, apdu: bytes) -> bytes:
        with self._lock:
            if self._stop.is_set():
                raise DeviceUnavailable("the pcsc card reader driver was closed")
            if self._problem is not None:
                raise DeviceUnavailable(f"card reader not available: {self._problem}")
            card = self._card
            if card is None:
                raise CardError(f"no card on reader {self._reader_name!r}")
            return self._exchange(card, bytes(apdu))

    def health(self) -> list[DeviceHealth]:
        # The device name stays the same whether the reader is there or not,
        # so the kiosk can pair a failure with its recovery.
        device = f"card reader {self.wanted}" if self.wanted else "card reader"
        with self._lock:
            if self._stop.is_set():
                return [DeviceHealth(device, HealthStatus.FAILED, "driver closed")]
            if self._problem is not None:
                return [DeviceHealth(device, HealthStatus.FAILED, self._problem)]
            return [DeviceHealth(device, HealthStatus.OK, self._reader_name or "")]

    def close(self) -> None:
        self._stop.set()
        context = self._monitor_context
        if context is not None:
            scard.SCardCancel(context)  # wakes SCardGetStatusChange at once
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    # --- Reading

    @property
    def reader_name(self) -> str | None:
        """The reader in use, or None while none is found."""
        return self._reader_name

    @property
    def current_card(self) -> CardEvent | None:
        """The card on the reader now, as its PRESENTED event; None without one."""
        card = self._card
        if card is None:
            return None
        return CardEvent(CardEventKind.PRESENTED, card.reader, card.uid, card.atr, card.german_eid)

    # --- The watcher thread

    def _run(self) -> None:
        pause = RETRY_MIN
        while not self._stop.is_set():
            self._served = False
            try:
                self._session()
            except _DaemonLost as exc:
                self._set_problem(str(exc))
            except Exception as exc:  # never let the watcher die; report and retry
                log.exception("card reader watcher failed")
                self._set_problem(f"card reader driver error: {exc}")
            finally:
                self._teardown()
                self._first_look.set()
            # After a session that worked, the next attempt comes quickly;
            # while pcscd stays away, the pauses grow to retry_max.
            pause = RETRY_MIN if self._served else min(pause * 2, self._retry_max)
            if self._stop.wait(pause):
                break
        self._teardown()

    def _session(self) -> None:
        monitor = _establish()
        with self._lock:
            self._monitor_context = monitor
            self._io_context = _establish()
        if self._stop.is_set():
            return
        chosen = self._choose(monitor)
        self._served = True
        states: dict[str, int] = {PNP_NOTIFICATION: scard.SCARD_STATE_UNAWARE}
        if chosen:
            states[chosen] = scard.SCARD_STATE_UNAWARE
        while not self._stop.is_set():
            hresult, result = scard.SCardGetStatusChange(monitor, self._poll_ms, list(states.items()))
            if hresult == scard.SCARD_E_CANCELLED or self._stop.is_set():
                return
            relist = False
            if hresult == scard.SCARD_E_TIMEOUT:
                # pcsc-lite reports readers that appear only *during* a wait,
                # so look again while there is none.
                relist = self._reader_name is None
                if self._unidentified is not None:
                    # A card that failed to answer gets another try (it may
                    # have been half on the reader), paced by the timeout.
                    states[self._unidentified] = scard.SCARD_STATE_UNAWARE
                    self._unidentified = None
            elif hresult == scard.SCARD_E_UNKNOWN_READER:
                relist = True
            elif hresult == scard.SCARD_W_SECURITY_VIOLATION:
                # What pcsc-lite's client answers when pcscd dies during the
                # wait (seen with SIGKILL); a real denial would have come at
                # SCardEstablishContext already.
                raise _DaemonLost(PCSCD_DOWN)
            elif hresult != scard.SCARD_S_SUCCESS:
                raise _DaemonLost(_describe(hresult))
            else:
                for name, event, atr in result:
                    states[name] = event & ~scard.SCARD_STATE_CHANGED
                    if name == PNP_NOTIFICATION:
                        relist = relist or bool(event & scard.SCARD_STATE_CHANGED)
                    elif event & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE
                                  | scard.SCARD_STATE_IGNORE):
                        relist = True
                    else:
                        self._reader_changed(name, event, bytes(atr))
            self._first_look.set()  # the reader and any card on it have been seen
            if relist:
                chosen = self._choose(monitor)
                states = {PNP_NOTIFICATION: states[PNP_NOTIFICATION]}
                if chosen:
                    states[chosen] = scard.SCARD_STATE_UNAWARE

    def _choose(self, context: int) -> str | None:
        """Pick the reader named by the option (or the first); update health."""
        hresult, readers = scard.SCardListReaders(context, [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
            readers = []
        elif hresult != scard.SCARD_S_SUCCESS:
            raise _DaemonLost(_describe(hresult))
        matching = [r for r in readers if self.wanted in r]
        chosen = matching[0] if matching else None
        with self._lock:
            if chosen != self._reader_name:
                self._forget_card()
            self._reader_name = chosen
            if chosen is not None:
                self._problem = None
            elif self.wanted and readers:
                self._problem = (
                    f"no card reader matching {self.wanted!r} (found: {', '.join(readers)}): "
                    "check the reader option and the USB cable"
                )
            else:
                self._problem = NO_READER
        if chosen is None:
            self._first_look.set()
        return chosen

    def _reader_changed(self, reader: str, event: int, atr: bytes) -> None:
        counter = event >> 16
        present = bool(event & scard.SCARD_STATE_PRESENT) and not (event & scard.SCARD_STATE_MUTE)
        events: list[CardEvent] = []
        with self._lock:
            old = self._card
            if old is not None and (not present or counter != old.counter):
                # Gone, or swapped for another card between two waits.
                events.append(CardEvent(CardEventKind.REMOVED, old.reader, old.uid, old.atr,
                                        old.german_eid))
                self._forget_card()
            if present and self._card is None:
                card = self._connect(reader, atr, counter)
                if card is not None:
                    self._card = card
                    events.append(self.current_card)
                else:
                    self._unidentified = reader
        self._emit(events)

    def _connect(self, reader: str, atr: bytes, counter: int) -> _Card | None:
        hresult, handle, protocol = scard.SCardConnect(
            self._io_context, reader, scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        if hresult != scard.SCARD_S_SUCCESS:
            if hresult in _DAEMON_GONE:
                raise _DaemonLost(_describe(hresult))
            log.info("card on %s did not answer: %s", reader, _describe(hresult))
            return None
        probe = _Card(handle, protocol, reader, None, atr, False, counter)
        try:
            response = self._exchange(probe, GET_UID)
            uid = response[:-2] if response[-2:] == b"\x90\x00" and len(response) > 2 else None
            german = eid.detect_german_eid(lambda apdu: self._exchange(probe, apdu))
        except CardError as exc:  # left again while we were reading it
            log.info("card on %s left during identification: %s", reader, exc)
            scard.SCardDisconnect(handle, scard.SCARD_LEAVE_CARD)
            return None
        except DeviceUnavailable as exc:  # pcscd went away meanwhile
            raise _DaemonLost(PCSCD_DOWN) from exc
        return _Card(handle, protocol, reader, uid, atr, german, counter)

    def _exchange(self, card: _Card, apdu: bytes) -> bytes:
        hresult, response = scard.SCardTransmit(card.handle, card.protocol, list(apdu))
        if hresult == scard.SCARD_S_SUCCESS and len(response) >= 2:
            return bytes(response)
        if hresult == scard.SCARD_S_SUCCESS:
            # No status word at all: the card left mid-exchange (some reader
            # drivers report that as success with an empty answer).
            raise CardError(f"card on {card.reader!r} gave no answer: it was probably taken away")
        if hresult in _DAEMON_GONE:
            raise DeviceUnavailable(f"card reader not available: {_describe(hresult)}")
        raise CardError(f"card on {card.reader!r} did not answer: {_describe(hresult)}")

    def _forget_card(self) -> None:
        card, self._card = self._card, None
        if card is not None:
            scard.SCardDisconnect(card.handle, scard.SCARD_LEAVE_CARD)

    def _set_problem(self, problem: str) -> None:
        with self._lock:
            if problem != self._problem:
                log.warning("card reader: %s", problem)
            self._problem = problem

    def _teardown(self) -> None:
        with self._lock:
            self._card = None  # its handle dies with the context; no event, as documented
            self._reader_name = None
            for context in (self._monitor_context, self._io_context):
                if context is not None:
                    scard.SCardReleaseContext(context)
            self._monitor_context = self._io_context = None

    def _emit(self, events: list[CardEvent]) -> None:
        try:
            self._subscribers.emit(events)
        except Exception:  # a broken subscriber must not stop the watcher
            log.exception("card event callback failed")


def list_readers() -> list[str]:
    """Every reader pcscd knows now; DeviceUnavailable without pcscd or pyscard."""
    if scard is None:
        raise DeviceUnavailable("pyscard is not installed: pip install 'pickupbox-kiosk[hardware]'")
    try:
        context = _establish()
    except _DaemonLost as exc:
        raise DeviceUnavailable(str(exc)) from None
    try:
        hresult, readers = scard.SCardListReaders(context, [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        if hresult != scard.SCARD_S_SUCCESS:
            raise DeviceUnavailable(_describe(hresult))
        return list(readers)
    finally:
        scard.SCardReleaseContext(context)


def _establish() -> int:
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise _DaemonLost(_describe(hresult))
    return context


def _describe(hresult: int) -> str:
    if hresult in _DAEMON_GONE:
        return PCSCD_DOWN
    if hresult in (scard.SCARD_E_NO_READERS_AVAILABLE, scard.SCARD_E_READER_UNAVAILABLE,
                   scard.SCARD_E_UNKNOWN_READER):
        return NO_READER
    return f"{scard.SCardGetErrorMessage(hresult)} (0x{hresult & 0xFFFFFFFF:08X})"


# Answers that mean pcscd itself is gone: its contexts and handles are dead.
_DAEMON_GONE: frozenset[int] = frozenset()
if scard is not None:
    _DAEMON_GONE = frozenset({
        scard.SCARD_E_NO_SERVICE,
        scard.SCARD_E_SERVICE_STOPPED,
        scard.SCARD_E_INVALID_HANDLE,
        scard.SCARD_F_COMM_ERROR,  # the socket to pcscd broke ("RPC transport error")
    })
