"""The ACME CU48 line protocol (made up for the worked example): pure functions.

One line per frame, ASCII, ending in a newline::

    status request   S<addr>*<cs>                 S01*62
    status reply     s<addr>:<12 hex digits>*<cs>  bit n set = lock n+1 closed
    unlock request   U<addr>:<lock>*<cs>          U01:07*..
    unlock reply     u<addr>:<lock>*<cs>

<addr> and <lock> are two decimal digits; <cs> is the XOR of every character
before the ``*``, as two hex digits.
"""

from __future__ import annotations

CHANNELS = 48
BAUDRATE = 38400


def checksum(body: str) -> str:
    value = 0
    for char in body.encode("ascii"):
        value ^= char
    return f"{value:02X}"


def frame(body: str) -> bytes:
    return f"{body}*{checksum(body)}\n".encode("ascii")


def status_request(address: int) -> bytes:
    return frame(f"S{address:02d}")


def unlock_request(address: int, lock: int) -> bytes:
    return frame(f"U{address:02d}:{lock:02d}")


def status_reply(address: int, closed: int) -> bytes:
    return frame(f"s{address:02d}:{closed:012X}")


def unlock_reply(address: int, lock: int) -> bytes:
    return frame(f"u{address:02d}:{lock:02d}")


def parse(line: bytes) -> str:
    """The body of one line; ValueError naming what is wrong with it."""
    text = line.decode("ascii", errors="replace").strip()
    body, star, sent = text.rpartition("*")
    if not star or checksum(body) != sent.upper():
        raise ValueError(f"checksum error in {text!r} (should end *{checksum(body)})")
    return body
