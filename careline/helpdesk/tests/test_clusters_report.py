"""The recurring-complaints report over tickets (clusters.recurring_complaints) and turning a cluster into a
category with a playbook (clusters.cluster_to_category)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from careline.accounts.models import RoleScope, User
from careline.core.errors import NotFound, PermissionDenied, ValidationFailed
from careline.core.models import AuditEvent
from careline.helpdesk import clusters, services
from careline.helpdesk.clusters import cluster_to_category, recurring_complaints
from careline.helpdesk.models import Category, Playbook, Ticket
from careline.helpdesk.tests.test_clusters_support import SMALL_SIZES, local, make_month, make_ticket

pytestmark = pytest.mark.django_db

MARCH = {"start": dt.date(2026, 3, 1), "end": dt.date(2026, 3, 31)}
REFUND = "Đề nghị hoàn lại học phí khóa IELTS cho con tôi"
LATE = "Giáo viên đến muộn 20 phút trong buổi học thứ Hai"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def march(org) -> dict[int, str]:
    return make_month(org.admin, month_start=local(2026, 3, 2, 8))


def _topic(c: clusters.ReportCluster, topics: dict[int, str]) -> tuple[str, float]:
    topic, n = Counter(topics[i] for i in c.ticket_ids).most_common(1)[0]
    return topic, n / c.size


def test_report_groups_the_months_complaints(org, march):
    rep = recurring_complaints(actor=org.care_head, **MARCH)
    assert rep.tickets == len(march) == 26
    assert (rep.start, rep.end, rep.kind) == (*MARCH.values(), "complaint")
    found = [_topic(c, march) for c in rep.clusters[:3]]
    assert [t for t, _p in found] == ["refund", "late", "invoice"]
    assert all(p == 1.0 for _t, p in found)
    assert [c.size for c in rep.clusters[:3]] == [SMALL_SIZES[t] for t, _p in found]
    # weeks are Mondays from the week of the 1st to the week of the 31st (Vietnam time)
    assert rep.weeks[0] == dt.date(2026, 2, 23) and rep.weeks[-1] == dt.date(2026, 3, 30)
    assert len(rep.weeks) == 6
    for c in rep.clusters:
        assert sum(c.weekly) == c.size == len(c.ticket_ids)
        assert c.share == round(c.size / 26, 4)
        assert {e.ticket_id for e in c.examples} <= set(c.ticket_ids)
        assert 1 <= len(c.examples) <= 3
        assert c.uncategorised_ids == c.ticket_ids  # none of them has a category yet
        assert len(c.key) == 16 and rep.cluster(c.key) is c
    assert rep.clustered == sum(c.size for c in rep.clusters)
    refund = rep.clusters[0]
    assert refund.terms[0] == "hoàn học phí"
    assert refund.title == "Hoàn học phí"
    example = Ticket.objects.get(pk=refund.examples[0].ticket_id)
    assert refund.examples[0].text.startswith(" ".join(example.subject.split())[:40])


def test_only_the_range_kind_and_category_asked_for(org):
    hoc_phi = services.category_create(actor=org.admin, name="Học phí")
    hoan = services.category_create(actor=org.admin, name="Hoàn học phí", parent_id=hoc_phi.pk)
    other = services.category_create(actor=org.admin, name="Giáo viên")
    customer_id = make_ticket(org.admin, subject="Khác", opened_at=local(2026, 1, 5, 9)).customer_id
    inside = [
        local(2026, 3, 1, 0, 0),  # the first minute of March in Vietnam (still February in UTC)
        local(2026, 3, 10, 9),
        local(
            2026, 3, 31, 23, 59
        ),  # the last minute of March in Vietnam (already... still March 31 UTC 16:59)
    ]
    outside = [local(2026, 2, 28, 23, 59), local(2026, 4, 1, 0, 0)]
    for n, at in enumerate(inside + outside):
        make_ticket(
            org.admin, subject=f"{REFUND} {n}", opened_at=at, customer_id=customer_id, category_id=hoan.pk
        )
    make_ticket(
        org.admin,
        subject=REFUND,
        opened_at=local(2026, 3, 11, 9),
        customer_id=customer_id,
        category_id=hoc_phi.pk,
    )
    make_ticket(
        org.admin,
        subject=LATE,
        opened_at=local(2026, 3, 12, 9),
        customer_id=customer_id,
        category_id=other.pk,
    )
    make_ticket(
        org.admin, subject=REFUND, opened_at=local(2026, 3, 13, 9), customer_id=customer_id, kind="inquiry"
    )

    def count(**kwargs) -> int:
        return recurring_complaints(actor=org.care_head, **{**MARCH, **kwargs}).tickets

    assert count() == 5  # 3 inside + the parent-category one + the teacher one
    assert count(kind="") == 6  # every kind: + the inquiry
    assert count(kind="inquiry") == 1
    assert count(category_id=hoc_phi.pk) == 4  # the category and its sub-categories
    assert count(category_id=hoan.pk) == 3
    assert count(start=dt.date(2026, 2, 28), end=dt.date(2026, 2, 28)) == 1
    assert count(start=dt.date(2026, 4, 1), end=dt.date(2026, 4, 1)) == 1


def test_refused_without_the_configure_right(org):
    for actor in (
        org.care_agent_hn,
        org.consultant_hn,
        org.director,
        org.manager_hn,
        org.nobody,
        AnonymousUser(),
    ):
        with pytest.raises(PermissionDenied):
            recurring_complaints(actor=actor, **MARCH)
    assert recurring_complaints(actor=org.admin, **MARCH).tickets == 0


def _care_head_with_team_scope(org) -> User:
    RoleScope.objects.filter(role__code="care_head", object_type="ticket").update(scope="team")
    return User.objects.get(pk=org.care_head.pk)  # fresh: the scopes are cached on the instance


def test_out_of_scope_tickets_never_appear(org):
    """A head of care limited to their team (scope changed by an admin) sees only that team's tickets."""
    head = _care_head_with_team_scope(org)
    customer_id = make_ticket(org.admin, subject="Khác", opened_at=local(2026, 1, 5, 9)).customer_id
    mine, theirs = set(), set()
    for n in range(5):
        for team, bucket in ((org.hn_care, mine), (org.hcm_sales, theirs)):
            ticket = make_ticket(
                org.admin,
                subject=f"{REFUND}, lần {n}",
                message="Đã gửi đơn xin hoàn học phí mà chưa thấy hoàn tiền.",
                opened_at=local(2026, 3, 3 + n, 10),
                customer_id=customer_id,
                team_id=team.pk,
            )
            bucket.add(ticket.pk)
    assert Ticket.objects.filter(pk__in=theirs, team=org.hcm_sales).count() == 5
    rep = recurring_complaints(actor=head, **MARCH)
    assert rep.tickets == 5
    assert rep.clusters and all(set(c.ticket_ids) <= mine for c in rep.clusters)
    assert {e.ticket_id for c in rep.clusters for e in c.examples} <= mine
    everyone = recurring_complaints(actor=org.admin, **MARCH)  # another scope: another cached report
    assert everyone.tickets == 10
    assert set(everyone.clusters[0].ticket_ids) == mine | theirs


