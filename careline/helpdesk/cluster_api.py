"""/api/v1/helpdesk/recurring — the recurring-complaints report (thin adapter over helpdesk.clusters)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from ninja import Field, Query, Router, Schema

from careline.api.auth import AuthedRequest
from careline.api.responses import error_responses
from careline.api.types import IsoDate
from careline.helpdesk import clusters

recurring_router = Router(tags=["helpdesk reports"])

ERRORS = error_responses(400, 401, 403, 404, 422)


class RecurringQuery(Schema):
    from_: IsoDate | None = Field(
        None, alias="from", description="YYYY-MM-DD (local); default: 1st of this month"
    )
    to: IsoDate | None = Field(
        None, description="YYYY-MM-DD, included; default: the last day of `from`'s month"
    )
    kind: str = Field(
        "complaint",
        pattern=r"^(complaint|inquiry|request|warranty)?$",
        description="complaint | inquiry | request | warranty; empty: every kind",
    )
    category_id: int | None = Field(
        None, ge=1, le=2**62, description="Only this category and its sub-categories"
    )
    refresh: bool = Field(False, description="Compute again instead of the copy cached for 10 minutes")


class ExampleOut(Schema):
    ticket_id: int
    text: str


class ClusterOut(Schema):
    size: int
    share: float = Field(..., description="Of the tickets in the range, 0..1")
    terms: list[str] = Field(..., description="Top words, most weighty first, as customers typed them")
    examples: list[ExampleOut] = Field(..., description="Up to 3 tickets closest to the cluster's centre")
    ticket_ids: list[int] = Field(..., description="Most typical first")
    uncategorised_ids: list[int]
    cohesion: float = Field(..., description="Mean cosine similarity of the tickets to the centre, 0..1")
    weekly: list[int] = Field(..., description="Tickets opened per week (see `weeks`)")


class RecurringOut(Schema):
    from_: dt.date = Field(..., alias="from")
    to: dt.date
    kind: str
    category_id: int | None
    tickets: int = Field(..., description="Tickets analysed (opened in the range, of the kind)")
    clustered: int = Field(..., description="Tickets inside the clusters returned")
    truncated: bool = Field(
        ..., description=f"More than {clusters.MAX_TICKETS} tickets: the newest were analysed"
    )
    weeks: list[dt.date] = Field(..., description="Mondays of the weeks counted in `weekly`")
    computed_at: dt.datetime
    clusters: list[ClusterOut]


def recurring_out(report: clusters.RecurringReport) -> dict[str, Any]:
    return {
        "from": report.start,
        "to": report.end,
        "kind": report.kind,
        "category_id": report.category_id,
        "tickets": report.tickets,
        "clustered": report.clustered,
        "truncated": report.truncated,
        "weeks": report.weeks,
        "computed_at": timezone.localtime(report.computed_at),
        "clusters": [
            {
                "size": c.size,
                "share": c.share,
                "terms": c.terms,
                "examples": [{"ticket_id": e.ticket_id, "text": e.text} for e in c.examples],
                "ticket_ids": c.ticket_ids,
                "uncategorised_ids": c.uncategorised_ids,
                "cohesion": c.cohesion,
                "weekly": c.weekly,
            }
            for c in report.clusters
        ],
    }


@recurring_router.get(
    "",
    response={200: RecurringOut, **ERRORS},
    by_alias=True,
    summary="Recurring issues: similar ticket texts grouped (needs ticket.configure)",
    description="Groups the subject and first customer message of the tickets you may see, opened between "
    "`from` and `to` (local days, both included, at most 366 days), by similarity of their folded Vietnamese "
    "words and word pairs (TF-IDF + clustering). Biggest groups first, at most 20, each of at least 3 tickets. "
    "Cached for 10 minutes. See docs/api.md § Recurring complaints.",
)
def recurring(request: AuthedRequest, query: Query[RecurringQuery]) -> Any:
    start, end = query.from_, query.to
    if start is None:
        start = clusters.month_range(end or timezone.localdate())[0]
    if end is None:
        end = clusters.month_range(start)[1]
    report = clusters.recurring_complaints(
        actor=request.auth,
        start=start,
        end=end,
        kind=query.kind,
        category_id=query.category_id,
        refresh=query.refresh,
    )
    return recurring_out(report)
