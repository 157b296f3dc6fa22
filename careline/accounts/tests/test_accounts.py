"""Accounts: API tokens (services and profile page), sign-in auditing, password reset, closed sign-up, users."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from careline.accounts.models import ApiToken, Team, User
from careline.accounts.services import (
    roles_ensure_defaults,
    token_authenticate,
    token_create,
    token_digest,
    token_revoke,
    user_create,
)
from careline.conftest import web_client
from careline.core.errors import ApplicationError, NotFound, ValidationFailed
from careline.core.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "pass-1234"  # UserFactory's password


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    """allauth keeps its login rate-limit counters in the cache, which outlives a test's transaction."""
    cache.clear()
    yield
    cache.clear()


# --- token services --------------------------------------------------------------------------------------


def test_token_create_stores_only_a_digest(org):
    row, raw = token_create(actor=org.consultant_hn, user=org.consultant_hn, name="Zapier")
    assert raw.startswith("cl_")
    assert len(raw) > 30
    assert row.prefix == raw[:10]
    assert row.digest == token_digest(raw)
    assert raw not in ApiToken.objects.filter(pk=row.pk).values_list("digest", "prefix", "name").get()
    assert token_authenticate(raw) == org.consultant_hn
    event = AuditEvent.objects.get(action="token_create")
    assert (event.actor, event.object_id) == (org.consultant_hn, str(row.pk))
    assert raw not in event.object_repr


def test_token_authenticate_refuses_bad_revoked_and_inactive(org):
    row, raw = token_create(actor=org.consultant_hn, user=org.consultant_hn)
    assert token_authenticate("") is None
    assert token_authenticate("cl_wrong") is None
    assert token_authenticate(raw[3:]) is None  # without the prefix
    token_revoke(actor=org.consultant_hn, token_id=row.pk)
    assert token_authenticate(raw) is None
    _row, raw2 = token_create(actor=org.supervisor_hn, user=org.supervisor_hn)
    org.supervisor_hn.is_active = False
    org.supervisor_hn.save()
    assert token_authenticate(raw2) is None


def test_token_for_someone_else(org):
    with pytest.raises(NotFound):
        token_create(actor=org.consultant_hn, user=org.consultant_hn_b)
    assert not ApiToken.objects.filter(user=org.consultant_hn_b).exists()
    row, raw = token_create(actor=org.admin, user=org.consultant_hn_b)
    assert token_authenticate(raw) == org.consultant_hn_b


def test_token_revoke_rules(org):
    row, raw = token_create(actor=org.consultant_hn, user=org.consultant_hn)
    with pytest.raises(NotFound):
        token_revoke(actor=org.consultant_hn_b, token_id=row.pk)
    assert token_authenticate(raw) == org.consultant_hn
    revoked = token_revoke(actor=org.consultant_hn, token_id=row.pk)
    assert revoked.revoked_at is not None
    with pytest.raises(NotFound):
        token_revoke(actor=org.consultant_hn, token_id=row.pk)  # already revoked
    with pytest.raises(NotFound):
        token_revoke(actor=org.consultant_hn, token_id=999_999)
    other, _raw = token_create(actor=org.consultant_hn_b, user=org.consultant_hn_b)
    assert token_revoke(actor=org.admin, token_id=other.pk).revoked_at is not None
    assert list(
        AuditEvent.objects.filter(action="token_revoke").values_list("actor__username", flat=True)
    ) == [
        "admin",
        "consultant_hn",
    ]


# --- profile page ----------------------------------------------------------------------------------------


def test_profile_create_shows_raw_token_once(org):
    client = web_client(org.consultant_hn)
    page = client.get("/accounts/profile/").content.decode()
    assert 'id="new-token"' not in page
    r = client.post("/accounts/tokens/", {"name": "Zapier"})
    assert r.status_code == 302
    assert r["Location"] == "/accounts/profile/"
    row = ApiToken.objects.get(user=org.consultant_hn)
    assert row.name == "Zapier"
    page = client.get("/accounts/profile/").content.decode()
    raw = re.search(r'<code id="new-token"[^>]*>([^<]+)</code>', page).group(1)
    assert raw.startswith(row.prefix)
    assert token_authenticate(raw) == org.consultant_hn
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/customers").status_code == 200
    # Shown once only.
    page = client.get("/accounts/profile/").content.decode()
    assert raw not in page
    assert row.prefix in page  # the list shows the prefix
    # GET does not create tokens.
    assert client.get("/accounts/tokens/").status_code == 405
    assert ApiToken.objects.count() == 1


