"""A virtual smartcard for vpcd, the virtual reader driver of vsmartcard.

With Debian's ``vsmartcard-vpcd`` installed, pcscd shows two readers,
"Virtual PCD 00 00" and "Virtual PCD 00 01", listening on TCP 35963 and
35964. A card is "put on the reader" by connecting to that port and taken
off by disconnecting. vpcd then sends frames of a 2-byte big-endian length
plus payload: a 1-byte payload is a control code (0 power off, 1 power on,
2 reset, 4 send the ATR), anything longer is a command APDU that wants the
response APDU back in the same framing.

So the card driver under test runs against the real pcscd, the real reader
driver and the real PC/SC client library; only the chip is imitated.

Profiles: ``staff`` (a DESFire-style staff card answering its UID to
``FF CA 00 00 00``), ``eid`` (a German ID card: contactless ATR, a random
UID per insertion as real eID chips do, and an EF.CardAccess built from
BSI TR-03110), ``nouid`` (a contact card that has no UID).

For vendors checking a reader set-up by hand::

    python -m hardware.devicesim.vpcd_card --profile staff --uid 04A1B2C3

keeps the card inserted (reconnecting when pcscd restarts) until Ctrl-C.

Never install vpcd on a real kiosk: it listens on all network interfaces.
"""

from __future__ import annotations

import argparse
import os
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hardware.pcsc import eid

VPCD_HOST = "127.0.0.1"
VPCD_PORTS = {"Virtual PCD 00 00": 35963, "Virtual PCD 00 01": 35964}
DEFAULT_PORT = 35963

POWER_OFF, POWER_ON, RESET, GET_ATR = 0, 1, 2, 4

SW_OK = b"\x90\x00"
SW_END_OF_FILE = b"\x62\x82"
SW_WRONG_OFFSET = b"\x6b\x00"
SW_NO_UID = b"\x6a\x81"  # function not supported: the card has no contactless UID
SW_FILE_NOT_FOUND = b"\x6a\x82"
SW_UNKNOWN_INS = b"\x6d\x00"
SW_WRONG_PARAMS = b"\x6a\x86"

GET_UID = bytes.fromhex("FFCA000000")
MF_FID = 0x3F00


def contactless_atr(historical: bytes) -> bytes:
    """The ATR a PC/SC reader builds for an ISO 14443-4 card (PC/SC part 3, 3.1.3.2.3).

    3B 8n 80 01, the card's historical bytes (ATS or ATQB data), and TCK,
    the XOR of every byte from T0 on.
    """
    body = bytes([0x80 | len(historical), 0x80, 0x01]) + historical
    tck = 0
    for byte in body:
        tck ^= byte
    return b"\x3b" + body + bytes([tck])


def eid_card_access() -> bytes:
    """EF.CardAccess as a German ID card carries it (TR-03110 part 3, A.1.1).

    Terminal Authentication v2, Chip Authentication (ECDH, AES-128) v2 with
    key 65, PACE with ECDH generic mapping and AES-128 on brainpoolP256r1
    (standardized domain parameter 13), and CA's domain parameters.
    """
    brainpool_p256r1 = 13
    ca_key = 65
    return eid.der(0x31, b"".join([
        eid.der(0x30, eid.der_oid(eid.ID_TA) + eid.der_int(2)),
        eid.der(0x30, eid.der_oid(eid.ID_CA + ".2.2") + eid.der_int(2) + eid.der_int(ca_key)),
        eid.der(0x30, eid.der_oid(eid.ID_PACE + ".2.2") + eid.der_int(2)
                + eid.der_int(brainpool_p256r1)),
        eid.der(0x30, eid.der_oid(eid.ID_CA + ".2")
                + eid.der(0x30, eid.der_oid(eid.STANDARDIZED_DOMAIN_PARAMETERS)
                          + eid.der_int(brainpool_p256r1))
                + eid.der_int(ca_key)),
    ]))


@dataclass(frozen=True)
class CardProfile:
    """What a kind of card answers. `uid` None: no UID; `random_uid`: new one per insertion."""

    name: str
    atr: bytes
    uid: bytes | None = None
    random_uid: bool = False
    files: dict[int, bytes] = field(default_factory=dict)  # FID -> content, in the MF
    sfis: dict[int, int] = field(default_factory=dict)  # short EF identifier -> FID


