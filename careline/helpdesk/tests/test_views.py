"""Ticket pages: anonymous → login, out of scope → 404, no right → 403, allowed; constant queries; escaping."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from careline.conftest import web_client
from careline.helpdesk import services
from careline.helpdesk.tests.factories import make_policy, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(care, clock):
    make_policy(care.admin)
    return make_ticket(
        care.care_agent_hn, branch_id=care.hn.pk, subject="<script>alert(1)</script> Giao chậm"
    )


def test_anonymous_goes_to_the_login_page(ticket):
    for url in (reverse("helpdesk:list"), reverse("helpdesk:detail", args=[ticket.pk])):
        r = Client().get(url)
        assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_out_of_scope_ticket_is_404(ticket, care):
    for user in (care.consultant_hcm, care.supervisor_hn, care.nobody):
        assert web_client(user).get(reverse("helpdesk:detail", args=[ticket.pk])).status_code == 404
    assert web_client(care.admin).get(reverse("helpdesk:detail", args=[999_999])).status_code == 404


def test_list_without_the_view_right_is_403(ticket, care):
    assert web_client(care.nobody).get(reverse("helpdesk:list")).status_code == 403


def test_list_and_detail_allowed_and_escaped(ticket, care):
    r = web_client(care.care_agent_hn).get(reverse("helpdesk:list"))
    assert r.status_code == 200
    body = r.content.decode()
    assert f'id="ticket-{ticket.pk}"' in body
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body
    services.message_add(actor=care.care_agent_hn, ticket_id=ticket.pk, body="Dạ <b>em</b> kiểm tra")
    r = web_client(care.care_agent_hn).get(reverse("helpdesk:detail", args=[ticket.pk]))
    assert r.status_code == 200
    body = r.content.decode()
    assert "Dạ &lt;b&gt;em&lt;/b&gt; kiểm tra" in body
    assert 'id="timer-resolution"' in body
    assert web_client(care.director).get(reverse("helpdesk:detail", args=[ticket.pk])).status_code == 200
    r = web_client(care.care_head).get(reverse("helpdesk:list"), {"status": "closed"})
    assert f'id="ticket-{ticket.pk}"' not in r.content.decode()


def test_list_queries_do_not_grow_with_rows(care, clock):
    make_policy(care.admin)
    client = web_client(care.care_head)
    make_ticket(care.care_agent_hn, branch_id=care.hn.pk, phone="0912 000 001", subject="Một")
    client.get(reverse("helpdesk:list"))  # warm caches (schedules, session)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("helpdesk:list"))
    for i in range(5):
        make_ticket(care.care_agent_hn, branch_id=care.hn.pk, phone=f"0912 000 1{i:02d}", subject=f"Việc {i}")
    with CaptureQueriesContext(connection) as six:
        client.get(reverse("helpdesk:list"))
    assert len(six) == len(one)