def test_cached_for_ten_minutes_per_scope_and_range(org, march):
    first = recurring_complaints(actor=org.care_head, **MARCH)
    make_ticket(org.admin, subject=REFUND, opened_at=local(2026, 3, 20, 9))
    again = recurring_complaints(actor=org.care_head, **MARCH)
    assert again.computed_at == first.computed_at and again.tickets == 26
    assert recurring_complaints(actor=org.admin, **MARCH).computed_at == first.computed_at  # both see all
    fresh = recurring_complaints(actor=org.care_head, **MARCH, refresh=True)
    assert fresh.tickets == 27 and fresh.computed_at > first.computed_at
    other_range = recurring_complaints(
        actor=org.care_head, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 15)
    )
    assert other_range.computed_at > first.computed_at
    assert clusters.REPORT_CACHE_SECONDS == 600


def test_range_and_filters_are_checked(org):
    with pytest.raises(ValidationFailed) as exc:
        recurring_complaints(actor=org.care_head, start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 1))
    assert "to" in exc.value.fields
    with pytest.raises(ValidationFailed):
        recurring_complaints(actor=org.care_head, start=dt.date(2025, 3, 1), end=dt.date(2026, 3, 2))
    assert (
        recurring_complaints(actor=org.care_head, start=dt.date(2025, 3, 2), end=dt.date(2026, 3, 1)).tickets
        == 0
    )
    with pytest.raises(ValidationFailed) as exc:
        recurring_complaints(actor=org.care_head, kind="spam", **MARCH)
    assert "kind" in exc.value.fields
    with pytest.raises(NotFound):
        recurring_complaints(actor=org.care_head, category_id=987654, **MARCH)


