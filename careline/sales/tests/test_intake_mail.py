"""IMAP polling against a real local IMAP server: Debian's dovecot-imapd, run unprivileged from a config in a
tmp dir (passwd-file users, Maildir, 127.0.0.1 on a free port, no TLS). Messages are delivered with IMAP
APPEND. Without dovecot these tests FAIL (CI must install `dovecot-imapd`)."""

from __future__ import annotations

import io
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from imap_tools import MailBoxUnencrypted
from imap_tools.errors import MailboxFolderDeleteError

from careline.accounts.models import Notification
from careline.customers.models import Customer
from careline.customers.tests.factories import make_customer
from careline.sales.mail import mailbox_poll, mailboxes_poll_all
from careline.sales.models import Inquiry, Mailbox
from careline.sales.tests.factories import make_rule

pytestmark = pytest.mark.django_db

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
USER, PASSWORD = "leads", "s3cret-pass"

CONFIG = """
base_dir = {d}/run
state_dir = {d}/state
instance_name = careline-test-{port}
login_greeting = careline-test-{port}
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 0
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
  default_fields = uid={user} gid={group}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_greeting(process: subprocess.Popen[bytes], port: int) -> bool:
    """True once *our* dovecot answers on the port with its IMAP greeting."""
    deadline = time.monotonic() + 15
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                greeting = conn.recv(300)
                if f"careline-test-{port}".encode() in greeting and process.poll() is None:
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def imap_server() -> Iterator[dict[str, Any]]:
    if DOVECOT is None:
        pytest.fail(
            "dovecot is not installed: the IMAP intake tests need a real local IMAP server. "
            "Install it with `apt-get install -y dovecot-imapd` (CI: add it to the apt packages).",
            pytrace=False,
        )
    # Our own temporary directory, not pytest's tmp_path: pytest prunes old basetemp directories of the same
    # user, and a concurrent pytest run would delete the server's files under it.
    d = Path(tempfile.mkdtemp(prefix="careline-dovecot-"))
    os.chmod(d, 0o755)
    # Unprivileged: as ourselves, or as `nobody` when the tests run as root.
    account = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    import grp

    group = grp.getgrgid(account.pw_gid).gr_name
    for sub in ("run", "state", "home"):
        (d / sub).mkdir()
    (d / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::{d}/home/{USER}\n")
    failures: list[str] = []
    for _attempt in range(5):  # the free port may be taken by someone else before dovecot binds it
        port = _free_port()
        conf = d / "dovecot.conf"
        conf.write_text(CONFIG.format(d=d, port=port, user=account.pw_name, group=group))
        if os.geteuid() == 0:
            for path in [d, *d.rglob("*")]:
                os.chown(path, account.pw_uid, account.pw_gid)
        output = open(d / "dovecot.out", "ab")  # noqa: SIM115 - closed when the server stops
        process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(conf)],
            stdout=output,
            stderr=subprocess.STDOUT,
            user=account.pw_uid if os.geteuid() == 0 else None,
            group=account.pw_gid if os.geteuid() == 0 else None,
        )
        if _wait_for_greeting(process, port):
            break
        process.kill()
        process.wait()
        output.close()
        log = (d / "dovecot.log").read_text() if (d / "dovecot.log").exists() else ""
        failures.append(f"port {port}: {(d / 'dovecot.out').read_text()}\n{log}")
    else:
        pytest.fail("dovecot did not start:\n" + "\n".join(failures), pytrace=False)
    try:
        yield {"host": "127.0.0.1", "port": port, "dir": Path(d)}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output.close()
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def folder(imap_server: dict[str, Any]) -> Iterator[str]:
    name = "t" + uuid.uuid4().hex[:10]
    with imap(imap_server) as client:
        client.folder.create(name)
    yield name
    with imap(imap_server) as client:
        if client.folder.exists(name):
            delete_folder(client, name)


def delete_folder(client: MailBoxUnencrypted, name: str) -> None:
    """Dovecot now and then refuses to delete a folder right after it was re-created ("[CANNOT] The
    /private/specialuse attribute cannot be changed"): try again shortly."""
    for attempt in range(10):
        try:
            client.folder.delete(name)
            return
        except MailboxFolderDeleteError:
            if attempt == 9:
                raise
            time.sleep(0.2)


def imap(server: dict[str, Any]) -> MailBoxUnencrypted:
    return MailBoxUnencrypted(server["host"], port=server["port"], timeout=10).login(
        USER, PASSWORD, initial_folder=None
    )


def mail(
    *,
    sender: str = "Nguyễn Thị Lan <lan@example.vn>",
    subject: str = "Hỏi học phí khoá IELTS",
    body: str = "Chào trung tâm,\nEm muốn hỏi học phí khoá IELTS buổi tối. SĐT em: 0912 345 678\n",
    message_id: str | None = "auto",
    headers: dict[str, str] | None = None,
    html: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "tuvan@trungtam.example.vn"
    msg["Subject"] = subject
    msg["Date"] = "Mon, 05 Oct 2026 09:30:00 +0700"
    if message_id == "auto":
        message_id = f"<{uuid.uuid4().hex}@example.vn>"
    if message_id:
        msg["Message-ID"] = message_id
    for k, v in (headers or {}).items():
        msg[k] = v
    if html is not None:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(body)
    return msg.as_bytes()


def deliver(server: dict[str, Any], folder: str, *messages: bytes) -> None:
    with imap(server) as client:
        for raw in messages:
            client.append(raw, folder)


def make_mailbox(server: dict[str, Any], folder: str, **kw: Any) -> Mailbox:
    data: dict[str, Any] = {
        "name": f"Tư vấn {folder}",
        "host": server["host"],
        "port": server["port"],
        "use_ssl": False,
        "username": USER,
        "password": PASSWORD,
        "folder": folder,
    }
    return Mailbox.objects.create(**{**data, **kw})


def test_new_messages_become_email_inquiries_once(org, imap_server, folder):
    make_rule(org.hn_sales, [org.consultant_hn])
    reply = (
        "Dạ em cần tư vấn thêm về lịch học.\n\nVào Th 2, 5 thg 10, 2026 lúc 09:00 Trung tâm đã viết:\n"
        "> Chào bạn, khoá IELTS ...\n"
    )
    deliver(
        imap_server,
        folder,
        mail(message_id="<m1@example.vn>"),
        mail(
            sender="Tom <tom@example.com>", subject="Re: lịch học", body=reply, message_id="<m2@example.com>"
        ),
    )
    mailbox = make_mailbox(imap_server, folder, team=org.hn_sales, branch=org.hn)
    result = mailbox_poll(mailbox)
    assert (result.new, result.skipped, result.errors) == (2, 0, 0), result.messages
    lan = Inquiry.objects.get(external_id="<m1@example.vn>")
    assert lan.channel == "email" and lan.mailbox_id == mailbox.pk and lan.team_id == org.hn_sales.pk
    assert lan.full_name == "Nguyễn Thị Lan" and lan.email == "lan@example.vn" and lan.phone == "+84912345678"
    assert lan.message.startswith("Hỏi học phí khoá IELTS\n\nChào trung tâm")
    assert lan.owner_id == org.consultant_hn.pk and lan.customer.stage == "lead"
    tom = Inquiry.objects.get(external_id="<m2@example.com>")
    assert "Dạ em cần tư vấn thêm" in tom.message and "Khoá IELTS ..." not in tom.message
    assert "đã viết" not in tom.message and ">" not in tom.message
    mailbox.refresh_from_db()
    assert (
        mailbox.last_uid == 2 and mailbox.uid_validity and mailbox.last_polled_at and not mailbox.last_error
    )
    with imap(imap_server) as client:  # read without marking them seen
        client.folder.set(folder)
        assert all("\\Seen" not in m.flags for m in client.fetch(mark_seen=False, headers_only=True))
    again = mailbox_poll(mailbox)
    assert (again.new, again.skipped, again.errors) == (0, 0, 0)
    deliver(imap_server, folder, mail(message_id="<m3@example.vn>", sender="Hà <ha@example.vn>"))
    third = mailbox_poll(mailbox)
    assert third.new == 1 and Inquiry.objects.count() == 3
    mailbox.refresh_from_db()
    assert mailbox.last_uid == 3


def test_same_message_id_twice_is_one_inquiry(org, imap_server, folder):
    deliver(imap_server, folder, mail(message_id="<dup@example.vn>"), mail(message_id="<dup@example.vn>"))
    result = mailbox_poll(make_mailbox(imap_server, folder))
    assert (result.new, result.skipped) == (1, 1)
    assert Inquiry.objects.count() == 1 and Customer.objects.count() == 1


def test_uidvalidity_change_starts_over_without_duplicates(org, imap_server, folder):
    first, second = mail(message_id="<v1@example.vn>"), mail(message_id=None, sender="Bình <binh@example.vn>")
    deliver(imap_server, folder, first, second)
    mailbox = make_mailbox(imap_server, folder)
    assert mailbox_poll(mailbox).new == 2
    mailbox.refresh_from_db()
    old_validity = mailbox.uid_validity
    # The folder is deleted and re-created (a restore): new UIDVALIDITY, UIDs start at 1 again.
    with imap(imap_server) as client:
        delete_folder(client, folder)
        client.folder.create(folder)
    time.sleep(1.1)  # dovecot derives UIDVALIDITY from the clock
    deliver(imap_server, folder, first, second, mail(message_id="<v3@example.vn>"))
    result = mailbox_poll(mailbox)
    mailbox.refresh_from_db()
    assert mailbox.uid_validity != old_validity
    assert (result.new, result.skipped, result.errors) == (1, 2, 0)
    assert Inquiry.objects.count() == 3 and mailbox.last_uid == 3
    no_id = Inquiry.objects.get(email="binh@example.vn")
    assert no_id.external_id.startswith(f"nomsgid:{mailbox.pk}:")


def test_own_mail_auto_replies_and_bounces_are_skipped(org, imap_server, folder, settings):
    settings.DEFAULT_FROM_EMAIL = "Careline <tuvan@trungtam.example.vn>"
    deliver(
        imap_server,
        folder,
        mail(sender="Careline <tuvan@trungtam.example.vn>"),
        mail(
            sender="Lan <lan@example.vn>", headers={"Auto-Submitted": "auto-replied"}, subject="Out of office"
        ),
        mail(sender="MAILER-DAEMON@mx.example.vn", subject="Undelivered Mail Returned to Sender"),
        mail(sender="Lan <lan@example.vn>", headers={"Precedence": "bulk"}),
        mail(sender="Lan <lan@example.vn>", message_id="<real@example.vn>"),
    )
    result = mailbox_poll(make_mailbox(imap_server, folder))
    assert (result.new, result.skipped, result.errors) == (1, 4, 0)
    assert Inquiry.objects.get().external_id == "<real@example.vn>"


def test_known_customer_email_is_attached_and_owner_told(org, imap_server, folder):
    existing = make_customer(org.consultant_hn2, full_name="Lê Văn Tâm", emails=["tam@example.vn"])
    deliver(
        imap_server, folder, mail(sender="Tâm <TAM@example.vn>", body="Cho mình báo giá gói doanh nghiệp.")
    )
    assert mailbox_poll(make_mailbox(imap_server, folder)).new == 1
    inquiry = Inquiry.objects.get()
    assert inquiry.customer_id == existing.pk and inquiry.owner_id == org.consultant_hn2.pk
    assert Customer.objects.count() == 1
    assert Notification.objects.filter(user=org.consultant_hn2, kind="inquiry_existing_customer").exists()


def test_html_only_mail_is_read_as_text(org, imap_server, folder):
    deliver(
        imap_server,
        folder,
        mail(html="<p>Xin chào,</p><p>Em cần <b>tư vấn</b> khoá học &amp; lịch học.</p><style>p{}</style>"),
    )
    mailbox_poll(make_mailbox(imap_server, folder))
    message = Inquiry.objects.get().message
    assert message == "Hỏi học phí khoá IELTS\n\nXin chào,\nEm cần tư vấn khoá học & lịch học."


def test_login_failure_and_unreachable_server_are_recorded_not_raised(org, imap_server, folder):
    bad = make_mailbox(imap_server, folder, password="wrong")
    result = mailbox_poll(bad)
    assert result.errors == 1 and result.new == 0
    bad.refresh_from_db()
    assert bad.last_error and bad.last_polled_at and bad.last_uid == 0
    down = make_mailbox(imap_server, folder, name="down", port=_free_port())
    assert mailbox_poll(down).errors == 1
    down.refresh_from_db()
    assert down.last_error


def test_poll_all_and_cli(org, imap_server, folder):
    deliver(imap_server, folder, mail(message_id="<cli1@example.vn>"))
    make_mailbox(imap_server, folder, name="Tư vấn HN")
    make_mailbox(imap_server, folder, name="Tắt", active=False)
    out = io.StringIO()
    call_command("leads", "poll-email", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data == {"Tư vấn HN": {"new": 1, "skipped": 0, "errors": 0, "messages": []}}
    deliver(imap_server, folder, mail(message_id="<cli2@example.vn>"))
    out = io.StringIO()
    call_command("leads", "poll-email", "--mailbox", "Tư vấn HN", stdout=out)
    assert "Tư vấn HN" in out.getvalue() and "1" in out.getvalue()
    assert mailboxes_poll_all()["Tư vấn HN"].new == 0
    assert Inquiry.objects.count() == 2
    deliver(imap_server, folder, mail(message_id="<cli3@example.vn>"))
    from careline.sales.tasks import mailboxes_poll_periodic

    assert mailboxes_poll_periodic.call_local() == {"Tư vấn HN": {"new": 1, "skipped": 0, "errors": 0}}


def test_cli_unknown_mailbox_fails(org):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("leads", "poll-email", "--mailbox", "Không có")