PROFILES = {
    # Mifare DESFire as a PC/SC reader reports it: ISO 14443-4 type A, ATS
    # historical byte 0x80 (no data).
    "staff": CardProfile("staff", contactless_atr(b"\x80"), uid=bytes.fromhex("04A1B2C3D4E5F6")),
    # German ID card: ISO 14443 type A with its own historical bytes, and a
    # random 4-byte UID starting with 08 (ISO 14443-3 "random ID").
    "eid": CardProfile(
        "eid",
        contactless_atr(bytes.fromhex("8031F873F741E0829000")),
        random_uid=True,
        files={eid.CARD_ACCESS_FID: eid_card_access()},
        sfis={eid.CARD_ACCESS_SFI: eid.CARD_ACCESS_FID},
    ),
    # A contact card (T=0) such as a bank card: no contactless UID.
    "nouid": CardProfile("nouid", bytes.fromhex("3B021450")),
}


class VirtualCard:
    """One card, put on and taken off a vpcd reader by connecting and disconnecting.

    `apdu_log` lists every command APDU the card received, in order, across
    insertions. `vanish_on_next_apdu()` makes the card leave in the middle of
    the next exchange (it disconnects instead of answering), as a card
    pulled off the reader during a transmit does.
    """

    def __init__(
        self,
        profile: CardProfile | str = "staff",
        *,
        uid: bytes | None = None,
        port: int = DEFAULT_PORT,
        host: str = VPCD_HOST,
        quick_ack: bool = True,
    ) -> None:
        self.quick_ack = quick_ack  # False only to measure what TCP_QUICKACK saves
        self.profile = PROFILES[profile] if isinstance(profile, str) else profile
        self._fixed_uid = uid
        self.port = port
        self.host = host
        self.apdu_log: list[bytes] = []
        self.uid: bytes | None = None  # the UID of the current (or last) insertion
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._vanish = threading.Event()
        self._current_ef: int | None = None
        self._lock = threading.Lock()

    # --- Controls

    @property
    def inserted(self) -> bool:
        return self._sock is not None

    def insert(self, timeout: float = 5.0) -> None:
        """Put the card on the reader; waits until vpcd accepts the connection."""
        if self.inserted:
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
                break
            except OSError as exc:
                if time.monotonic() >= deadline:
                    raise ConnectionError(
                        f"vpcd does not accept a card on {self.host}:{self.port} ({exc}); "
                        "is pcscd running with vsmartcard-vpcd installed?"
                    ) from exc
                time.sleep(0.05)
        sock.settimeout(None)
        if self.quick_ack:
            _quick(sock)
        self.uid = self._fixed_uid if self._fixed_uid is not None else self._new_uid()
        self._current_ef = None
        self._vanish.clear()
        self._sock = sock
        self._thread = threading.Thread(
            target=self._serve, args=(sock,), name=f"vpcd-card-{self.port}", daemon=True
        )
        self._thread.start()

    def remove(self) -> None:
        """Take the card off the reader (close the connection). Idempotent."""
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)

    def vanish_on_next_apdu(self) -> None:
        self._vanish.set()

    def wait_until_gone(self, timeout: float = 5.0) -> bool:
        """Wait until vpcd dropped the connection (pcscd stopped) or remove() ran."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self._thread is None or not self._thread.is_alive()

    # --- The chip

    def answer(self, apdu: bytes) -> bytes:
        """The response APDU to `apdu`, as the profile's chip would give it."""
        if apdu[:4] == GET_UID[:4]:
            return self.uid + SW_OK if self.uid is not None else SW_NO_UID
        if len(apdu) < 4:
            return b"\x67\x00"
        cla, ins, p1, p2 = apdu[:4]
        if cla & 0x80 and cla != 0xFF:
            return b"\x6e\x00"
        if ins == 0xA4:
            return self._select(p1, apdu[5 : 5 + apdu[4]] if len(apdu) > 5 else b"")
        if ins == 0xB0:
            return self._read_binary(p1, p2, apdu[4] if len(apdu) > 4 else 0)
        return SW_UNKNOWN_INS

    def _select(self, p1: int, data: bytes) -> bytes:
        fid = int.from_bytes(data, "big") if len(data) == 2 else None
        if p1 == 0x00 and fid in (None, MF_FID):
            self._current_ef = None
            return SW_OK
        if p1 in (0x00, 0x02) and fid in self.profile.files:
            self._current_ef = fid
            return SW_OK
        return SW_FILE_NOT_FOUND

    def _read_binary(self, p1: int, p2: int, le: int) -> bytes:
        if p1 & 0x80:
            fid = self.profile.sfis.get(p1 & 0x1F)
            if fid is None:
                return SW_FILE_NOT_FOUND
            self._current_ef, offset = fid, p2
        else:
            offset = (p1 << 8) | p2
        if self._current_ef is None:
            return b"\x69\x86"  # no current EF
        content = self.profile.files[self._current_ef]
        if offset > len(content):
            return SW_WRONG_OFFSET
        wanted = le or 256
        chunk = content[offset : offset + wanted]
        return chunk + (SW_OK if len(chunk) == wanted else SW_END_OF_FILE)

    def _new_uid(self) -> bytes | None:
        if self.profile.random_uid:
            return b"\x08" + os.urandom(3)
        return self.profile.uid

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                payload = _receive(sock, self.quick_ack)
                if payload is None:
                    break
                if len(payload) == 1:
                    if payload[0] == GET_ATR:
                        _send(sock, self.profile.atr)
                    elif payload[0] in (POWER_OFF, RESET):
                        self._current_ef = None  # a reset selects the MF again
                    continue
                with self._lock:
                    self.apdu_log.append(payload)
                if self._vanish.is_set():
                    break
                _send(sock, self.answer(payload))
        except OSError:
            pass
        finally:
            if self._sock is sock:
                self._sock = None
                sock.close()


