"""Heartbeats for the activities that can take a while (rendering a document, projecting a state that
may wait for a locked read model). A heartbeat says only that the worker running the activity is alive:
if the worker dies, Temporal notices within the activity's ``heartbeat_timeout`` (workflows/base.py)
and retries it on another worker, instead of waiting out the whole start-to-close timeout."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from temporalio import activity

T = TypeVar("T")

BEAT_SECONDS = 1.0
"""Well inside the 5 s heartbeat timeout, so a loaded machine (2 cores) that delays a beat by a few
seconds is not mistaken for a dead worker."""


async def beating(work: Callable[[], T]) -> T:
    """Run blocking ``work`` on a thread while this async activity heartbeats."""
    running = asyncio.ensure_future(asyncio.to_thread(work))
    while True:
        done, _ = await asyncio.wait({running}, timeout=BEAT_SECONDS)
        if done:
            return running.result()
        activity.heartbeat()


@contextmanager
def heartbeating() -> Iterator[None]:
    """Heartbeat from a side thread while a synchronous activity's body runs (it may block on a lock)."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(BEAT_SECONDS):
            activity.heartbeat()

    beater = threading.Thread(target=contextvars.copy_context().run, args=(beat,), name="shezu-heartbeat", daemon=True)
    beater.start()
    try:
        yield
    finally:
        stop.set()
        beater.join()
