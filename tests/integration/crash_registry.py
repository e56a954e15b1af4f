"""The registry in its own process for the crash tests: prints its port, serves until stdin closes."""

from __future__ import annotations

import sys

from common.credentials import KdfParams
from registry.notifier import DirectoryNotifier
from registry.server import create_server


def main() -> int:
    db, notify_dir = sys.argv[1], sys.argv[2]
    server = create_server(
        "127.0.0.1:0",
        db,
        notifier=DirectoryNotifier(notify_dir),
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
