"""Recurring complaints pages: the report (page + results fragment) and "turn into a category + playbook"."""

from __future__ import annotations

import json
import re

import pytest
from django.core.cache import cache

from careline.accounts.models import RoleScope
from careline.conftest import web_client
from careline.helpdesk import clusters
from careline.helpdesk.models import Category, Playbook, Ticket
from careline.helpdesk.tests.test_clusters_support import PAGE_URL, local, make_month, make_ticket

pytestmark = pytest.mark.django_db

RESULTS_URL = PAGE_URL + "results/"
CATEGORY_URL = PAGE_URL + "category/"
MARCH = {"month": "2026-03", "kind": "complaint"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def march(org) -> dict[int, str]:
    return make_month(org.admin, month_start=local(2026, 3, 2, 8))


def _report(org) -> clusters.RecurringReport:
    import datetime as dt

    return clusters.recurring_complaints(
        actor=org.care_head, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31)
    )


@pytest.mark.parametrize("url", [PAGE_URL, RESULTS_URL, CATEGORY_URL])
def test_anonymous_goes_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(CATEGORY_URL, {}).status_code == 302


@pytest.mark.parametrize("who", ["care_agent_hn", "consultant_hn", "director", "manager_hn", "nobody"])
@pytest.mark.parametrize("url", [PAGE_URL, RESULTS_URL, CATEGORY_URL])
def test_forbidden_without_the_configure_right(org, who, url):
    client = web_client(getattr(org, who))
    assert client.get(url, MARCH).status_code == 403
    assert client.post(CATEGORY_URL, {**MARCH, "cluster": "x", "name": "X", "steps": "a"}).status_code == 403
    assert not Category.objects.exists()


