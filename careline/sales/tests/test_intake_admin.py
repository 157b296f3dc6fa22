"""Admin pages of the intake channels: web forms (embed code), connectors, mailboxes."""

from __future__ import annotations

import socket

import pytest
from django.test import Client
from django.utils import translation

from careline.conftest import web_client
from careline.sales.admin import embed_snippets
from careline.sales.models import Connector, Mailbox, WebForm

pytestmark = pytest.mark.django_db


def test_admin_pages_need_a_staff_login(org):
    web_form = WebForm.objects.create(name="Form")
    url = f"/admin/sales/webform/{web_form.pk}/change/"
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    consultant = web_client(org.consultant_hn).get(url)
    assert consultant.status_code == 302 and "/admin/login/" in consultant["Location"]


def test_web_form_admin_shows_the_embed_code(org):
    web_form = WebForm.objects.create(name="Đăng ký <IELTS>")
    client = web_client(org.admin)
    assert client.get("/admin/sales/webform/").status_code == 200
    html = client.get(f"/admin/sales/webform/{web_form.pk}/change/").content.decode()
    assert f"http://testserver/f/{web_form.public_key}/" in html
    assert f"http://testserver/f/{web_form.public_key}/submit" in html
    assert "&lt;iframe" in html and "Đăng ký &amp;lt;IELTS&amp;gt;" in html  # escaped, never raw HTML
    assert "<iframe" not in html
    snippets = embed_snippets(web_form, "https://crm.example.vn")
    assert 'name="website"' in snippets["html"] and "https://crm.example.vn/f/" in snippets["iframe"]


def test_connector_admin_shows_endpoint_and_secret(org):
    connector = Connector.objects.create(name="Zalo OA", slug="zalo-oa", kind="zalo")
    client = web_client(org.admin)
    assert client.get("/admin/sales/connector/").status_code == 200
    html = client.get(f"/admin/sales/connector/{connector.pk}/change/").content.decode()
    assert "POST /api/v1/hooks/zalo-oa" in html and connector.secret in html
    assert client.get("/admin/sales/connector/add/").status_code == 200


def test_mailbox_admin_keeps_password_and_polls_now(org):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mailbox = Mailbox.objects.create(
        name="Tư vấn", host="127.0.0.1", port=port, use_ssl=False, username="leads", password="old-secret"
    )
    client = web_client(org.admin)
    page = client.get(f"/admin/sales/mailbox/{mailbox.pk}/change/").content.decode()
    assert "old-secret" not in page
    response = client.post(
        f"/admin/sales/mailbox/{mailbox.pk}/change/",
        {
            "name": "Tư vấn HN",
            "host": "127.0.0.1",
            "port": port,
            "username": "leads",
            "password": "",
            "folder": "INBOX",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    mailbox.refresh_from_db()
    assert mailbox.name == "Tư vấn HN" and mailbox.password == "old-secret"
    polled = client.post(
        "/admin/sales/mailbox/", {"action": "poll_now", "_selected_action": [mailbox.pk]}, follow=True
    )
    with translation.override("vi"):  # the admin speaks Vietnamese by default
        expected = translation.gettext("%(name)s: %(new)s new, %(skipped)s skipped, %(errors)s errors") % {
            "name": "Tư vấn HN",
            "new": 0,
            "skipped": 0,
            "errors": 1,
        }
    assert expected in polled.content.decode()
    mailbox.refresh_from_db()
    assert mailbox.last_error and mailbox.last_polled_at
