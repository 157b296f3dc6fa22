"""Live job progress in the shared cache: a job writes its figures here while its data transaction is still
open (nothing in that transaction is visible to the web page polling for the bar until it commits).

A process that runs a job itself (the CLI) can also listen to the figures to draw its own progress bar.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import cache

TTL = 24 * 3600
Listener = Callable[[int, dict[str, Any]], None]
_listeners: list[Listener] = []


def _key(job_id: int) -> str:
    return f"careline:job:{job_id}:progress"


def progress_set(job_id: int, **figures: Any) -> None:
    current = cache.get(_key(job_id)) or {}
    current.update(figures)
    cache.set(_key(job_id), current, TTL)
    for listener in list(_listeners):
        listener(job_id, current)


def progress_get(job_id: int) -> dict[str, Any]:
    return dict(cache.get(_key(job_id)) or {})


def progress_clear(job_id: int) -> None:
    cache.delete(_key(job_id))


@contextmanager
def progress_listen(listener: Listener) -> Iterator[None]:
    """Call `listener(job_id, figures)` on every progress update made in this process while inside."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)
