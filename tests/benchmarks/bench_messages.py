"""Benchmark: ready-for-pickup notices for 10,000 deposits queued at once,
all handed to a real SMTP server (aiosmtpd, in its own process, on loopback).

Reports how long queueing took (MessagesNotifier.order_ready, as the
registry calls it), messages per second handed over (target 100/s on this
machine) and the sending process's memory at the start and the end of
sending (it should stay flat: the worker holds one batch at a time).

    tools/bench messages    # or: .venv/bin/python -m tests.benchmarks.bench_messages [N [DB]]

The queue is in a registry database (migration 0007): a fresh SQLite file by
default, or DB, e.g. a migrated PostgreSQL URL (``tools/pg-cluster start``
and ``kiosk-registry db upgrade --db URL``; its queue tables must be empty).
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from common.credentials import generate_code, group_code, qr_payload
from registry.messages.config import MessagesConfig, Office
from registry.messages.mail import PLAIN, SmtpConfig
from registry.messages.notifier import MessagesNotifier
from registry.notifier import ReadyNotice
from tests.benchmarks.common import write_result

DEPOSITS = 10_000
TARGET_PER_SECOND = 100


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (this one by default)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the SMTP server did not open port {port}")


def main(deposits: int = DEPOSITS, database: str | None = None) -> dict:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        with tempfile.TemporaryDirectory() as folder:
            config = MessagesConfig(
                office=Office(name="Bürgerbüro Musterstadt", address="Rathausplatz 1",
                              hours="Mo–Fr 8–18", phone="0123 456789"),
                email=SmtpConfig(host="127.0.0.1", port=port, sender="box@example.org",
                                 security=PLAIN, timeout=30),
                reminder_days=0,  # only the ready notices: one message per deposit
            )
            notifier = MessagesNotifier(
                config, database=database or Path(folder) / "registry.sqlite3",
                queue_path=Path(folder) / "none.sqlite3")
            deadline = datetime.now(timezone.utc) + timedelta(hours=20)
            # A code of its own per deposit: every QR image is made afresh.
            codes = [generate_code() for _ in range(deposits)]
            started = time.perf_counter()
            for i, code in enumerate(codes):
                notifier.order_ready(ReadyNotice(
                    reference=f"PO-{i:08d}", pickup_code=group_code(code),
                    qr_payload=qr_payload(code), pickup_deadline=deadline,
                    office_contact="", contact=f"citizen{i}@example.org;lang=tr",
                    document_kind="id_card", kiosk_id="kiosk-1", compartment_number=i % 40 + 1,
                ))
            queued_seconds = time.perf_counter() - started
            rss_start = rss_mib()
            rss_samples = [rss_start]
            started = time.perf_counter()
            cpu_start, server_cpu_start = cpu_seconds(), cpu_seconds(server.pid)
            notifier.start()
            while notifier.queue.counts().get("sent", 0) < deposits:
                time.sleep(0.5)
                rss_samples.append(rss_mib())
                if time.perf_counter() - started > 1800:
                    break
            send_seconds = time.perf_counter() - started
            sender_cpu = cpu_seconds() - cpu_start
            server_cpu = cpu_seconds(server.pid) - server_cpu_start
            load = os.getloadavg()[0]
            counts = notifier.queue.counts()
            notifier.close()
    finally:
        server.terminate()
        server.wait(10)
    per_second = counts.get("sent", 0) / send_seconds
    result = {
        "deposits": deposits,
        "database": "postgresql" if database and database.startswith("postgres") else "sqlite",
        "sent": counts.get("sent", 0),
        "statuses": counts,
        "queue_seconds": round(queued_seconds, 2),
        "send_seconds": round(send_seconds, 2),
        "messages_per_second": round(per_second, 1),
        "target_per_second": TARGET_PER_SECOND,
        "rss_mib_at_start_of_sending": round(rss_start, 1),
        "rss_mib_peak_while_sending": round(max(rss_samples), 1),
        "rss_mib_at_end": round(rss_samples[-1], 1),
        "batch_size": config.batch_size,
        "senders": config.senders,
        # The machine is shared: CPU time per message says what the wall
        # clock cannot when other work is running.
        "sender_cpu_ms_per_message": round(sender_cpu / max(1, counts.get("sent", 0)) * 1000, 2),
        "smtp_server_cpu_ms_per_message": round(
            server_cpu / max(1, counts.get("sent", 0)) * 1000, 2),
        "load_average_1min_at_end": round(load, 2),
    }
    path = write_result("messages", result)
    print(f"{result['sent']}/{deposits} ready notices handed to SMTP in {send_seconds:.1f} s:"
          f" {per_second:.0f} messages/s (target {TARGET_PER_SECOND}); queueing took"
          f" {queued_seconds:.1f} s; RSS {rss_start:.0f} -> peak {max(rss_samples):.0f} MiB;"
          f" sender {result['sender_cpu_ms_per_message']} ms CPU per message, SMTP server"
          f" {result['smtp_server_cpu_ms_per_message']} ms; load average {load:.1f}")
    print(f"results: {path}")
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEPOSITS,
         sys.argv[2] if len(sys.argv) > 2 else None)