def test_query_count_does_not_grow_with_tickets(org):
    def queries(n: int) -> int:
        cache.clear()
        make_month(
            org.admin, month_start=local(2026, 3, 2, 8), sizes={"refund": n, "late": n}, noise=0, seed=n
        )
        head = User.objects.get(pk=org.care_head.pk)  # its role's scopes not loaded yet: the same each time
        with CaptureQueriesContext(connection) as ctx:
            recurring_complaints(actor=head, **MARCH)
        return len(ctx.captured_queries)

    assert queries(4) == queries(12)


def test_ticket_text_is_subject_and_first_message():
    assert (
        clusters._ticket_text("Hoàn học phí", "Xin hoàn học phí khóa IELTS")
        == "Hoàn học phí.\nXin hoàn học phí khóa IELTS"
    )
    assert clusters._ticket_text("Hoàn học phí", "hoan hoc phi khoa IELTS") == "hoan hoc phi khoa IELTS"
    assert clusters._ticket_text("Hoàn học phí", "") == "Hoàn học phí"
    assert clusters._ticket_text("", None) == ""


def test_month_range():
    assert clusters.month_range(dt.date(2026, 2, 14)) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert clusters.month_range(dt.date(2024, 2, 29)) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert clusters.month_range(dt.date(2026, 12, 31)) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))


# --- a cluster becomes a category and a playbook -----------------------------------------------------------


def _refund_cluster(org, march) -> clusters.ReportCluster:
    rep = recurring_complaints(actor=org.care_head, **MARCH)
    cluster = rep.clusters[0]
    assert _topic(cluster, march)[0] == "refund"
    return cluster


def test_turn_a_cluster_into_a_category_and_playbook(org, march):
    cluster = _refund_cluster(org, march)
    done = cluster_to_category(
        actor=org.care_head,
        cluster=cluster,
        name="Hoàn học phí",
        steps=["Xác minh biên lai", "Tính số buổi còn lại", "Chuyển kế toán hoàn tiền"],
        involve="Kế toán",
        default_priority="high",
    )
    category = Category.objects.get(pk=done.category_id)
    assert (category.name, category.default_priority, category.parent_id) == ("Hoàn học phí", "high", None)
    playbook = Playbook.objects.get(pk=done.playbook_id)
    assert playbook.category_id == category.pk
    assert playbook.steps == ["Xác minh biên lai", "Tính số buổi còn lại", "Chuyển kế toán hoàn tiền"]
    assert playbook.involve == "Kế toán"
    assert (done.recategorised, done.skipped) == (0, 0)
    assert not Ticket.objects.filter(category=category).exists()  # not asked to move the tickets
    assert AuditEvent.objects.filter(
        object_type="helpdesk.category", object_id=str(category.pk), actor=org.care_head
    ).exists()


def test_recategorise_the_uncategorised_tickets(org, march):
    cluster = _refund_cluster(org, march)
    categorised, closed, *rest = cluster.ticket_ids
    elsewhere = services.category_create(actor=org.admin, name="Đã phân loại")
    services.ticket_update(actor=org.admin, ticket_id=categorised, data={"category_id": elsewhere.pk})
    services.ticket_resolve(actor=org.admin, ticket_id=closed)
    services.ticket_close(actor=org.admin, ticket_id=closed)
    done = cluster_to_category(
        actor=org.care_head, cluster=cluster, name="Hoàn học phí", steps=["Xác minh"], recategorise=True
    )
    # the report (cached) still lists the ticket categorised since as uncategorised: it is checked again
    assert done.recategorised == len(rest)
    assert done.skipped == 2
    assert set(Ticket.objects.filter(category_id=done.category_id).values_list("pk", flat=True)) == set(rest)
    assert Ticket.objects.get(pk=categorised).category_id == elsewhere.pk
    assert Ticket.objects.get(pk=closed).category_id is None
    moved = Ticket.objects.get(pk=rest[0])
    assert moved.events.filter(kind="category", to_value="Hoàn học phí").exists()


def test_turning_needs_the_configure_right_and_is_all_or_nothing(org, march):
    cluster = _refund_cluster(org, march)
    before = Category.objects.count()
    with pytest.raises(PermissionDenied):
        cluster_to_category(
            actor=org.care_agent_hn, cluster=cluster, name="X", steps=["a"], recategorise=True
        )
    with pytest.raises(ValidationFailed) as exc:
        cluster_to_category(
            actor=org.care_head, cluster=cluster, name="Hoàn học phí", steps=["ok", " "], recategorise=True
        )
    assert "steps" in exc.value.fields
    assert Category.objects.count() == before  # the category made before the playbook failed is gone
    assert not Ticket.objects.filter(pk__in=cluster.ticket_ids, category__isnull=False).exists()
