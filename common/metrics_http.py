"""The Prometheus endpoint both services share: ``/metrics`` on one address, or none."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

OFF = "off"


def parse_listen(listen: str) -> tuple[str, int] | None:
    """("host", port) from "host:port"; None for "off". Raises ValueError naming the problem."""
    if listen.strip().lower() == OFF:
        return None
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(
            f"metrics address {listen!r}: expected HOST:PORT such as 127.0.0.1:9465, or 'off'"
        )
    return host.strip("[]"), int(port)


class MetricsEndpoint:
    """Serves a CollectorRegistry at ``http://HOST:PORT/metrics``; "off" serves nothing.

    The address is checked on construction, the port bound by :meth:`start`
    (port 0 picks a free one: read :attr:`port` afterwards).
    """

    def __init__(self, registry, listen: str) -> None:
        self.registry = registry
        self.listen = listen
        self.address = parse_listen(listen)
        self._started = None

    @property
    def port(self) -> int | None:
        return None if self._started is None else self._started[0].server_port

    def start(self) -> None:
        from prometheus_client import start_http_server

        if self.address is None or self._started is not None:
            return
        host, port = self.address
        try:
            self._started = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise OSError(f"cannot serve metrics on {self.listen}: {exc}") from exc
        log.info("metrics on http://%s:%d/metrics", host, self.port)

    def stop(self) -> None:
        if self._started is not None:
            server, thread = self._started
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            self._started = None
