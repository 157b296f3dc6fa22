"""Password reset delivered through a real SMTP server (aiosmtpd on localhost), and sign-in rate limits."""

from __future__ import annotations

import email
import re
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.core.cache import cache
from django.test import Client

from careline.core.models import AuditEvent

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    yield inbox
    controller.stop()


def test_password_reset_email_arrives_over_smtp_in_vietnamese(org, smtp_server):
    org.consultant_hn.email = "lan@example.vn"
    org.consultant_hn.save()
    client = Client()
    r = client.post("/accounts/password/reset/", {"email": "lan@example.vn"})
    assert r.status_code == 302
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == "lan@example.vn"
    assert "mật khẩu" in message["Subject"].lower()
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", body).group(1)
    # Follow the link, choose a new password, sign in with it.
    r = client.get(link, follow=True)
    assert r.status_code == 200
    action = r.redirect_chain[-1][0] if r.redirect_chain else link
    r = client.post(action, {"password1": "Moi-mat-khau-2026", "password2": "Moi-mat-khau-2026"})
    assert r.status_code == 302
    assert Client().login(username="consultant_hn", password="Moi-mat-khau-2026")


def test_unknown_address_sends_nothing_and_does_not_tell(org, smtp_server):
    r = Client().post("/accounts/password/reset/", {"email": "nobody@example.vn"})
    assert r.status_code == 302  # same answer as for a known address
    assert smtp_server.messages == []


def test_repeated_failed_sign_ins_are_limited_and_audited(org):
    cache.clear()
    client = Client()
    statuses = []
    for _ in range(6):
        r = client.post("/accounts/login/", {"login": "consultant_hn", "password": "wrong-password"})
        statuses.append(r.status_code)
    body = r.content.decode()
    assert "Bạn đã đăng nhập sai quá nhiều lần" in body
    # even the right password is refused while the limit holds
    r = client.post("/accounts/login/", {"login": "consultant_hn", "password": "pass-1234"})
    assert r.status_code != 302
    assert AuditEvent.objects.filter(action="login_failed", object_repr="consultant_hn").count() >= 5
    cache.clear()
