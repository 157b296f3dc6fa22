"""The hand-written token query (accounts/tokens.py) loads exactly what the ORM would, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest

from careline.accounts.models import RoleScope, User
from careline.accounts.services import token_create, token_digest, token_revoke
from careline.accounts.tokens import scopes_unpack, token_row

pytestmark = pytest.mark.django_db


def _expected_scopes(user: User) -> dict[str, tuple[str, frozenset[str]]]:
    return {
        s.object_type: (s.scope, frozenset(s.actions)) for s in RoleScope.objects.filter(role_id=user.role_id)
    }


@pytest.mark.parametrize("username", ["admin", "consultant_hn", "care_head", "nobody"])
def test_token_row_matches_the_orm(org, username):
    user = User.objects.get(username=username)
    token, raw = token_create(actor=user, user=user, name="x")
    row, packed = token_row(token_digest(raw))
    loaded = row.user
    assert (row.pk, row.user_id, row.last_used_at, row.revoked_at) == (token.pk, user.pk, None, None)
    assert row.created_at == token.created_at
    fresh = User.objects.select_related("role").get(pk=user.pk)
    for field in User._meta.concrete_fields:
        got, want = getattr(loaded, field.attname), getattr(fresh, field.attname)
        assert got == want, field.name
        assert type(got) is type(want), field.name  # SQLite text/ints converted like the ORM does
    assert isinstance(loaded.date_joined, dt.datetime) and loaded.date_joined.tzinfo is not None
    assert loaded.role == fresh.role
    if fresh.role is not None:
        assert loaded.role.code == fresh.role.code  # loaded with the row, not lazily
    assert scopes_unpack(packed) == _expected_scopes(fresh)
    if username == "nobody":
        assert packed == ""


def test_token_row_refuses_unknown_and_revoked(org):
    token, raw = token_create(actor=org.consultant_hn, user=org.consultant_hn)
    assert token_row(token_digest(raw + "x")) is None
    token_revoke(actor=org.consultant_hn, token_id=token.pk)
    assert token_row(token_digest(raw)) is None
