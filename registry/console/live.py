"""Live parts of console pages: one server-sent event stream per open page
that sends the page's parts again whenever the registry's data behind them
changed. The fleet dashboard and an order's page use it.

A page gives a cheap fingerprint of its data (``version``, read twice a
second in its own transaction) and how to render its parts (``render``).
The stream sends them when the fingerprint changed, and at least every
``refresh`` seconds when the page shows something that follows the clock.
An event's data is one or more elements, each with the id of the page
element whose content it replaces (registry/console/static/console.js).

The stream does not count as activity: an unattended page is signed out
like any page, and the stream then ends with a ``signedout`` event.
``render`` returning None ends the stream without a word (e.g. the account
may no longer see the data: the next page load says why).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from registry.console.app import Page
from registry.console.sessions import COOKIE

CHECK_SECONDS = 0.5


def sse_event(name: str, html: str) -> str:
    """Pure: one server-sent event; every line of ``html`` becomes a data line."""
    lines = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"event: {name}\n{lines}\n"


def stream(page: Page, event: str, version: Callable[[object], tuple],
           render: Callable[[], Awaitable[str | None]],
           refresh: float | None = None) -> StreamingResponse:
    """The event stream of one open page (the caller has checked the page's access).

    ``event``: the name console.js listens for (the page's ``data-live-event``);
    ``version(tx)``: the fingerprint; ``render()``: the parts' HTML, or None to stop.
    """
    console = page.console
    token = page.request.cookies.get(COOKIE)

    def fingerprint() -> tuple:
        with console.db.transaction() as tx:
            return version(tx)

    async def events():
        seen = await run_in_threadpool(fingerprint)
        sent_at = time.monotonic()
        yield "retry: 2000\n\n"
        while console.sessions.is_live(token):
            await asyncio.sleep(CHECK_SECONDS)
            if await page.request.is_disconnected():
                return
            now = await run_in_threadpool(fingerprint)
            due = refresh is not None and time.monotonic() - sent_at >= refresh
            if now == seen and not due:
                continue
            seen, sent_at = now, time.monotonic()
            html = await render()
            if html is None:
                return
            yield sse_event(event, html)
        yield sse_event("signedout", "")

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})
