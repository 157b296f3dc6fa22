"""The new-lead lane of intake (`services._receive_new_lead`: decide first, write once in one round trip)
writes what the general path (`_receive` + `_allocate`: create, then assign) writes — the same customer,
phones, emails, inquiry, assignment log, audit, notice, rotation state and open-lead counts — except what
creating the customer with its owner changes on purpose: one history row and one audit event for the
customer instead of "created" then "given to", and version 1 instead of 2."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from careline.accounts.models import Notification
from careline.core.models import AuditEvent
from careline.customers.models import Customer
from careline.sales import services
from careline.sales.models import AllocationMember, AllocationRule, Assignment, Inquiry, OpenLeadCount
from careline.sales.tests.factories import make_rule

pytestmark = pytest.mark.django_db

TIMES = {"id", "created_at", "updated_at", "received_at", "assigned_at", "contact_due_at", "history_date"}


class Rollback(Exception):
    pass


def _fields(obj: Any, skip: set[str]) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname not in skip}


def written(inquiry_id: int) -> dict[str, Any]:
    """Everything one intake wrote, ids of the new customer and inquiry replaced by C and I."""
    inquiry = Inquiry.objects.get(pk=inquiry_id)
    customer = Customer.objects.get(pk=inquiry.customer_id)
    ids = {str(customer.pk): "C", str(inquiry.pk): "I"}

    mine = {("customers.customer", str(customer.pk)): "C", ("sales.inquiry", str(inquiry.pk)): "I"}
    events = []
    for e in AuditEvent.objects.filter(object_id__in=list(ids)).order_by("id"):
        which = mine.get((e.object_type, e.object_id))
        if which is None:
            continue
        changes = e.changes
        if "customer" in changes:
            changes = {**changes, "customer": [None, "C"]}
        events.append((e.object_type, which, e.action, e.actor_id, e.actor_label, e.source, changes))
    return {
        "customer": _fields(customer, TIMES | {"version"}),
        "version": customer.version,
        "points": list(
            customer.contact_points.order_by("kind", "position").values_list(
                "kind", "value", "label", "position"
            )
        ),
        "history": [
            _fields(h, TIMES | {"history_id", "version"}) for h in customer.history.order_by("history_id")
        ],
        "inquiry": {
            **_fields(inquiry, TIMES | {"customer_id"}),
            "due_after": inquiry.contact_due_at - inquiry.assigned_at if inquiry.contact_due_at else None,
        },
        "assignments": [
            _fields(a, TIMES | {"inquiry_id", "customer_id"})
            for a in Assignment.objects.filter(inquiry_id=inquiry.pk)
        ],
        "events": events,
        "notices": [
            (n.user_id, n.kind, n.message, n.url.replace(f"/{customer.pk}/", "/C/"))
            for n in Notification.objects.filter(url__endswith=f"/{customer.pk}/").order_by("id")
        ],
        "rotation": {r.pk: r.rotation for r in AllocationRule.objects.all()},
        "members": list(AllocationMember.objects.order_by("id").values_list("id", "assigned_count")),
        "open_leads": dict(OpenLeadCount.objects.values_list("user_id", "open_leads")),
    }


def both(
    data: services.InquiryData, monkeypatch: pytest.MonkeyPatch, actor: Any = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the lane writes (then rolled back) and what the general path writes, from the same state."""
    import copy

    fast: dict[str, Any] = {}
    try:
        with transaction.atomic():
            result = services.inquiry_receive(actor=actor, data=copy.deepcopy(data))
            fast = written(result.inquiry.pk)
            raise Rollback
    except Rollback:
        pass
    calls: list[int] = []
    real = services._receive_new_lead

    def general(**kwargs: Any) -> None:
        calls.append(1)
        return

    monkeypatch.setattr(services, "_receive_new_lead", general)
    result = services.inquiry_receive(actor=actor, data=copy.deepcopy(data))
    monkeypatch.setattr(services, "_receive_new_lead", real)
    assert calls, "the general path was not taken"
    return fast, written(result.inquiry.pk)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {
            "email": "Lan.Tran@Example.vn",
            "message": "Cho em hỏi học phí khoá IELTS buổi tối",
            "external_id": "evt-9",
        },
        {"phone": "", "email": "chi.mai@example.vn", "full_name": ""},
        {"province": "Hà Nội", "product_interest": "IELTS", "language": "en", "channel": "zalo"},
    ],
    ids=["phone", "phone+email+external id", "email only", "province+product+language"],
)
def test_lane_writes_what_the_general_path_writes(org, monkeypatch, extra):
    make_rule(org.hn_sales, [org.consultant_hn, org.consultant_hn_b], reclaim_after_minutes=120)
    services.inquiry_receive(
        actor=None, data=services.InquiryData(channel="web", full_name="Ai đó", phone="0912000999")
    )
    data = services.InquiryData(
        **{"channel": "web", "full_name": "Trần  Thị Lan", "phone": "0912.345.678", **extra}
    )
    fast, general = both(data, monkeypatch, actor=org.admin)
    assert fast["customer"]["owner_id"] == org.consultant_hn_b.pk  # the rotation's next
    for key in (
        "customer",
        "points",
        "inquiry",
        "assignments",
        "notices",
        "rotation",
        "members",
        "open_leads",
    ):
        assert fast[key] == general[key], key
    # On purpose: created with its owner — one history row, version 1 …
    assert (fast["version"], general["version"]) == (1, 2)
    assert [h["history_type"] for h in general["history"]] == ["+", "~"]
    assert len(fast["history"]) == 1
    assert fast["history"][0] == {**general["history"][1], "history_type": "+", "history_change_reason": None}
    # … and the customer's creation event shows the owner; the general path's extra "update" event has it.
    c_create, *rest = fast["events"]
    g_create, g_inquiry_create, g_update, g_assign = general["events"]
    assert rest == [g_inquiry_create, g_assign]
    assert g_update[2] == "update"
    merged = {**g_create[6], **{k: {"before": None, "after": v["after"]} for k, v in g_update[6].items()}}
    assert c_create[:6] == g_create[:6] and c_create[6] == merged


