"""The sending process the crash test kills: a delivery worker on a queue
file, sending to an SMTP port, until it is killed.

    python -m tests.messages.crash_sender QUEUE PORT BATCH
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from registry.messages.mail import PLAIN, SmtpChannel, SmtpConfig
from registry.messages.queue import MessageQueue
from registry.messages.templates import Catalogs
from registry.messages.worker import DeliveryWorker


def main() -> None:
    queue_path, port, batch = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    channel = SmtpChannel(SmtpConfig(host="127.0.0.1", port=port, sender="box@example.org",
                                     security=PLAIN, timeout=5), Catalogs())
    worker = DeliveryWorker(MessageQueue(queue_path), {"email": channel}, batch_size=batch,
                            retry_base_seconds=0.05, retry_max_seconds=0.2)
    worker.start()
    print("started", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
