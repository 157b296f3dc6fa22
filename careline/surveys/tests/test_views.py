"""Survey pages: the staff pages (anonymous → login, out of scope → 404, forbidden → 403, allowed) and the
public page customers answer on (token, one click, CSRF, language, expiry, rate limit)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from careline.conftest import web_client
from careline.surveys import services
from careline.surveys.models import Invitation, Response, Survey
from careline.surveys.tests.factories import (
    answer,
    backdate,
    consent,
    link_invitation,
    make_customer,
    make_survey,
    make_ticket,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    settings.CARELINE_PUBLIC_URL = "http://testserver"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(org):
    survey = make_survey(org.care_head, name="NPS", kind="nps")
    customer = make_customer(org.consultant_hn, full_name="Khách HN")
    consent(org.admin, customer, "care_calls", "granted")
    invitation = link_invitation(org.admin, survey, customer)
    response = answer(invitation, 9, reason="Tư vấn nhiệt tình")
    return {"survey": survey, "customer": customer, "invitation": invitation, "response": response}


def pages(world) -> dict[str, str]:
    c, s, i = world["customer"].pk, world["survey"].pk, world["invitation"].pk
    return {
        "results": "/surveys/",
        "responses": "/surveys/responses/",
        "list": "/surveys/manage/",
        "create": "/surveys/manage/new/",
        "edit": f"/surveys/manage/{s}/",
        "record": f"/surveys/record/?customer={c}",
        "invitation": f"/surveys/invitations/{i}/",
    }


def test_anonymous_visitors_go_to_the_login_page(org, world):
    client = Client()
    for name, url in pages(world).items():
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/"), name
    r = client.post(
        "/surveys/invite/",
        {"customer": world["customer"].pk, "survey": world["survey"].pk, "channel": "link"},
    )
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


def test_out_of_scope_is_not_found(org, world):
    before = (Response.objects.count(), Invitation.objects.count())
    for user in (org.consultant_hcm, org.consultant_hn_b, org.nobody):
        client = web_client(user)
        assert client.get(pages(world)["record"]).status_code == 404, user
        assert client.get(pages(world)["invitation"]).status_code == 404, user
        r = client.post(
            "/surveys/record/", {"customer": world["customer"].pk, "survey": world["survey"].pk, "score": 1}
        )
        assert r.status_code == 404, user
        r = client.post(
            "/surveys/invite/",
            {"customer": world["customer"].pk, "survey": world["survey"].pk, "channel": "link"},
        )
        assert r.status_code == 404, user
    admin = web_client(org.admin)
    assert admin.get("/surveys/manage/999999/").status_code == 404
    assert admin.get("/surveys/invitations/999999/").status_code == 404
    assert admin.get("/surveys/record/?customer=999999").status_code == 404
    assert admin.get("/surveys/record/").status_code == 404
    assert admin.get("/surveys/record/?ticket=999999").status_code == 404
    assert (Response.objects.count(), Invitation.objects.count()) == before


def test_forbidden_pages(org, world):
    cases = [
        ("nobody", "results"),
        ("nobody", "responses"),
        ("nobody", "list"),
        ("care_agent_hn", "create"),
        ("care_agent_hn", "edit"),
        ("consultant_hn", "create"),
        ("director", "edit"),
        ("director", "record"),
        ("academic_hn", "record"),
    ]
    for user, page in cases:
        r = web_client(getattr(org, user)).get(pages(world)[page])
        assert r.status_code == 403, (user, page, r.status_code)
    director = web_client(org.director)
    before = (
        Response.objects.count(),
        Invitation.objects.count(),
        list(Survey.objects.values_list("name", flat=True)),
    )
    r = director.post(
        "/surveys/record/", {"customer": world["customer"].pk, "survey": world["survey"].pk, "score": 1}
    )
    assert r.status_code == 403
    r = director.post(
        "/surveys/invite/",
        {"customer": world["customer"].pk, "survey": world["survey"].pk, "channel": "link"},
    )
    assert r.status_code == 403
    r = web_client(org.care_agent_hn).post(
        pages(world)["edit"], {"name": "Hack", "kind": "nps", "trigger": "manual"}
    )
    assert r.status_code == 403
    after = (
        Response.objects.count(),
        Invitation.objects.count(),
        list(Survey.objects.values_list("name", flat=True)),
    )
    assert after == before


# --- allowed -------------------------------------------------------------------------------------------------


def test_results_dashboard(org, world):
    r = web_client(org.care_head).get("/surveys/?kind=nps")
    assert r.status_code == 200
    body = r.content.decode()
    assert 'id="kpi-score"' in body and 'id="trend-chart"' in body and 'id="distribution-chart"' in body
    data = json.loads(
        re.search(
            r'<script id="results-chart-data" type="application/json">(.*?)</script>', body, re.S
        ).group(1)
    )
    assert data["kind"] == "nps" and sum(data["responses"]) == 1 and data["distribution"]["responses"][9] == 1
    assert "surveys/results.js" in body and "<script>" not in body  # no inline script under the CSP
    assert re.search(r'id="kpi-score">\s*100', body)
    # Bad filters are reported, not a crash.
    r = web_client(org.care_head).get("/surveys/?start=31/02/2026")
    assert r.status_code == 200 and 'id="results-error"' in r.content.decode()
    r = web_client(org.care_head).get("/surveys/?kind=nps&start=01/01/2020&end=01/01/2026")
    assert r.status_code == 200 and 'id="results-error"' in r.content.decode()
    # A consultant sees the page with only their own answers.
    r = web_client(org.consultant_hcm).get("/surveys/?kind=nps")
    assert r.status_code == 200 and re.search(r'id="kpi-responses">0<', r.content.decode())


def test_responses_list(org, world):
    client = web_client(org.consultant_hn)
    r = client.get("/surveys/responses/")
    body = r.content.decode()
    assert (
        r.status_code == 200
        and f'id="response-{world["response"].pk}"' in body
        and "Tư vấn nhiệt tình" in body
    )
    r = client.get("/surveys/responses/?band=detractor")
    assert 'id="no-responses"' in r.content.decode()
    r = client.get("/surveys/responses/?band=promoter", HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and r.content.decode().lstrip().startswith('<div id="response-rows">')
    r = client.get(f"/surveys/responses/?customer={world['customer'].pk}")
    assert f'id="response-{world["response"].pk}"' in r.content.decode()
    assert "<html" not in client.get("/surveys/responses/", HTTP_HX_REQUEST="true").content.decode()


def test_responses_list_query_count_does_not_grow(org, world):
    client = web_client(org.admin)
    client.get("/surveys/responses/")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/surveys/responses/").status_code == 200
        return len(ctx.captured_queries)

    before = count()
    for score in (1, 5, 7):
        services.response_record_by_agent(
            actor=org.admin, customer_id=world["customer"].pk, survey_id=world["survey"].pk, score=score
        )
    assert count() == before


def test_survey_settings_pages(org, world):
    client = web_client(org.care_head)
    r = client.get("/surveys/manage/")
    assert r.status_code == 200 and 'id="new-survey"' in r.content.decode()
    assert 'id="new-survey"' not in web_client(org.care_agent_hn).get("/surveys/manage/").content.decode()
    r = client.post(
        "/surveys/manage/new/",
        {
            "name": "Khảo sát lớp học",
            "kind": "custom",
            "trigger": "schedule",
            "active": "on",
            "every_days": "60",
            "questions": "Giáo viên thế nào? | scale 1-5 *\nBạn học ở đâu? | choice: Hà Nội; HCM\nGóp ý",
            "segment_stage": "customer",
            "segment_team": str(org.hn_sales.pk),
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    survey = Survey.objects.get(name="Khảo sát lớp học")
    assert survey.segment == {"stage": "customer", "team": org.hn_sales.pk} and survey.every_days == 60
    assert [q["type"] for q in survey.questions] == ["scale", "choice", "text"] and survey.questions[0][
        "required"
    ]
    r = client.get(f"/surveys/manage/{survey.pk}/")
    assert "Giáo viên thế nào? * | scale 1-5" in r.content.decode()
    r = client.post(
        f"/surveys/manage/{survey.pk}/",
        {"name": "Khảo sát lớp", "kind": "custom", "trigger": "schedule", "questions": ""},
    )
    assert (
        r.status_code == 200 and "invalid-feedback" in r.content.decode()
    )  # a custom survey needs questions; scheduled needs days
    r = client.post(
        f"/surveys/manage/{world['survey'].pk}/",
        {"name": "NPS 2026", "kind": "nps", "trigger": "manual", "active": ""},
    )
    assert r.status_code == 302
    world["survey"].refresh_from_db()
    assert (world["survey"].name, world["survey"].active) == ("NPS 2026", False)


def test_record_page_and_post(org, world):
    client = web_client(org.consultant_hn)
    r = client.get(pages(world)["record"])
    body = r.content.decode()
    assert r.status_code == 200 and 'id="record-form"' in body and 'id="invite-form"' in body
    assert "Tư vấn nhiệt tình" in body  # the customer's latest answers
    r = client.post(
        "/surveys/record/",
        {"customer": world["customer"].pk, "survey": world["survey"].pk, "score": "3", "reason": "Giá cao"},
    )
    assert r.status_code == 302 and r["Location"] == f"/surveys/record/?customer={world['customer'].pk}"
    recorded = Response.objects.filter(channel="agent").get()
    assert (recorded.score, recorded.reason, recorded.recorded_by) == (3, "Giá cao", org.consultant_hn)
    assert recorded.follow_up_ticket_id is not None
    r = client.post(
        "/surveys/record/", {"customer": world["customer"].pk, "survey": world["survey"].pk, "score": ""}
    )
    assert r.status_code == 200 and "invalid-feedback" in r.content.decode()


def test_record_page_from_a_ticket(org):
    survey = make_survey(org.care_head, kind="csat")
    customer = make_customer(org.admin)  # outside the care agent's customer scope; the ticket is theirs
    ticket = make_ticket(customer, assignee=org.care_agent_hn, subject="Đổi trả")
    client = web_client(org.care_agent_hn)
    r = client.get(f"/surveys/record/?customer={customer.pk}&ticket={ticket.pk}")
    assert r.status_code == 200 and "Đổi trả" in r.content.decode()
    r = client.post(
        "/surveys/record/", {"customer": customer.pk, "ticket": ticket.pk, "survey": survey.pk, "score": "5"}
    )
    assert r.status_code == 302
    assert Response.objects.get().ticket_id == ticket.pk
    # a link for the customer to answer themselves, shown to copy
    r = client.post(
        "/surveys/invite/",
        {"customer": customer.pk, "ticket": ticket.pk, "survey": survey.pk, "channel": "link"},
    )
    invitation = Invitation.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/surveys/invitations/{invitation.pk}/"
    page = client.get(r["Location"]).content.decode()
    assert f"http://testserver/s/{invitation.token}/" in page


def test_invite_without_email_shows_the_error(org, world):
    r = web_client(org.consultant_hn).post(
        "/surveys/invite/",
        {"customer": world["customer"].pk, "survey": world["survey"].pk, "channel": "email"},
    )
    assert r.status_code == 422 and "invalid-feedback" in r.content.decode()


def test_invitation_page_shows_the_answer(org, world):
    r = web_client(org.consultant_hn).get(pages(world)["invitation"])
    body = r.content.decode()
    assert r.status_code == 200 and "Tư vấn nhiệt tình" in body and 'id="invitation-url"' not in body


# --- the public page -----------------------------------------------------------------------------------------


def _fresh(org, kind="csat", **survey_data):
    survey = make_survey(org.care_head, kind=kind, name=f"{kind} công khai", **survey_data)
    customer = make_customer(org.admin, full_name="Nguyễn Thị Mai", salutation="chi")
    consent(org.admin, customer, "care_calls", "granted")
    return link_invitation(org.admin, survey, customer)


def test_public_page_shows_the_question_in_vietnamese_with_big_buttons(org):
    invitation = _fresh(org, kind="nps")
    r = Client().get(f"/s/{invitation.token}/")
    body = r.content.decode()
    assert r.status_code == 200
    assert '<html lang="vi">' in body and "Chị Mai" in body
    assert all(f'id="score-{n}"' in body for n in range(0, 11))
    assert 'name="csrfmiddlewaretoken"' in body and 'name="viewport"' in body
    assert "no-cache" in r["Cache-Control"] or "no-store" in r["Cache-Control"]
    assert "Content-Security-Policy" in r and "frame-ancestors 'none'" in r["Content-Security-Policy"]
    r = Client().get(f"/s/{invitation.token}/?lang=en")
    body = r.content.decode()
    assert (
        '<html lang="en">' in body
        and "How likely are you to recommend us" in body
        and "Nguyễn Thị Mai" in body
    )


def test_public_page_in_the_invitations_language(org):
    survey = make_survey(org.care_head, kind="csat")
    customer = make_customer(org.admin, full_name="Anna Lee")
    ticket = make_ticket(customer, assignee=org.care_agent_hn)
    invitation = services.invitation_create(
        actor=org.admin,
        survey_id=survey.pk,
        customer_id=customer.pk,
        ticket_id=ticket.pk,
        channel="link",
        language="en",
    )
    body = Client().get(f"/s/{invitation.token}/").content.decode()
    assert '<html lang="en">' in body and "Very satisfied" in body and f"request #{ticket.pk}" in body
    assert '<html lang="vi">' in Client().get(f"/s/{invitation.token}/?lang=vi").content.decode()


def test_one_click_records_then_asks_for_the_reason(org):
    invitation = _fresh(org)
    client = Client(enforce_csrf_checks=True)
    r = client.get(f"/s/{invitation.token}/?score=2")
    assert r.status_code == 303 and r["Location"] == f"/s/{invitation.token}/?lang=vi&scored=1"
    response = Response.objects.get()
    assert response.score == 2 and response.follow_up_ticket_id is not None
    r = client.get(f"/s/{invitation.token}/?score=11")
    assert r.status_code == 422 and Response.objects.get().score == 2
    r = client.get(f"/s/{invitation.token}/?score=4")  # changed their mind
    assert r.status_code == 303 and Response.objects.get().score == 4


def test_post_needs_the_csrf_token(org):
    invitation = _fresh(org)
    client = Client(enforce_csrf_checks=True)
    r = client.post(f"/s/{invitation.token}/", {"score": "5", "reason": "Tốt"})
    assert r.status_code == 403 and not Response.objects.exists()
    page = client.get(f"/s/{invitation.token}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    r = client.post(
        f"/s/{invitation.token}/?lang=vi",
        {"csrfmiddlewaretoken": token, "score": "5", "reason": "<b>Tốt</b>"},
    )
    assert r.status_code == 303 and r["Location"] == f"/s/{invitation.token}/thanks/?lang=vi"
    assert (Response.objects.get().score, Response.objects.get().reason) == (5, "<b>Tốt</b>")
    thanks = client.get(r["Location"])
    assert thanks.status_code == 200 and 'id="survey-thanks"' in thanks.content.decode()
    assert 'id="change-answer"' in thanks.content.decode()
    # The reason comes back escaped when the customer changes the answer.
    page = client.get(f"/s/{invitation.token}/").content.decode()
    assert "&lt;b&gt;Tốt&lt;/b&gt;" in page and "<b>Tốt</b>" not in page


def test_post_without_a_score_is_refused_first_time(org):
    invitation = _fresh(org)
    client = Client()
    r = client.post(f"/s/{invitation.token}/", {"reason": "Không chọn điểm"})
    assert r.status_code == 422 and 'id="survey-errors"' in r.content.decode()
    assert "Không chọn điểm" in r.content.decode() and not Response.objects.exists()


def test_custom_survey_page(org):
    invitation = _fresh(
        org,
        kind="custom",
        questions=[
            {"label": "Phòng học", "type": "scale", "min": 1, "max": 5, "required": True},
            {"label": "Cơ sở", "type": "choice", "options": ["Cầu Giấy", "Hoàn Kiếm"]},
            {"label": "Góp ý khác", "type": "text"},
        ],
    )
    client = Client()
    body = client.get(f"/s/{invitation.token}/").content.decode()
    assert (
        'id="answer_q1_5"' in body
        and "Hoàn Kiếm" in body
        and 'id="answer_q3"' in body
        and 'id="score-' not in body
    )
    r = client.post(f"/s/{invitation.token}/", {"answer_q2": "Cầu Giấy"})
    assert r.status_code == 422
    r = client.post(
        f"/s/{invitation.token}/", {"answer_q1": "4", "answer_q2": "Cầu Giấy", "answer_q3": "Điều hoà ồn"}
    )
    assert r.status_code == 303
    assert Response.objects.get().answers == {"q1": 4, "q2": "Cầu Giấy", "q3": "Điều hoà ồn"}


def test_unknown_expired_and_closed_links_are_friendly(org):
    r = Client().get("/s/not-a-token/")
    assert r.status_code == 404 and 'data-kind="unknown"' in r.content.decode()
    assert Client().get("/s/not-a-token/thanks/").status_code == 404
    expired = _fresh(org)
    backdate(expired, expires_at=timezone.now() - dt.timedelta(hours=1))
    r = Client().get(f"/s/{expired.token}/")
    assert r.status_code == 410 and 'data-kind="expired"' in r.content.decode()
    assert Client().get(f"/s/{expired.token}/?score=5").status_code == 410
    assert Client().post(f"/s/{expired.token}/", {"score": "5"}).status_code == 410
    answered = _fresh(org, kind="nps")
    response = answer(answered, 8)
    backdate(response, days=8)
    r = Client().get(f"/s/{answered.token}/?score=10")
    assert r.status_code == 410 and 'data-kind="closed"' in r.content.decode()
    assert Response.objects.get(pk=response.pk).score == 8
    thanks = Client().get(f"/s/{answered.token}/thanks/").content.decode()
    assert 'id="change-answer"' not in thanks


def test_rate_limit(org):
    invitation = _fresh(org)
    client = Client()
    statuses = [client.get(f"/s/{invitation.token}/?score={1 + i % 5}").status_code for i in range(31)]
    assert statuses[:30] == [303] * 30 and statuses[30] == 429
    assert 'data-kind="limited"' in client.get(f"/s/{invitation.token}/?score=3").content.decode()
    assert client.get(f"/s/{invitation.token}/").status_code == 200  # looking is never limited


def test_answers_show_on_the_customer_timeline(org, world):
    from careline.core.timeline import entries_for

    entries = [
        e
        for e in entries_for(actor=org.consultant_hn, customer=world["customer"], limit=20)
        if e.kind == "survey.response"
    ]
    assert len(entries) == 1 and "NPS 9" in entries[0].title and entries[0].body == "Tư vấn nhiệt tình"
    assert entries[0].extra["badge"]
    assert [
        e
        for e in entries_for(actor=org.consultant_hcm, customer=world["customer"], limit=20)
        if e.kind == "survey.response"
    ] == []
