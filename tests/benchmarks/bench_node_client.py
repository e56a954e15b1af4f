"""What one call through the example Node.js client costs: `pickupbox.js
get-order` as a new process each time (Node's start, proto-loader reading
protos/, connecting, the call), as an office's script would run it, against
a real registry on loopback with an integration API key; then the same call
repeated in one Node process on its open channel (registry-client.js), and
from the Python client on an open channel, for comparison.

    tools/bench node_client   -> artifacts/benchmarks/node_client.json
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc

from common.auth import authenticated_channel, bearer
from common.credentials import KdfParams
from registry import identity
from registry.permissions import Role
from registry.server import create_server
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from tests.auth_support import enrol
from tests.benchmarks.common import summary_ms, timed, write_result
from tests.interop.test_node_client import CLIENT, NODE, NODE_MODULES, node_env


# Calls GetPickupOrder `runs` times on one connection after a warm-up call;
# prints the durations in seconds as JSON.
REPEATED = """
const fs = require('node:fs');
const { connect } = require(process.argv[1]);
const [address, keyFile, reference, runs] = process.argv.slice(2);
const registry = connect({ address, token: fs.readFileSync(keyFile, 'utf8').trim(),
                           plaintext: true });
(async () => {
  await registry.office.GetPickupOrder({ reference });
  const seconds = [];
  for (let i = 0; i < Number(runs); i++) {
    const start = process.hrtime.bigint();
    await registry.office.GetPickupOrder({ reference });
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  registry.close();
  console.log(JSON.stringify(seconds));
})();
"""


def main(runs: int = 20) -> dict:
    if NODE is None or not NODE_MODULES.is_dir():
        sys.exit("needs node and the Node client's packages: run tools/setup --tests")
    with tempfile.TemporaryDirectory() as tmp:
        server = create_server("127.0.0.1:0", Path(tmp) / "r.sqlite3", kdf_params=KdfParams(n=2**10))
        enrol(server.db, "kiosk-1")
        with server.db.transaction() as tx:
            key = identity.create_api_key(tx, "bench", "default", frozenset({Role.INTEGRATION}))
        key_file = Path(tmp) / "bench.key"
        key_file.write_text(key)
        server.start()
        channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
        try:
            office = pb_grpc.OfficeServiceStub(authenticated_channel(channel, bearer(key)))
            reference = office.CreatePickupOrder(pb.CreatePickupOrderRequest(
                request_id="bench", kind=pb.DOCUMENT_KIND_ID_CARD), timeout=10).order.reference
            command = [NODE, str(CLIENT), "--address", f"127.0.0.1:{server.port}", "--plaintext",
                       "--token-file", str(key_file), "get-order", reference]

            def node_call() -> None:
                subprocess.run(command, check=True, capture_output=True, env=node_env(),
                               timeout=60)

            repeated = subprocess.run(
                [NODE, "-e", REPEATED, str(CLIENT.parent / "registry-client.js"),
                 f"127.0.0.1:{server.port}", str(key_file), reference, str(runs * 10)],
                check=True, capture_output=True, text=True, env=node_env(), timeout=300)
            result = {
                "node_process_get_order": timed(node_call, runs),
                "node_channel_get_order": summary_ms(json.loads(repeated.stdout)),
                "python_channel_get_order": timed(lambda: office.GetPickupOrder(
                    pb.GetPickupOrderRequest(reference=reference), timeout=5), runs * 10),
            }
        finally:
            channel.close()
            server.stop(grace=0)
    path = write_result("node_client", result)
    for name, figures in result.items():
        print(f"{name:<26} median {figures['median_ms']:8.2f} ms  p95 {figures['p95_ms']:8.2f} ms"
              f"  ({figures['runs']} runs)")
    print(f"written to {path}")
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
