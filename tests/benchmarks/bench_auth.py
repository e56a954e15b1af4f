"""What authentication costs per call: a real registry on loopback, the same
read-only RPC called anonymously through health (no auth), with an API key
(scrypt once, then cached), as a kiosk, and with a user password (scrypt
n=2^14 on every call, by design).

    tools/bench auth      -> artifacts/benchmarks/auth.json
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.auth import authenticated_channel, basic, bearer
from common.credentials import KdfParams
from registry import identity
from registry.permissions import Role
from registry.server import create_server
from pickupbox.registry.v1 import registry_pb2 as pb
from pickupbox.registry.v1 import registry_pb2_grpc as pb_grpc
from tests.auth_support import enrol
from tests.benchmarks.common import timed, write_result  # timed warms up (the token cache)


def main(runs: int = 200) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        server = create_server(
            "127.0.0.1:0", Path(tmp) / "r.sqlite3", kdf_params=KdfParams(n=2**10)
        )
        kiosk_token = enrol(server.db, "kiosk-1")
        with server.db.transaction() as tx:
            key = identity.create_api_key(tx, "bench", "default", frozenset({Role.CLERK}))
            identity.create_user(tx, "bench", "a long bench password", "default",
                                 frozenset({Role.CLERK}))
        server.start()
        channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
        try:
            health = health_pb2_grpc.HealthStub(channel)
            keyed = pb_grpc.OfficeServiceStub(authenticated_channel(channel, bearer(key)))
            user = pb_grpc.OfficeServiceStub(authenticated_channel(
                channel, basic("bench", "a long bench password")))
            kiosk = pb_grpc.KioskServiceStub(authenticated_channel(channel, bearer(kiosk_token)))
            kiosk.RegisterKiosk(pb.RegisterKioskRequest(kiosk_id="kiosk-1"), timeout=5)
            result = {
                "health_no_auth": timed(lambda: health.Check(
                    health_pb2.HealthCheckRequest(), timeout=5), runs),
                "list_orders_api_key": timed(lambda: keyed.ListPickupOrders(
                    pb.ListPickupOrdersRequest(), timeout=5), runs),
                "heartbeat_kiosk_credential": timed(lambda: kiosk.Heartbeat(
                    pb.HeartbeatRequest(kiosk_id="kiosk-1"), timeout=5), runs),
                "list_orders_password": timed(lambda: user.ListPickupOrders(
                    pb.ListPickupOrdersRequest(), timeout=5), max(10, runs // 10)),
            }
        finally:
            channel.close()
            server.stop(grace=0)
    path = write_result("auth", result)
    for name, figures in result.items():
        print(f"{name:<28} median {figures['median_ms']:8.2f} ms  p95 {figures['p95_ms']:8.2f} ms"
              f"  ({figures['runs']} runs)")
    print(f"written to {path}")
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
