"""The notification bell: anonymous (redirect), own notifications only, unread badge, mark read on open."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory

from careline.accounts.models import Notification
from careline.accounts.services import notification_send
from careline.conftest import web_client

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
URLS = [
    ("GET", "/accounts/notifications/"),
    ("GET", "/accounts/notifications/badge/"),
    ("POST", "/accounts/notifications/read/"),
]


def test_anonymous_is_sent_to_login(org):
    notification_send(user=org.consultant_hn, kind="x", message="m")
    client = Client()
    for method, url in URLS:
        r = client.get(url) if method == "GET" else client.post(url, {"ids": "all"})
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/"), url
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_badge_dropdown_and_mark_read_on_open(org):
    mine = [
        notification_send(
            user=org.consultant_hn, kind="follow_up_due", message=f"Follow-up {i} <b>", url="/customers/1/"
        )
        for i in range(3)
    ]
    theirs = notification_send(user=org.consultant_hn_b, kind="lead_assigned", message="Not yours")
    client = web_client(org.consultant_hn)
    badge = client.get("/accounts/notifications/badge/").content.decode()
    assert 'id="notifications-count">3<' in badge
    r = client.get("/accounts/notifications/", **HX)
    body = r.content.decode()
    assert body.count('class="list-group-item list-group-item-action') == 3
    assert "Not yours" not in body and "Follow-up 0 &lt;b&gt;" in body
    ids = ",".join(str(n.pk) for n in reversed(mine))
    assert f'hx-vals=\'{{"ids": "{ids}"}}\'' in body
    # Opening fires the POST that marks the shown ones read and answers the badge.
    r = client.post("/accounts/notifications/read/", {"ids": f"{ids},{theirs.pk}"}, **HX)
    assert r.status_code == 200 and "notifications-count" not in r.content.decode()
    assert Notification.objects.filter(user=org.consultant_hn, read_at__isnull=True).count() == 0
    assert Notification.objects.get(pk=theirs.pk).read_at is None  # someone else's stays unread
    # Read ones show without the "unread" marker and without a new POST.
    body = client.get("/accounts/notifications/", **HX).content.decode()
    assert 'data-unread="1"' not in body and "hx-post" not in body


def test_full_page_and_mark_all(org):
    for i in range(2):
        notification_send(user=org.consultant_hn, kind="x", message=f"Tin {i}")
    client = web_client(org.consultant_hn)
    r = client.get("/accounts/notifications/")
    assert r.status_code == 200 and 'id="notifications-read-all"' in r.content.decode()
    r = client.post("/accounts/notifications/read/", {"ids": "all"})
    assert r.status_code == 302
    assert Notification.objects.filter(read_at__isnull=True).count() == 0
    r = web_client(org.nobody).get("/accounts/notifications/")
    assert r.status_code == 200 and 'id="no-notifications"' in r.content.decode()


def test_bell_partial_renders(org):
    request = RequestFactory().get("/")
    request.user = org.consultant_hn
    html = render_to_string("web/_notifications_bell.html", {"user": org.consultant_hn}, request=request)
    assert 'id="notifications-bell"' in html
    assert 'hx-get="/accounts/notifications/badge/"' in html
    assert 'hx-trigger="show.bs.dropdown"' in html
