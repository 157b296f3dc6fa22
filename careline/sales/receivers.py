"""Reactions of the sales app to other apps' events."""

from __future__ import annotations

from typing import Any

from careline.sales import services
from careline.sales.choices import InquiryStatus
from careline.sales.models import Inquiry


def activity_logged(sender: Any, activity: Any, actor: Any = None, **kwargs: Any) -> None:
    """Any activity its owner logs on the customer counts as contact: the lead stops the reclaim clock."""
    if activity.owner_id is None:
        return
    ids = list(
        Inquiry.objects.filter(
            customer_id=activity.customer_id, owner_id=activity.owner_id, status=InquiryStatus.ASSIGNED
        ).values_list("pk", flat=True)
    )
    if ids:
        services.inquiry_mark_contacted(inquiry_ids=ids, at=activity.occurred_at or activity.created_at)
