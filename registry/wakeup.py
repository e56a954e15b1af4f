"""Wakes the open command streams of a kiosk when a command is queued for it.

A stream waits on an :class:`asyncio.Event` of its own; it costs no thread
and is not polled. Whoever commits a command (any thread of this process)
calls :meth:`Wakeup.publish` with the kiosks concerned, and only their
streams wake up: a broadcast to 2,000 kiosks does not wake every stream
2,000 times.

With several registry instances on one PostgreSQL the command may be
committed by another process: :class:`PostgresWakeup` sends the kiosk ids
with ``NOTIFY`` and every instance ``LISTEN``s, so the stream wakes
wherever the kiosk is connected. A notice lost while the listening
connection was down is made up for by waking every stream once it is back
(each re-reads its queue), and streams re-check now and then regardless
(the server's safety interval).

The same LISTEN connection hears of credential revocations committed by
other instances (``pickupbox_credentials``, see registry.credential_watch):
the process then forgets the kiosk credentials it believes. It forgets them
too when the connection is lost and when it is back, since a revocation's
notice may have gone unheard meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Iterable

from registry import credential_watch

log = logging.getLogger(__name__)

CHANNEL = "pickupbox_commands"
# PostgreSQL refuses NOTIFY payloads of 8,000 bytes or more.
MAX_PAYLOAD = 7000
RECONNECT_SECONDS = (0.5, 1, 2, 5, 10)


class Wakeup:
    """In-process wake-ups: the default, and what SQLite needs (one process)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._streams: dict[str, set[asyncio.Event]] = {}
        self._forget_credentials: Callable[[], None] = lambda: None

    def watch_credentials(self, forget: Callable[[], None]) -> None:
        """``forget`` is called whenever another process may have revoked a credential
        (RegistryDatabase.forget_credentials). In-process there is nothing to hear:
        the committing transaction counts its own revocations."""
        self._forget_credentials = forget

    async def start(self) -> None:
        """On the server's event loop, before it serves."""
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        self.wake_all()

    def subscribe(self, kiosk_id: str) -> asyncio.Event:
        """On the loop: an event set whenever a command is queued for ``kiosk_id``."""
        event = asyncio.Event()
        self._streams.setdefault(kiosk_id, set()).add(event)
        return event

    def unsubscribe(self, kiosk_id: str, event: asyncio.Event) -> None:
        events = self._streams.get(kiosk_id)
        if events is not None:
            events.discard(event)
            if not events:
                del self._streams[kiosk_id]

    @property
    def open_streams(self) -> int:
        return sum(len(events) for events in self._streams.values())

    def publish(self, kiosk_ids: Iterable[str]) -> None:
        """From any thread, after the commit: commands were queued for ``kiosk_ids``."""
        ids = frozenset(kiosk_ids)
        if ids:
            self._wake_soon(ids)

    def wake_all(self) -> None:
        """Every stream re-reads its queue (shutdown, or notices may have been missed)."""
        self._wake_soon(None)

    def _wake_soon(self, ids: frozenset[str] | None) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._wake, ids)
        except RuntimeError:  # the loop closed meanwhile: nobody is waiting any more
            pass

    def _wake(self, ids: Iterable[str] | None) -> None:
        if ids is None:
            groups = list(self._streams.values())
        else:
            groups = [self._streams[i] for i in ids if i in self._streams]
        for events in groups:
            for event in events:
                event.set()


def payloads(kiosk_ids: Iterable[str]) -> list[str]:
    """The NOTIFY payloads for ``kiosk_ids``: JSON lists below PostgreSQL's size limit."""
    out: list[str] = []
    chunk: list[str] = []
    size = 2
    for kiosk_id in sorted(kiosk_ids):
        length = len(json.dumps(kiosk_id)) + 1
        if chunk and size + length > MAX_PAYLOAD:
            out.append(json.dumps(chunk, separators=(",", ":")))
            chunk, size = [], 2
        chunk.append(kiosk_id)
        size += length
    if chunk:
        out.append(json.dumps(chunk, separators=(",", ":")))
    return out


def parse_payload(payload: str) -> list[str]:
    try:
        ids = json.loads(payload)
    except ValueError:
        return []
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


class PostgresWakeup(Wakeup):
    """Wake-ups across registry instances through PostgreSQL LISTEN/NOTIFY."""

    def __init__(self, url: str, *, channel: str = CHANNEL) -> None:
        super().__init__()
        self._url = url
        self._channel = channel
        self._listener: asyncio.Task | None = None
        self._listening = asyncio.Event()
        self._sender = None  # a synchronous connection, used by the committing threads
        self._send_lock = threading.Lock()

    async def start(self) -> None:
        await super().start()
        self._listening = asyncio.Event()
        self._listener = asyncio.create_task(self._listen(), name="wakeup-listen")
        # Serve only once notices can arrive; if PostgreSQL is down the
        # listener keeps trying and the streams' safety re-check covers it.
        try:
            await asyncio.wait_for(self._listening.wait(), 10)
        except asyncio.TimeoutError:
            log.warning("not yet listening for commands of other instances on %s", self._channel)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            try:
                await self._listener
            except asyncio.CancelledError:
                pass
        with self._send_lock:
            if self._sender is not None:
                self._sender.close()
                self._sender = None
        await super().stop()

    def publish(self, kiosk_ids: Iterable[str]) -> None:
        ids = frozenset(kiosk_ids)
        if not ids:
            return
        self._wake_soon(ids)  # this instance's streams need not wait for the round trip
        try:
            self._notify(ids)
        except Exception as exc:  # the command is committed; other instances re-check later
            log.warning("could not tell the other registry instances about a command: %s", exc)

    def _notify(self, ids: frozenset[str]) -> None:
        import psycopg

        with self._send_lock:
            for attempt in (1, 2):  # once more on a fresh connection after a restart of the server
                if self._sender is None or self._sender.closed:
                    self._sender = psycopg.connect(self._url, autocommit=True)
                try:
                    for payload in payloads(ids):
                        self._sender.execute("SELECT pg_notify(%s, %s)", (self._channel, payload))
                    return
                except psycopg.OperationalError:
                    self._sender.close()
                    self._sender = None
                    if attempt == 2:
                        raise

    async def _listen(self) -> None:
        import psycopg

        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True
                ) as conn:
                    await conn.execute(f'LISTEN "{self._channel}"')
                    await conn.execute(f'LISTEN "{credential_watch.CHANNEL}"')
                    # A revocation's notice may have been sent before we listened.
                    self._forget_credentials()
                    if failures:
                        log.info("listening again for commands of other instances")
                        self.wake_all()  # what was sent meanwhile is in the queues
                    failures = 0
                    self._listening.set()
                    async for notice in conn.notifies():
                        if notice.channel == credential_watch.CHANNEL:
                            self._forget_credentials()
                        else:
                            self._wake(parse_payload(notice.payload))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Revocations go unheard until the connection is back.
                self._forget_credentials()
                delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                if failures == 0:
                    log.warning("lost the command notices of other instances (%s); "
                                "reconnecting", exc)
                failures += 1
                await asyncio.sleep(delay)


def wakeup_for(database: str) -> Wakeup:
    """The wake-up bus a database needs: PostgreSQL's across processes, else in-process."""
    if database.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return PostgresWakeup(database.replace("postgresql+psycopg://", "postgresql://", 1))
    return Wakeup()
