"""Results on crafted datasets (CSAT %, NPS, CES average, bands, response rate, groups, trend, distribution),
what each role sees, and list query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from careline.core.errors import PermissionDenied, ValidationFailed
from careline.surveys import selectors, services
from careline.surveys.models import Invitation, Response
from careline.surveys.tests.factories import (
    answer,
    backdate,
    consent,
    link_invitation,
    make_category,
    make_customer,
    make_survey,
    make_ticket,
)

pytestmark = pytest.mark.django_db


def record(actor, survey, score, *, customer=None, ticket=None, reason=""):
    from careline.accounts.models import User

    admin = User.objects.get(username="admin")
    customer = customer or make_customer(admin, full_name=f"Khách {score}", allow_duplicate=True)
    return services.response_record_by_agent(
        actor=actor,
        customer_id=customer.pk,
        ticket_id=ticket.pk if ticket else None,
        survey_id=survey.pk,
        score=score,
        reason=reason,
    )


def test_score_maths():
    c = selectors.Counts
    assert selectors.score_of("csat", c(responses=10, promoters=6, passives=1, detractors=3)) == 60.0
    assert selectors.score_of("nps", c(responses=10, promoters=4, passives=2, detractors=4)) == 0.0
    assert selectors.score_of("nps", c(responses=3, promoters=0, passives=0, detractors=3)) == -100.0
    assert selectors.score_of("nps", c(responses=3, promoters=2, passives=0, detractors=0)) == 66.7
    assert selectors.score_of("ces", c(responses=5, total=23)) == 4.6
    assert selectors.score_of("csat", c()) is None
    assert [selectors.band_of("nps", s) for s in (0, 6, 7, 8, 9, 10)] == [
        "detractor",
        "detractor",
        "passive",
        "passive",
        "promoter",
        "promoter",
    ]
    assert [selectors.band_of("csat", s) for s in (1, 2, 3, 4, 5)] == [
        "detractor",
        "detractor",
        "passive",
        "promoter",
        "promoter",
    ]
    assert selectors.band_of("custom", 5) == "" and selectors.band_of("nps", None) == ""


def test_csat_results_on_a_crafted_dataset(org):
    survey = make_survey(org.care_head, kind="csat")
    for score in (5, 5, 4, 3, 2, 1, 4, 5, 2, 5):
        record(org.care_head, survey, score)
    result = selectors.survey_results(actor=org.care_head, kind="csat")
    assert (result.responses, result.promoters, result.passives, result.detractors) == (10, 6, 1, 3)
    assert result.score == 60.0 and result.average == 3.6
    assert [d["responses"] for d in result.distribution] == [1, 2, 1, 2, 4]
    assert [d["score"] for d in result.distribution] == [1, 2, 3, 4, 5]


def test_nps_results_groups_and_response_rate(org):
    survey = make_survey(org.care_head, kind="nps")
    category = make_category("Học phí")
    # Two agents, answers through links on tickets (promoters 10, 9, 9 · passives 8, 7 · detractors 6, 5, 0)
    scores = {org.care_agent_hn: [10, 9, 6, 0], org.care_head: [9, 8, 7, 5]}
    for agent, values in scores.items():
        for score in values:
            customer = make_customer(org.admin, full_name=f"Khách {agent.pk} {score}", allow_duplicate=True)
            ticket = make_ticket(
                customer, assignee=agent, category=category if agent == org.care_head else None
            )
            answer(link_invitation(None, survey, customer, ticket), score)
    # Two invitations never answered; one sent long ago (outside the range).
    for i in range(3):
        customer = make_customer(org.admin, full_name=f"Im lặng {i}", allow_duplicate=True)
        invitation = link_invitation(
            None, survey, customer, make_ticket(customer, assignee=org.care_agent_hn)
        )
        if i == 2:
            backdate(invitation, sent_at=timezone.now() - dt.timedelta(days=60))
    result = selectors.survey_results(actor=org.admin, kind="nps")
    assert (result.responses, result.promoters, result.passives, result.detractors) == (8, 3, 2, 3)
    assert result.score == 0.0
    assert (result.invitations_sent, result.invitations_answered, result.response_rate) == (10, 8, 0.8)
    by_agent = {g.id: g for g in result.by_agent}
    assert by_agent[org.care_agent_hn.pk].score == 0.0  # 2 promoters, 2 detractors of 4
    assert by_agent[org.care_head.pk].score == 0.0  # 1 promoter, 1 detractor of 4
    assert (by_agent[org.care_head.pk].promoters, by_agent[org.care_head.pk].passives) == (1, 2)
    assert [(g.id, g.responses) for g in result.by_team] == [(org.hn_care.pk, 8)]
    by_category = {g.id: g for g in result.by_category}
    assert by_category[category.pk].responses == 4 and by_category[category.pk].name == "Học phí"
    assert by_category[None].responses == 4
    assert sum(t.responses for t in result.trend) == 8


def test_ces_average_and_custom(org):
    ces = make_survey(org.care_head, kind="ces")
    for score in (7, 6, 5, 4, 1):
        record(org.care_head, ces, score)
    result = selectors.survey_results(actor=org.care_head, kind="ces")
    assert result.score == 4.6 == result.average
    assert (result.promoters, result.passives, result.detractors) == (3, 1, 1)  # easy 5–7, 4, hard 1–3


def test_range_and_trend_granularity(org):
    survey = make_survey(org.care_head, kind="csat")
    today = timezone.localdate()
    old = record(org.care_head, survey, 5)
    backdate(old, created_at=timezone.now() - dt.timedelta(days=40))
    recent = [record(org.care_head, survey, s) for s in (1, 5)]
    day = selectors.survey_results(actor=org.care_head, kind="csat")
    assert (day.granularity, day.responses, day.score, day.start, day.end) == (
        "day",
        2,
        50.0,
        today - dt.timedelta(days=29),
        today,
    )
    assert len(day.trend) == 30 and day.trend[-1].responses == 2 and day.trend[-1].period == today.isoformat()
    assert day.trend[0].score is None
    weeks = selectors.survey_results(
        actor=org.care_head, kind="csat", start=today - dt.timedelta(days=60), end=today
    )
    assert weeks.granularity == "week" and weeks.responses == 3
    assert all(dt.date.fromisoformat(t.period).weekday() == 0 for t in weeks.trend)
    months = selectors.survey_results(
        actor=org.care_head, kind="csat", start=today - dt.timedelta(days=365), end=today
    )
    assert months.granularity == "month" and months.responses == 3
    assert all(t.period.endswith("-01") for t in months.trend) and len(months.trend) in (12, 13)
    assert sum(t.responses for t in months.trend) == 3
    only_old = selectors.survey_results(
        actor=org.care_head,
        kind="csat",
        start=today - dt.timedelta(days=41),
        end=today - dt.timedelta(days=39),
    )
    assert only_old.responses == 1 and only_old.score == 100.0
    assert recent


def test_local_days_cut_at_vietnam_midnight(org):
    survey = make_survey(org.care_head, kind="csat")
    response = record(org.care_head, survey, 4)
    # 23:30 on 1 March in Vietnam is 16:30 UTC: it belongs to 1 March, not 2 March.
    moment = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    backdate(response, created_at=moment)
    march_1 = selectors.survey_results(
        actor=org.care_head, kind="csat", start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 1)
    )
    march_2 = selectors.survey_results(
        actor=org.care_head, kind="csat", start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 2)
    )
    assert (march_1.responses, march_2.responses) == (1, 0)
    assert march_1.trend[0].period == "2026-03-01"


def test_result_refusals(org):
    with pytest.raises(PermissionDenied):
        selectors.survey_results(actor=org.nobody, kind="csat")
    with pytest.raises(ValidationFailed):
        selectors.survey_results(actor=org.admin, kind="stars")
    with pytest.raises(ValidationFailed):
        selectors.survey_results(
            actor=org.admin, kind="csat", start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 1)
        )
    with pytest.raises(ValidationFailed):
        selectors.survey_results(
            actor=org.admin, kind="csat", start=dt.date(2020, 1, 1), end=dt.date(2026, 1, 1)
        )


# --- visibility ------------------------------------------------------------------------------------------------


@pytest.fixture
def spread(org):
    """NPS answers of: consultant_hn's customer, consultant_hcm's customer, and a care ticket."""
    survey = make_survey(org.care_head, kind="nps")
    hn = make_customer(org.consultant_hn, full_name="Khách HN")
    hcm = make_customer(org.consultant_hcm, full_name="Khách HCM")
    care_customer = make_customer(org.admin, full_name="Khách CSKH")
    for c in (hn, hcm):
        consent(org.admin, c, "care_calls", "granted")
    return {
        "hn": answer(link_invitation(org.admin, survey, hn), 10),
        "hcm": answer(link_invitation(org.admin, survey, hcm), 9),
        "care": answer(
            link_invitation(
                None, survey, care_customer, make_ticket(care_customer, assignee=org.care_agent_hn)
            ),
            8,
        ),
    }


@pytest.mark.parametrize(
    ("user", "sees"),
    [
        ("admin", {"hn", "hcm", "care"}),
        ("director", {"hn", "hcm", "care"}),
        ("care_head", {"hn", "hcm", "care"}),
        ("manager_hn", {"hn", "care"}),
        ("supervisor_hn", {"hn"}),
        ("consultant_hn", {"hn"}),
        ("consultant_hn_b", set()),
        ("consultant_hcm", {"hcm"}),
        ("care_agent_hn", {"care"}),
        ("academic_hn", {"hn", "care"}),
        ("nobody", set()),
    ],
)
def test_who_sees_which_answers(org, spread, user, sees):
    actor = getattr(org, user)
    ids = {
        name for name, r in spread.items() if selectors.response_visible(actor=actor).filter(pk=r.pk).exists()
    }
    assert ids == sees
    if user != "nobody":
        assert selectors.survey_results(actor=actor, kind="nps").responses == len(sees)
        items, _cursor = selectors.response_list(actor=actor)
        assert {r.pk for r in items} == {spread[name].pk for name in sees}


def test_response_list_filters(org, spread):
    def ids(**kw):
        return {
            r.pk for r in selectors.response_list(actor=org.admin, filters=selectors.ResponseFilters(**kw))[0]
        }  # noqa: E731

    assert ids(band="promoter") == {spread["hn"].pk, spread["hcm"].pk}
    assert ids(band="passive", kind="nps") == {spread["care"].pk}
    assert ids(band="detractor") == set()
    assert ids(customer_id=spread["hcm"].customer_id) == {spread["hcm"].pk}
    assert ids(ticket_id=spread["care"].ticket_id) == {spread["care"].pk}
    assert ids(team_id=org.hn_care.pk) == {spread["care"].pk}
    assert ids(channel="agent") == set()
    assert ids(start=timezone.localdate(), end=timezone.localdate()) == {r.pk for r in spread.values()}
    assert ids(end=timezone.localdate() - dt.timedelta(days=1)) == set()
    services.response_record(token=spread["hn"].invitation.token, reason="Rất tốt")
    assert ids(with_reason=True) == {spread["hn"].pk}
    with pytest.raises(ValidationFailed):
        selectors.response_list(actor=org.admin, filters=selectors.ResponseFilters(band="fans"))


def test_response_list_pages_and_query_count_does_not_grow(org):
    survey = make_survey(org.care_head, kind="csat")
    for score in (1, 2, 3, 4, 5):
        record(org.care_head, survey, score)

    def count(limit: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            items, _next = selectors.response_list(actor=org.care_head, limit=limit)
            for r in items:
                (r.customer.full_name, r.survey.name, str(r.agent), r.team_id and r.team.name, r.category_id)
        return len(ctx.captured_queries)

    assert count(1) == count(5)
    first, cursor = selectors.response_list(actor=org.care_head, limit=3)
    second, end = selectors.response_list(actor=org.care_head, limit=3, cursor=cursor)
    assert len(first) == 3 and len(second) == 2 and end is None
    assert {r.pk for r in first} | {r.pk for r in second} == set(
        Response.objects.values_list("pk", flat=True)
    )


def test_results_query_count_does_not_grow_with_answers(org):
    survey = make_survey(org.care_head, kind="csat")
    record(org.care_head, survey, 5)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            selectors.survey_results(actor=org.care_head, kind="csat")
        return len(ctx.captured_queries)

    before = count()
    for score in (1, 2, 3):
        record(org.admin, survey, score)
    assert count() == before


def test_pending_invitations_for_the_record_page(org):
    survey = make_survey(org.care_head, kind="nps")
    customer = make_customer(org.admin)
    consent(org.admin, customer, "care_calls", "granted")
    waiting = link_invitation(org.admin, survey, customer)
    answered = link_invitation(org.admin, survey, customer)
    answer(answered, 9)
    expired = link_invitation(org.admin, survey, customer)
    backdate(expired, expires_at=timezone.now() - dt.timedelta(days=1))
    assert selectors.invitation_pending_for(actor=org.admin, customer_id=customer.pk) == [waiting]
    assert Invitation.objects.count() == 3