def _quick(sock: socket.socket) -> None:
    # Without these, Nagle and delayed ACKs add ~40 ms to every APDU.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if hasattr(socket, "TCP_QUICKACK"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def _receive(sock: socket.socket, quick_ack: bool) -> bytes | None:
    header = _exactly(sock, 2, quick_ack)
    if header is None:
        return None
    (length,) = struct.unpack(">H", header)
    return _exactly(sock, length, quick_ack)


def _exactly(sock: socket.socket, count: int, quick_ack: bool) -> bytes | None:
    data = b""
    while len(data) < count:
        if quick_ack and hasattr(socket, "TCP_QUICKACK"):
            # vpcd writes the length and the APDU separately; with Nagle on
            # its side the APDU waits for our ACK of the length, which Linux
            # delays by up to 40 ms. The kernel drops quick-ACK mode on its
            # own, so it is set again before every read.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(struct.pack(">H", len(payload)) + payload)


# --- Command line ----------------------------------------------------------------------


def main(argv: list[str] | None = None, *, stop: Callable[[], bool] = lambda: False) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hardware.devicesim.vpcd_card",
        description="Put a virtual card on a vpcd reader until Ctrl-C.",
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="staff")
    parser.add_argument("--uid", help="UID in hex (default: the profile's)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help="vpcd port: 35963 = Virtual PCD 00 00, 35964 = 00 01")
    parser.add_argument("--host", default=VPCD_HOST)
    args = parser.parse_args(argv)
    try:
        uid = bytes.fromhex(args.uid) if args.uid else None
    except ValueError:
        parser.error(f"--uid {args.uid!r}: expected hex digits such as 04A1B2C3")
    card = VirtualCard(args.profile, uid=uid, port=args.port, host=args.host)
    try:
        while not stop():
            if not card.inserted:
                try:
                    card.insert(timeout=1.0)
                except ConnectionError as exc:
                    print(f"waiting for vpcd: {exc}", file=sys.stderr)
                    continue
                uid_text = card.uid.hex().upper() if card.uid else "none"
                print(f"card {args.profile} inserted on port {args.port}, UID {uid_text}")
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        card.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