def test_lane_is_not_taken_for_a_known_customer_consent_or_nobody_available(org, monkeypatch):
    taken: list[bool] = []
    real = services._receive_new_lead

    def spy(**kwargs: Any) -> Any:
        result = real(**kwargs)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(services, "_receive_new_lead", spy)
    # No rule: queued by the general path.
    first = services.inquiry_receive(actor=None, data=services.InquiryData(channel="web", phone="0912000001"))
    assert first.inquiry.status == "queued" and taken == [False]
    make_rule(org.hn_sales, [org.consultant_hn])
    # A known phone: the customer's own inquiry, general path.
    again = services.inquiry_receive(
        actor=None, data=services.InquiryData(channel="web", phone="0912 000 001")
    )
    assert again.inquiry.customer_id == first.inquiry.customer_id and taken == [False, False]
    # Consent to record: general path, consent stored, allocated.
    consent = services.inquiry_receive(
        actor=None, data=services.InquiryData(channel="web", phone="0912000002", consent=True)
    )
    assert consent.inquiry.owner_id == org.consultant_hn.pk and taken[-1] is False
    assert consent.inquiry.customer.consents.count() == 1
    # The lane.
    lane = services.inquiry_receive(actor=None, data=services.InquiryData(channel="web", phone="0912000003"))
    assert lane.inquiry.owner_id == org.consultant_hn.pk and taken[-1] is True
    # Nobody available (the only member inactive): the general path queues it in the rule's team.
    AllocationMember.objects.update(active=False)
    waiting = services.inquiry_receive(
        actor=None, data=services.InquiryData(channel="web", phone="0912000004")
    )
    assert (
        waiting.inquiry.status == "queued"
        and waiting.inquiry.team_id == org.hn_sales.pk
        and taken[-1] is False
    )
    assert Customer.objects.filter(contact_points__value="+84912000004").count() == 1


def test_lane_answers_a_redelivery_with_the_first_inquiry(org):
    make_rule(org.hn_sales, [org.consultant_hn])
    data = dict(channel="zalo", phone="0912000005", external_id="zalo-77")
    first = services.inquiry_receive(actor=None, data=services.InquiryData(**data))
    again = services.inquiry_receive(actor=None, data=services.InquiryData(**data))
    assert first.created and not again.created and again.inquiry.pk == first.inquiry.pk
    assert Inquiry.objects.count() == 1 and Customer.objects.count() == 1
