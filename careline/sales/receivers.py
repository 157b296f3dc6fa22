"""Reactions of the sales app to other apps' events."""

from __future__ import annotations

from typing import Any

from careline.activities.choices import CONTACT_KINDS
from careline.sales import services
from careline.sales.choices import InquiryStatus
from careline.sales.models import Inquiry


def activity_logged(sender: Any, activity: Any, actor: Any = None, **kwargs: Any) -> None:
    """A contact its owner logs on the customer (a call, email, meeting, proposal or offer that happened and
    did not fail) counts as contact: the lead stops the reclaim clock. Planned follow-ups and notes do not."""
    if activity.owner_id is None or not activity.occurred_at:
        return
    if activity.kind not in CONTACT_KINDS or activity.outcome == "failed":
        return
    ids = list(
        Inquiry.objects.filter(
            customer_id=activity.customer_id, owner_id=activity.owner_id, status=InquiryStatus.ASSIGNED
        ).values_list("pk", flat=True)
    )
    if ids:
        services.inquiry_mark_contacted(inquiry_ids=ids, at=activity.occurred_at or activity.created_at)
