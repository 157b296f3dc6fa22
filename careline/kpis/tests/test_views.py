"""Quota pages: anonymous (login redirect), out of scope (404), forbidden (403) and allowed."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from careline.conftest import web_client
from careline.core.models import AuditEvent
from careline.kpis.models import Quota
from careline.kpis.pace import local_today, work_calendar
from careline.kpis.tests.factories import local, make_activity, make_quota

pytestmark = pytest.mark.django_db

DAY = "01/10/2026"


def pages(quota_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", reverse("kpis:my_bars")),
        ("GET", reverse("kpis:board")),
        ("GET", reverse("kpis:quotas")),
        ("POST", reverse("kpis:quotas")),
        ("GET", reverse("kpis:quota_edit", args=[quota_id])),
        ("POST", reverse("kpis:quota_edit", args=[quota_id])),
        ("POST", reverse("kpis:quota_delete", args=[quota_id])),
        ("GET", reverse("kpis:calls")),
    ]


def quota_state() -> list[tuple]:
    return sorted(
        Quota.objects.values_list("id", "kind", "period", "target", "role_id", "team_id", "user_id")
    )


def test_anonymous_is_sent_to_login(org):
    quota = make_quota(org.admin, kind="call", target=30)
    client = Client()
    for method, url in pages(quota.pk):
        r = client.get(url) if method == "GET" else client.post(url, {"kind": "call", "target": 1})
        assert r.status_code == 302, (method, url)
        assert r["Location"].startswith(reverse("account_login")), (method, url)
    assert Quota.objects.count() == 1


def test_out_of_scope_is_not_found(org):
    theirs = make_quota(org.admin, kind="call", target=30, user_id=org.consultant_hn2.pk)
    before = quota_state()
    for actor in (org.consultant_hn, org.supervisor_hn, org.consultant_hcm):
        client = web_client(actor)
        assert client.get(reverse("kpis:quota_edit", args=[theirs.pk])).status_code == 404
        assert client.post(reverse("kpis:quota_edit", args=[theirs.pk]), {"target": 1}).status_code == 404
        assert client.post(reverse("kpis:quota_delete", args=[theirs.pk])).status_code == 404
        r = client.get(reverse("kpis:calls"), {"user": org.consultant_hn2.pk})
        assert r.status_code == 404
    sup = web_client(org.supervisor_hn)
    assert sup.get(reverse("kpis:board"), {"team": org.hn_sales2.pk}).status_code == 404
    assert sup.get(reverse("kpis:calls"), {"team": org.hcm_sales.pk}).status_code == 404
    assert web_client(org.manager_hn).get(reverse("kpis:board"), {"branch": org.hcm.pk}).status_code == 404
    assert quota_state() == before


def test_forbidden(org):
    company = make_quota(org.admin, kind="call", target=30)
    before = quota_state()
    nobody = web_client(org.nobody)
    for method, url in pages(company.pk):
        r = nobody.get(url) if method == "GET" else nobody.post(url)
        assert r.status_code in (403, 404), (method, url, r.status_code)
        # Pages that do not name a quota refuse with 403 (nothing to hide).
        if "quotas/" not in url or url.endswith("/quotas/"):
            assert r.status_code == 403, (method, url)
    consultant = web_client(org.consultant_hn)
    assert consultant.get(reverse("kpis:board")).status_code == 403
    form = {
        "kind": "offer",
        "period": "day",
        "target": 5,
        "applies_to": "person",
        "user": org.consultant_hn.pk,
    }
    assert consultant.post(reverse("kpis:quotas"), form).status_code == 403
    # Visible to them (it applies to them) but not theirs to change: 403.
    assert consultant.get(reverse("kpis:quota_edit", args=[company.pk])).status_code == 403
    assert consultant.post(reverse("kpis:quota_delete", args=[company.pk])).status_code == 403
    sup = web_client(org.supervisor_hn)
    assert sup.get(reverse("kpis:quota_edit", args=[company.pk])).status_code == 403
    assert sup.post(reverse("kpis:quota_delete", args=[company.pk])).status_code == 403
    director = web_client(org.director)
    assert director.post(reverse("kpis:quotas"), form).status_code == 403
    assert quota_state() == before


# --- allowed -------------------------------------------------------------------------------------------


def test_my_bars_partial(org):
    make_quota(org.admin, kind="call", target=30)
    make_quota(org.admin, kind="email", target=2)
    today = local_today()
    for _ in range(3):
        make_activity(org.consultant_hn, kind="email", at=local(today.year, today.month, today.day, 0, 5))
    r = web_client(org.consultant_hn).get(reverse("kpis:my_bars"), HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    html = r.content.decode()
    assert "<html" not in html  # a fragment
    assert html.count('class="progress"') == 2
    # On a weekend or public holiday a daily quota does not apply, whatever was done (the suite runs any day).
    status = "done" if work_calendar().is_working_day(today) else "day_off"
    assert re.search(rf'data-kind="email" data-period="day" data-status="{status}" data-done="3"', html)
    # No quotas: a friendly note.
    r = web_client(org.care_agent_hn).get(reverse("kpis:my_bars"))
    assert r.status_code == 200 and "cl-no-quotas" in r.content.decode()


def test_board_page_and_htmx_refresh(org):
    make_quota(org.admin, kind="call", target=2)
    make_activity(org.consultant_hn, at=local(2026, 10, 1, 9))
    make_activity(org.consultant_hn, at=local(2026, 10, 1, 9))
    client = web_client(org.supervisor_hn)
    r = client.get(reverse("kpis:board"), {"date": DAY})
    assert r.status_code == 200
    html = r.content.decode()
    assert 'hx-trigger="every 30s"' in html
    assert "01/10/2026" in html
    rows = re.findall(r'class="cl-board-row( table-danger)?" data-user="(\d+)" data-behind="(\d)"', html)
    assert [(int(u), int(b)) for _c, u, b in rows] == [(org.consultant_hn_b.pk, 1), (org.consultant_hn.pk, 0)]
    assert rows[0][0] == " table-danger" and rows[1][0] == ""
    assert "cl-quota-rules" in html  # the counting rules are on the page
    # htmx refresh: only the board fragment.
    r = client.get(reverse("kpis:board"), {"date": DAY}, HTTP_HX_REQUEST="true")
    fragment = r.content.decode()
    assert fragment.lstrip().startswith('<div id="board"')
    assert "board-filters" not in fragment
    # Manager: filter by team; bad date is reported, not fatal.
    r = web_client(org.manager_hn).get(reverse("kpis:board"), {"team": org.hn_sales2.pk, "date": DAY})
    assert f'data-user="{org.consultant_hn2.pk}"' in r.content.decode()
    assert f'data-user="{org.consultant_hn.pk}"' not in r.content.decode()
    r = client.get(reverse("kpis:board"), {"date": "31/02/2026"})
    assert r.status_code == 200 and "alert-warning" in r.content.decode()


def test_quota_settings_create_edit_delete(org):
    sup = web_client(org.supervisor_hn)
    r = sup.get(reverse("kpis:quotas"))
    assert r.status_code == 200 and 'id="quota-form"' in r.content.decode()
    r = sup.post(
        reverse("kpis:quotas"),
        {
            "kind": "call",
            "period": "day",
            "target": 35,
            "applies_to": "role",
            "role": "consultant",
            "team": org.hn_sales.pk,
            "active": "on",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    quota = Quota.objects.get()
    assert (quota.target, quota.team, quota.role.code) == (35, org.hn_sales, "consultant")
    assert AuditEvent.objects.filter(
        object_type="kpis.quota", action="create", actor=org.supervisor_hn, source="web"
    ).exists()
    # Invalid: target 0, company-wide (not theirs) → 422 with messages, nothing saved.
    r = sup.post(
        reverse("kpis:quotas"),
        {"kind": "call", "period": "day", "target": 0, "applies_to": "role", "role": "consultant"},
    )
    assert r.status_code == 422
    r = sup.post(
        reverse("kpis:quotas"),
        {"kind": "email", "period": "day", "target": 5, "applies_to": "role", "role": "consultant"},
    )
    assert r.status_code == 422 and 'data-field="team"' in r.content.decode()
    assert Quota.objects.count() == 1
    # Edit
    url = reverse("kpis:quota_edit", args=[quota.pk])
    r = sup.get(url)
    assert r.status_code == 200 and 'value="35"' in r.content.decode()
    r = sup.post(
        url,
        {
            "kind": "call",
            "period": "week",
            "target": 150,
            "applies_to": "person",
            "user": org.consultant_hn.pk,
            "active": "on",
        },
    )
    assert r.status_code == 302
    quota.refresh_from_db()
    assert (quota.period, quota.target, quota.user, quota.role) == ("week", 150, org.consultant_hn, None)
    # The list shows it with edit/delete buttons; the consultant sees it read-only.
    html = sup.get(reverse("kpis:quotas")).content.decode()
    assert reverse("kpis:quota_edit", args=[quota.pk]) in html
    consultant_html = web_client(org.consultant_hn).get(reverse("kpis:quotas")).content.decode()
    assert f'data-quota="{quota.pk}"' in consultant_html
    assert reverse("kpis:quota_edit", args=[quota.pk]) not in consultant_html
    assert 'id="quota-form"' not in consultant_html
    # Delete
    r = sup.post(reverse("kpis:quota_delete", args=[quota.pk]))
    assert r.status_code == 302 and not Quota.objects.exists()


def test_user_text_is_escaped(org):
    org.consultant_hn.display_name = '<script>alert("x")</script>'
    org.consultant_hn.save()
    make_quota(org.admin, kind="call", target=3)
    html = web_client(org.supervisor_hn).get(reverse("kpis:board"), {"date": DAY}).content.decode()
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;" in html


def test_calls_page(org):
    make_activity(org.consultant_hn, at=local(2026, 10, 1, 9, 30), outcome="reached", duration_seconds=125)
    make_activity(org.consultant_hn, at=local(2026, 10, 1, 23, 30), outcome="busy")
    make_activity(org.consultant_hn_b, at=local(2026, 10, 1, 14), outcome="no_answer")
    client = web_client(org.supervisor_hn)
    r = client.get(reverse("kpis:calls"), {"team": org.hn_sales.pk, "start": DAY, "end": DAY})
    assert r.status_code == 200
    html = r.content.decode()
    assert re.search(r'id="kpi-calls">3<', html)
    assert re.search(r'id="kpi-duration">2:05<', html)
    assert "01/10/2026 – 01/10/2026" in html
    data = json.loads(
        re.search(r'<script id="calls-chart-data" type="application/json">(.*?)</script>', html, re.S)[1]
    )
    assert len(data["hours"]) == 24
    by_outcome = {s["outcome"]: s["data"] for s in data["series"]}
    assert by_outcome["reached"][9] == 1 and by_outcome["busy"][23] == 1 and by_outcome["no_answer"][14] == 1
    assert "echarts/echarts.min.js" in html and "kpis/calls.js" in html
    assert "<script>" not in html  # no inline scripts (CSP)
    assert 'id="people-table"' in html
    # A consultant: own calls only; bad range reported.
    r = web_client(org.consultant_hn).get(reverse("kpis:calls"), {"start": DAY, "end": "30/09/2026"})
    assert r.status_code == 200 and "alert-warning" in r.content.decode()
    r = web_client(org.consultant_hn).get(reverse("kpis:calls"), {"start": DAY, "end": DAY})
    assert re.search(r'id="kpi-calls">2<', r.content.decode())
