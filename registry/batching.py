"""Group commit: many concurrent calls' database work as one transaction.

A thousand kiosks heartbeating means a thousand tiny transactions, each with
its commit (an fsync on SQLite), all queued at the one writer. A
:class:`Batches` runs them together instead: the requests that arrive while
one batch is in the database form the next batch, so under load each batch
carries what accumulated during the previous one and when idle a request
runs at once, with no timer to wait for. Every caller still awaits its own
result, which exists only after the batch's transaction committed: a
heartbeat is answered once it is stored, and a database that fails fails
every caller of that batch (health keeps following the database).

It lives on the server's event loop; the batch itself runs in a thread of
its own, never on the loop, and never queued behind the calls waiting for
the pool (a burst of office calls must not hold up every heartbeat).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# At most this many requests per batch: one transaction stays short.
MAX_BATCH = 500


class Batches(Generic[Item, Result]):
    """``await submit(item)`` runs ``run([item, ...])`` for all items submitted
    meanwhile; ``run`` returns one result per item, in order."""

    def __init__(self, run: Callable[[list[Item]], Sequence[Result]], name: str, *,
                 max_batch: int = MAX_BATCH) -> None:
        self._run = run
        # One thread: batches of one kind follow each other (each gathers
        # what arrived during the one before).
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"batch-{name}")
        self._max_batch = max_batch
        self._waiting: list[tuple[Item, asyncio.Future]] = []
        self._worker: asyncio.Task | None = None

    async def submit(self, item: Item) -> Result:
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._worker is None:
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                batch = self._waiting[:self._max_batch]
                del self._waiting[:self._max_batch]
                # A caller that gave up while it waited (its deadline passed,
                # the call was cancelled) is not worked for: an overloaded
                # registry does not store what nobody waits for any more.
                batch = [(item, future) for item, future in batch if not future.done()]
                if not batch:
                    continue
                try:
                    results = await loop.run_in_executor(
                        self._executor, self._run, [item for item, _ in batch])
                except Exception as error:  # the database's: every caller of the batch gets it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():  # a caller that went away is skipped
                        future.set_result(result)
        finally:
            self._worker = None

    def close(self) -> None:
        """Ends the thread once the batch in it (if any) is done."""
        self._executor.shutdown(wait=True)