def test_profile_lists_only_own_active_tokens(org):
    mine, _ = token_create(actor=org.consultant_hn, user=org.consultant_hn, name="mine-token")
    gone, _ = token_create(actor=org.consultant_hn, user=org.consultant_hn, name="gone-token")
    token_revoke(actor=org.consultant_hn, token_id=gone.pk)
    token_create(actor=org.consultant_hn_b, user=org.consultant_hn_b, name="theirs-token")
    page = web_client(org.consultant_hn).get("/accounts/profile/").content.decode()
    assert "mine-token" in page
    assert "gone-token" not in page
    assert "theirs-token" not in page


def test_profile_revoke(org):
    row, raw = token_create(actor=org.consultant_hn, user=org.consultant_hn)
    theirs, their_raw = token_create(actor=org.consultant_hn_b, user=org.consultant_hn_b)
    client = web_client(org.consultant_hn)
    # Someone else's token: 404, and it keeps working.
    assert client.post(f"/accounts/tokens/{theirs.pk}/revoke/").status_code == 404
    assert token_authenticate(their_raw) == org.consultant_hn_b
    assert client.post("/accounts/tokens/999999/revoke/").status_code == 404
    assert client.get(f"/accounts/tokens/{row.pk}/revoke/").status_code == 405
    r = client.post(f"/accounts/tokens/{row.pk}/revoke/")
    assert r.status_code == 302
    assert r["Location"] == "/accounts/profile/"
    assert ApiToken.objects.get(pk=row.pk).revoked_at is not None
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/customers").status_code == 401
    assert client.post(f"/accounts/tokens/{row.pk}/revoke/").status_code == 404  # already revoked


def test_profile_requires_login():
    for method, url in (
        ("get", "/accounts/profile/"),
        ("post", "/accounts/tokens/"),
        ("post", "/accounts/tokens/1/revoke/"),
    ):
        r = getattr(Client(), method)(url)
        assert r.status_code == 302
        assert r["Location"].startswith("/accounts/login/")
    assert not ApiToken.objects.exists()


# --- sign-in auditing ------------------------------------------------------------------------------------


def test_login_success_is_audited_with_ip(org):
    client = Client(REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="pytest-browser")
    r = client.post("/accounts/login/", {"login": "consultant_hn", "password": PASSWORD})
    assert r.status_code == 302
    assert r["Location"] == "/"
    assert client.get("/").status_code == 200
    event = AuditEvent.objects.get(action="login")
    assert event.actor == org.consultant_hn
    assert event.actor_label == "consultant_hn"
    assert event.ip == "203.0.113.7"
    assert event.user_agent == "pytest-browser"
    assert event.source == "web"
    assert event.object_id == str(org.consultant_hn.pk)


def test_login_by_email(org):
    client = Client()
    r = client.post("/accounts/login/", {"login": org.consultant_hn.email, "password": PASSWORD})
    assert r.status_code == 302
    assert AuditEvent.objects.get(action="login").actor == org.consultant_hn


@pytest.mark.parametrize(("login", "known"), [("consultant_hn", True), ("no_such_user", False)])
def test_login_failure_is_audited_with_ip(org, login, known):
    client = Client(REMOTE_ADDR="198.51.100.9")
    r = client.post("/accounts/login/", {"login": login, "password": "wrong-password"})
    assert r.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302
    event = AuditEvent.objects.get(action="login_failed")
    assert event.actor is None  # a failed attempt is never attributed to the account
    assert event.actor_label == login
    assert event.ip == "198.51.100.9"
    assert event.object_id == (str(org.consultant_hn.pk) if known else "")
    assert not AuditEvent.objects.filter(action="login").exists()


