"""Logging for the services: exactly one structured line per record on stderr.

Under systemd, stderr goes to journald (``$JOURNAL_STREAM`` is set): each
line then starts with the kernel-style priority prefix ``<N>`` that journald
turns into the record's PRIORITY, and carries no timestamp (journald stamps
it). On a terminal each line starts with an ISO timestamp. Either way a
record is one line: newlines inside a message or a traceback are escaped,
so ``journalctl -o cat`` and ``grep`` see a record whole.

Kivy, by default (``KIVY_LOG_MODE=KIVY``), puts its own console handler on
the *root* logger when it is imported. With ours there too every record was
printed twice, once in each format. ``PYTHON`` mode leaves Python's logging
alone: Kivy's own records come through our handler like any other.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import datetime, timezone

# syslog priorities (sd-daemon(3)): what journald files the line under.
_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}
_HANDLER_NAME = "pickupbox-stderr"


def _priority(levelno: int) -> int:
    for level in sorted(_PRIORITY, reverse=True):
        if levelno >= level:
            return _PRIORITY[level]
    return 7


class OneLineFormatter(logging.Formatter):
    """``<ts> LEVEL logger: message`` (terminal) or ``<N>LEVEL logger: message`` (journald)."""

    def __init__(self, journald: bool) -> None:
        super().__init__()
        self.journald = journald

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        text = text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")
        line = f"{record.levelname} {record.name}: {text}"
        if self.journald:
            return f"<{_priority(record.levelno)}>{line}"
        stamp = datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
        return f"{stamp.replace('+00:00', 'Z')} {line}"


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of the record, as logging's
    own last resort does: a handler bound to the stream of the moment keeps
    writing into a closed file once something (a test harness, a daemon
    wrapper) swaps stderr."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr


def setup_logging(level: int | str = logging.INFO, *, stream=None) -> logging.Handler:
    """Installs the one stderr handler on the root logger (again: replaces, never adds a second)."""
    # Before anything imports Kivy; an explicit choice in the environment wins.
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME or isinstance(handler, logging.StreamHandler) and \
                getattr(handler, "stream", None) in (sys.stderr, sys.stdout):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream) if stream is not None else _CurrentStderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(OneLineFormatter(journald=bool(os.environ.get("JOURNAL_STREAM"))))
    root.addHandler(handler)
    root.setLevel(level)
    return handler
