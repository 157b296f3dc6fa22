"""The customer timeline: one stream of what happened with a customer, fed by every app.

Apps register a *provider* from their `AppConfig.ready()`; a provider is a callable
`provider(*, actor, customer, limit) -> Iterable[TimelineEntry]` returning at most `limit` of the newest
entries it knows for this customer, limited to what `actor` may see. `entries_for` merges them newest first.

`core` imports no domain app: providers are registered from outside (activities, customers, sales…).
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the timeline.

    `at` is an aware datetime; `icon` a Bootstrap Icons name ("telephone"); `title` and `body` are plain
    text (templates escape them); `url` links to the record; `extra` carries provider-specific values the
    template may use, e.g. `extra["actions"] = [{"label", "url", "icon"}]` buttons posted with htmx, or
    `extra["badge"]` a short status label.
    """

    at: dt.datetime
    kind: str
    icon: str
    title: str
    body: str = ""
    actor_label: str = ""
    url: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    key: str = ""  # stable id ("activity:12"): breaks ties between entries at the same instant


class Provider(Protocol):
    def __call__(self, *, actor: Any, customer: Any, limit: int) -> Iterable[TimelineEntry]: ...


_providers: dict[str, Provider] = {}


def _name_of(provider: Callable[..., Any]) -> str:
    return f"{provider.__module__}.{getattr(provider, '__qualname__', repr(provider))}"


def register(provider: Provider, *, name: str | None = None) -> Provider:
    """Add a provider (idempotent: registering the same name again replaces it). Usable as a decorator."""
    _providers[name or _name_of(provider)] = provider
    return provider


def unregister(provider_or_name: Provider | str) -> None:
    name = provider_or_name if isinstance(provider_or_name, str) else _name_of(provider_or_name)
    _providers.pop(name, None)


def providers() -> dict[str, Provider]:
    """The registered providers by name (a copy)."""
    return dict(_providers)


def _sort_key(entry: TimelineEntry) -> tuple[float, str]:
    return (-entry.at.timestamp(), entry.key)


def entries_for(*, actor: Any, customer: Any, limit: int = 100) -> list[TimelineEntry]:
    """The newest `limit` entries of every provider for this customer, merged newest first.

    The caller has already checked that `actor` sees `customer` (customers.selectors.customer_get); each
    provider applies its own visibility rules to its records."""
    if limit < 1:
        return []
    streams = []
    for provider in _providers.values():
        entries = sorted(provider(actor=actor, customer=customer, limit=limit), key=_sort_key)
        streams.append(entries[:limit])
    return list(itertools.islice(heapq.merge(*streams, key=_sort_key), limit))