def test_page_answers_at_once_and_loads_the_results(org):
    response = web_client(org.care_head).get(PAGE_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="recurring-results"' in html and 'hx-trigger="load"' in html
    today = clusters.timezone.localdate()
    assert f"month={today:%Y-%m}&amp;kind=complaint" in html  # default: this month, complaints
    assert 'name="month"' in html and 'type="month"' in html
    assert "helpdesk/recurring.js" in html
    assert "<script>" not in html  # CSP: no inline script (data goes through json_script)


def test_results_show_the_clusters_as_cards(org, march):
    response = web_client(org.care_head).get(RESULTS_URL, MARCH)
    assert response.status_code == 200
    html = response.content.decode()
    rep = _report(org)
    assert html.count('class="card h-100 recurring-card"') == len(rep.clusters) >= 3
    top = rep.clusters[0]
    assert f'data-key="{top.key}" data-size="{top.size}"' in html
    assert "hoàn học phí" in html
    for example in top.examples:
        assert f'href="/helpdesk/{example.ticket_id}/"' in html
    assert f"cluster={top.key}" in html
    chart = json.loads(
        re.search(
            r'<script id="recurring-chart-data" type="application/json">(.*?)</script>', html, re.S
        ).group(1)
    )
    assert chart["weeks"][0] == "23/02" and len(chart["weeks"]) == 6
    assert chart["clusters"][0] == top.weekly


def test_results_escape_what_customers_typed(org):
    customer_id = make_ticket(org.admin, subject="khác", opened_at=local(2026, 1, 5, 9)).customer_id
    for n in range(4):
        make_ticket(
            org.admin,
            subject=f"<script>alert({n})</script> Hoàn học phí chưa nhận được",
            message="<img src=x onerror=alert(1)> xin hoàn học phí",
            opened_at=local(2026, 3, 3 + n, 9),
            customer_id=customer_id,
        )
    html = web_client(org.care_head).get(RESULTS_URL, MARCH).content.decode()
    assert "recurring-card" in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert" in html or "&lt;img src=x" in html


def test_empty_month_and_invalid_filters(org):
    client = web_client(org.care_head)
    html = client.get(RESULTS_URL, {"month": "2026-02", "kind": "complaint"}).content.decode()
    assert 'id="recurring-empty"' in html
    page = client.get(PAGE_URL, {"month": "2026-13", "kind": "nonsense"})
    assert page.status_code == 200 and 'id="recurring-error"' in page.content.decode()
    assert client.get(RESULTS_URL, {"month": "03/2026", "kind": ""}).status_code == 200  # mm/yyyy, every kind


def test_unknown_or_inactive_category_filter_is_ignored(org):
    client = web_client(org.care_head)
    # not a choice of the form: ignored with a message
    assert client.get(RESULTS_URL, {**MARCH, "category": "999999"}).status_code == 200
    cat = Category.objects.create(name="Cũ", active=False)  # an inactive category is no choice either
    assert client.get(RESULTS_URL, {**MARCH, "category": str(cat.pk)}).status_code == 200


def test_recompute_reads_new_tickets(org, march):
    client = web_client(org.care_head)
    client.get(RESULTS_URL, MARCH)
    make_ticket(org.admin, subject="Giáo viên đến muộn", opened_at=local(2026, 3, 20, 9))
    assert 'data-tickets="26"' in client.get(RESULTS_URL, MARCH).content.decode()  # cached
    assert 'data-tickets="27"' in client.get(RESULTS_URL, {**MARCH, "refresh": "1"}).content.decode()


def test_out_of_scope_tickets_never_appear_on_the_page(org):
    RoleScope.objects.filter(role__code="care_head", object_type="ticket").update(scope="team")
    customer_id = make_ticket(org.admin, subject="khác", opened_at=local(2026, 1, 5, 9)).customer_id
    theirs = []
    for n in range(4):
        make_ticket(
            org.admin,
            subject="Xin hoàn học phí khóa IELTS",
            opened_at=local(2026, 3, 3 + n, 9),
            customer_id=customer_id,
            team_id=org.hn_care.pk,
        )
        theirs.append(
            make_ticket(
                org.admin,
                subject="Xin hoàn học phí khóa TOEIC",
                opened_at=local(2026, 3, 3 + n, 10),
                customer_id=customer_id,
                team_id=org.hcm_sales.pk,
            ).pk
        )
    html = web_client(org.care_head).get(RESULTS_URL, MARCH).content.decode()
    assert 'data-tickets="4"' in html
    for pk in theirs:
        assert f"/helpdesk/{pk}/" not in html


def test_category_form_is_prefilled_from_the_cluster(org, march):
    top = _report(org).clusters[0]
    response = web_client(org.care_head).get(CATEGORY_URL, {**MARCH, "cluster": top.key})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["name"] == top.title and top.title.startswith("Hoàn học phí")
    assert form.initial["steps"].count("\n") == 4  # five skeleton steps
    assert form.initial["recategorise"] is True
    assert form.initial["cluster"] == top.key
    html = response.content.decode()
    assert f'value="{top.key}"' in html and 'name="steps"' in html


def test_create_category_and_playbook_from_a_cluster(org, march):
    top = _report(org).clusters[0]
    client = web_client(org.care_head)
    response = client.post(
        CATEGORY_URL,
        {
            **MARCH,
            "category": "",
            "cluster": top.key,
            "name": "Hoàn học phí",
            "parent": "",
            "default_priority": "high",
            "steps": "Xác minh biên lai\n\n  Tính số buổi còn lại  \nChuyển kế toán",
            "involve": "Kế toán",
            "recategorise": "on",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == PAGE_URL + "?month=2026-03&kind=complaint"
    category = Category.objects.get(name="Hoàn học phí")
    assert category.default_priority == "high"
    playbook = Playbook.objects.get(category=category)
    assert playbook.steps == ["Xác minh biên lai", "Tính số buổi còn lại", "Chuyển kế toán"]
    assert set(Ticket.objects.filter(category=category).values_list("pk", flat=True)) == set(top.ticket_ids)
    followed = client.get(response["Location"])
    assert "Hoàn học phí" in followed.content.decode()  # the success message
    # the cached report is dropped: the group's tickets now show with their category
    results = client.get(RESULTS_URL, MARCH).content.decode()
    assert f'data-key="{top.key}"' in results
    assert (
        "recurring-uncategorised" not in results.split(f'data-key="{top.key}"')[1].split("recurring-card")[0]
    )


def test_category_form_errors_and_a_stale_cluster(org, march):
    top = _report(org).clusters[0]
    client = web_client(org.care_head)
    response = client.post(CATEGORY_URL, {**MARCH, "cluster": top.key, "name": "", "steps": ""})
    assert response.status_code == 422
    assert set(response.context["form"].errors) >= {"name", "steps"}
    long = client.post(
        CATEGORY_URL, {**MARCH, "cluster": top.key, "name": "Hoàn học phí", "steps": "x" * 301}
    )
    assert long.status_code == 422 and "steps" in long.context["form"].errors  # the service's own check
    assert not Category.objects.exists()
    stale = client.post(CATEGORY_URL, {**MARCH, "cluster": "0123456789abcdef", "name": "X", "steps": "a"})
    assert stale.status_code == 302 and stale["Location"].startswith(PAGE_URL)
    assert client.get(CATEGORY_URL, {**MARCH, "cluster": "nope"}).status_code == 302
    assert not Category.objects.exists()
