"""The registry in its own process for the crash tests: prints its port, serves until stdin closes.

    python -m tests.integration.crash_registry DB NOTIFY_DIR [PORT [MESSAGES_CONFIG]]

PORT (default 0: any free one) lets a restarted registry listen where the
kiosk expects it; MESSAGES_CONFIG adds the messages notifier (its queue
in the registry database) to the directory notifier.
"""

from __future__ import annotations

import sys

from common.credentials import KdfParams
from registry.notifier import DirectoryNotifier, FanOutNotifier
from registry.server import create_server


def main() -> int:
    db, notify_dir = sys.argv[1], sys.argv[2]
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    notifier = DirectoryNotifier(notify_dir)
    if len(sys.argv) > 4:
        from registry.messages.notifier import MessagesNotifier

        notifier = FanOutNotifier([notifier, MessagesNotifier(sys.argv[4], directory=notify_dir)])
    server = create_server(
        f"127.0.0.1:{port}",
        db,
        notifier=notifier,
        kdf_params=KdfParams(n=2**10, r=8, p=1),
        stream_poll_seconds=0.2,
    )
    server.start()
    print(server.port, flush=True)
    sys.stdin.read()
    server.stop(grace=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