def test_inactive_user_cannot_log_in(org):
    org.consultant_hn.is_active = False
    org.consultant_hn.save()
    client = Client()
    client.post("/accounts/login/", {"login": "consultant_hn", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert not AuditEvent.objects.filter(action="login").exists()


def test_logout_is_audited(org):
    client = Client(REMOTE_ADDR="203.0.113.8")
    client.post("/accounts/login/", {"login": "consultant_hn", "password": PASSWORD})
    r = client.post("/accounts/logout/")
    assert r.status_code == 302
    assert r["Location"] == "/accounts/login/"
    event = AuditEvent.objects.get(action="logout")
    assert (event.actor, event.ip) == (org.consultant_hn, "203.0.113.8")
    assert client.get("/").status_code == 302


# --- password reset ------------------------------------------------------------------------------------


def test_password_reset_by_email(org):
    user = org.consultant_hn
    client = Client()
    r = client.post("/accounts/password/reset/", {"email": user.email})
    assert r.status_code == 302
    assert r["Location"] == "/accounts/password/reset/done/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", message.body).group(1)
    assert "consultant_hn" in message.body  # the email reminds the username
    # Following the link leads to the form for a new password.
    r = client.get(link)
    if r.status_code == 302:  # allauth moves the key into the session first
        link = r["Location"]
        r = client.get(link)
    assert r.status_code == 200
    assert 'name="password1"' in r.content.decode()
    new_password = "Mat-khau-moi-2026"
    r = client.post(link, {"password1": new_password, "password2": new_password})
    assert r.status_code == 302
    assert r["Location"] == "/accounts/password/reset/key/done/"
    user.refresh_from_db()
    assert user.check_password(new_password)
    # The old password no longer works, the new one does.
    fresh = Client()
    fresh.post("/accounts/login/", {"login": "consultant_hn", "password": PASSWORD})
    assert "_auth_user_id" not in fresh.session
    r = fresh.post("/accounts/login/", {"login": "consultant_hn", "password": new_password})
    assert r.status_code == 302
    assert fresh.get("/").status_code == 200
    # The link cannot be used twice.
    again = Client().get(re.search(r"(/accounts/password/reset/key/\S+/)", message.body).group(1))
    assert again.status_code == 200
    assert 'name="password1"' not in again.content.decode()


def test_password_reset_unknown_email_gives_no_reset_link(org):
    r = Client().post("/accounts/password/reset/", {"email": "stranger@example.com"})
    assert r.status_code == 302  # same answer as for a known address: no hint whether it exists
    assert r["Location"] == "/accounts/password/reset/done/"
    assert all("/accounts/password/reset/key/" not in m.body for m in mail.outbox)


# --- sign-up is closed -----------------------------------------------------------------------------------


def test_signup_is_closed(org):
    before = User.objects.count()
    client = Client()
    r = client.get("/accounts/signup/")
    assert r.status_code == 200
    assert 'name="password1"' not in r.content.decode()
    r = client.post(
        "/accounts/signup/",
        {
            "username": "intruder",
            "email": "intruder@example.com",
            "password1": "Str0ng-pass!",
            "password2": "Str0ng-pass!",
        },
    )
    assert r.status_code in (200, 302, 403)
    assert User.objects.count() == before
    assert not User.objects.filter(username="intruder").exists()
    assert "_auth_user_id" not in client.session


# --- user_create ---------------------------------------------------------------------------------------


def test_user_create(org):
    user = user_create(
        actor=org.admin,
        username="tuvan_moi",
        role="consultant",
        password="Mat-khau-2026",
        email="tuvan@example.com",
        team=org.hn_sales2,
    )
    assert user.role.code == "consultant"
    assert (user.team, user.branch) == (org.hn_sales2, org.hn)  # branch follows the team
    assert user.check_password("Mat-khau-2026")
    event = AuditEvent.objects.get(action="create", object_type="accounts.user", object_id=str(user.pk))
    assert event.actor == org.admin
    assert event.changes == {"username": "tuvan_moi", "role": "consultant", "branch": org.hn.pk}
    without_password = user_create(actor=None, username="no_password", role="director")
    assert not without_password.has_usable_password()


def test_user_create_unknown_role(org):
    before = User.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        user_create(actor=org.admin, username="someone", role="wizard")
    assert "role" in exc.value.fields
    assert User.objects.count() == before


@pytest.mark.parametrize("username", ["consultant_hn", "CONSULTANT_HN"])
def test_user_create_duplicate_username(org, username):
    before = User.objects.count()
    with pytest.raises(ApplicationError) as exc:
        user_create(actor=org.admin, username=username, role="consultant")
    assert exc.value.status == 409
    assert exc.value.code == "duplicate_username"
    assert User.objects.count() == before


def test_user_create_team_of_another_branch(org):
    with pytest.raises(ValidationFailed) as exc:
        user_create(
            actor=org.admin, username="lac_nhom", role="consultant", branch=org.hcm, team=org.hn_sales
        )
    assert "team" in exc.value.fields
    assert not User.objects.filter(username="lac_nhom").exists()


def test_roles_ensure_defaults_is_idempotent(org):
    from careline.accounts.models import Role, RoleScope

    counts = (Role.objects.count(), RoleScope.objects.count())
    roles_ensure_defaults()
    assert (Role.objects.count(), RoleScope.objects.count()) == counts == (8, 8 * 6)
    # A missing default scope is put back; an admin's edit of an existing one is kept.
    RoleScope.objects.filter(role__code="director").delete()
    RoleScope.objects.filter(role__code="consultant").update(scope="team")
    roles_ensure_defaults()
    assert RoleScope.objects.get(role__code="director", object_type="customer").scope == "all"
    assert RoleScope.objects.get(role__code="director", object_type="inquiry").scope == "all"
    assert RoleScope.objects.get(role__code="consultant", object_type="customer").scope == "team"


def test_new_team_member_sees_team_queue(org):
    """A user created by the service gets the role's scopes at once (no stale cache)."""
    team = Team.objects.get(pk=org.hn_sales.pk)
    user = user_create(actor=org.admin, username="tuvan3", role="consultant", team=team)
    assert user.scope_for("customer") == "own"
    assert user.allows("customer", "add")
    assert not user.allows("customer", "delete")
