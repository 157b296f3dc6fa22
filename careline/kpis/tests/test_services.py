"""quota_create / quota_update / quota_delete: permission, scope, validation and audit."""

from __future__ import annotations

import pytest

from careline.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from careline.core.models import AuditEvent
from careline.kpis.models import Quota
from careline.kpis.services import quota_create, quota_delete, quota_update
from careline.kpis.tests.factories import make_quota

pytestmark = pytest.mark.django_db


def events(quota_id: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type="kpis.quota", object_id=str(quota_id)).order_by("id"))


def test_create_is_validated_and_audited(org):
    quota = quota_create(
        actor=org.admin, data={"kind": "call", "period": "day", "target": 30, "role": "consultant"}
    )
    assert (quota.kind, quota.period, quota.target, quota.role.code, quota.team, quota.user) == (
        "call",
        "day",
        30,
        "consultant",
        None,
        None,
    )
    [event] = events(quota.pk)
    assert (event.action, event.actor) == ("create", org.admin)
    assert event.changes["target"] == {"before": None, "after": 30}
    assert event.changes["role"] == {"before": None, "after": "consultant"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "call", "target": 0, "role": "consultant"}, "target"),
        ({"kind": "call", "target": -5, "role": "consultant"}, "target"),
        ({"kind": "call", "target": "many", "role": "consultant"}, "target"),
        ({"kind": "call", "target": 10**6, "role": "consultant"}, "target"),
        ({"kind": "call", "role": "consultant"}, "target"),
        ({"kind": "dance", "target": 3, "role": "consultant"}, "kind"),
        ({"kind": "call", "period": "year", "target": 3, "role": "consultant"}, "period"),
        ({"kind": "call", "target": 3}, "role"),  # neither role nor person
        ({"kind": "call", "target": 3, "role": "wizard"}, "role"),
        ({"kind": "call", "target": 3, "user_id": 999_999}, "user_id"),
        ({"kind": "call", "target": 3, "role": "consultant", "team_id": 999_999}, "team_id"),
        ({"kind": "call", "target": 3, "colour": "red", "role": "consultant"}, "colour"),
    ],
)
def test_create_refuses_invalid_data(org, data, field):
    with pytest.raises(ValidationFailed) as exc:
        quota_create(actor=org.admin, data=data)
    assert field in exc.value.fields
    assert Quota.objects.count() == 0
    assert not AuditEvent.objects.filter(object_type="kpis.quota").exists()


def test_role_xor_person_and_team_only_for_roles(org):
    with pytest.raises(ValidationFailed) as exc:
        quota_create(
            actor=org.admin,
            data={"kind": "call", "target": 3, "role": "consultant", "user_id": org.consultant_hn.pk},
        )
    assert "role" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        quota_create(
            actor=org.admin,
            data={"kind": "call", "target": 3, "user_id": org.consultant_hn.pk, "team_id": org.hn_sales.pk},
        )
    assert "team_id" in exc.value.fields


def test_duplicate_active_quota_is_a_conflict(org):
    first = make_quota(org.admin, kind="call", target=30)
    with pytest.raises(Conflict) as exc:
        make_quota(org.admin, kind="call", target=35)
    assert exc.value.details == {"existing_id": first.pk}
    # Another period, a team-limited one, an inactive copy: all fine.
    make_quota(org.admin, kind="call", period="week", target=150)
    make_quota(org.admin, kind="call", target=20, team_id=org.hn_sales.pk)
    make_quota(org.admin, kind="call", target=35, active=False)


def test_consultants_and_directors_cannot_configure(org):
    for actor in (org.consultant_hn, org.director, org.care_head, org.nobody):
        with pytest.raises(PermissionDenied):
            make_quota(actor, kind="call", target=5, user_id=actor.pk)


def test_supervisor_defines_quotas_for_their_team_only(org):
    sup = org.supervisor_hn
    team_quota = make_quota(sup, kind="call", target=35, team_id=org.hn_sales.pk)
    person_quota = make_quota(sup, kind="email", target=10, user_id=org.consultant_hn_b.pk)
    assert team_quota.team == org.hn_sales and person_quota.user == org.consultant_hn_b
    refusals = [
        ({"role": "consultant"}, "team_id"),  # company-wide
        ({"role": "consultant", "team_id": org.hn_sales2.pk}, "team_id"),
        ({"user_id": org.consultant_hn2.pk}, "user_id"),
        ({"user_id": org.consultant_hcm.pk}, "user_id"),
    ]
    for who, field in refusals:
        with pytest.raises(ValidationFailed) as exc:
            quota_create(actor=sup, data={"kind": "offer", "target": 3, **who})
        assert field in exc.value.fields, who


def test_branch_manager_defines_quotas_in_their_branch(org):
    mgr = org.manager_hn
    make_quota(mgr, kind="call", target=30, team_id=org.hn_sales2.pk)
    make_quota(mgr, kind="call", target=30, user_id=org.consultant_hn.pk)
    for data in (
        {"kind": "call", "target": 3, "role": "consultant", "team_id": org.hcm_sales.pk},
        {"kind": "call", "target": 3, "user_id": org.consultant_hcm.pk},
        {"kind": "call", "target": 3, "role": "consultant"},
    ):
        with pytest.raises(ValidationFailed):
            quota_create(actor=mgr, data=data)


def test_update_checks_scope_then_permission_then_ownership(org):
    company = make_quota(org.admin, kind="call", target=30)
    other_team = make_quota(org.admin, kind="call", target=30, team_id=org.hn_sales2.pk)
    mine = make_quota(org.supervisor_hn, kind="email", target=10, team_id=org.hn_sales.pk)
    sup = org.supervisor_hn
    with pytest.raises(NotFound):
        quota_update(actor=sup, quota_id=other_team.pk, data={"target": 1})
    with pytest.raises(NotFound):
        quota_update(actor=sup, quota_id=999_999, data={"target": 1})
    with pytest.raises(PermissionDenied):  # visible (it applies to the team) but set above them
        quota_update(actor=sup, quota_id=company.pk, data={"target": 1})
    with pytest.raises(PermissionDenied):
        quota_update(actor=org.consultant_hn, quota_id=company.pk, data={"target": 1})
    updated = quota_update(actor=sup, quota_id=mine.pk, data={"target": 12, "period": "week"})
    assert (updated.target, updated.period) == (12, "week")
    event = events(mine.pk)[-1]
    assert event.action == "update"
    assert event.changes == {
        "target": {"before": 10, "after": 12},
        "period": {"before": "day", "after": "week"},
    }
    # Cannot move it out of their reach.
    with pytest.raises(ValidationFailed):
        quota_update(actor=sup, quota_id=mine.pk, data={"team_id": org.hn_sales2.pk})
    with pytest.raises(ValidationFailed):
        quota_update(actor=sup, quota_id=mine.pk, data={"target": 0})
    assert Quota.objects.get(pk=mine.pk).target == 12


def test_update_switches_between_role_and_person(org):
    quota = make_quota(org.admin, kind="call", target=30, team_id=org.hn_sales.pk)
    quota = quota_update(actor=org.admin, quota_id=quota.pk, data={"user_id": org.consultant_hn.pk})
    assert (quota.role, quota.team, quota.user) == (None, None, org.consultant_hn)
    quota = quota_update(actor=org.admin, quota_id=quota.pk, data={"role": "supervisor"})
    assert (quota.role.code, quota.team, quota.user) == ("supervisor", None, None)
    unchanged = len(events(quota.pk))
    quota_update(actor=org.admin, quota_id=quota.pk, data={"target": 30})
    assert len(events(quota.pk)) == unchanged  # nothing changed, nothing audited


def test_delete(org):
    company = make_quota(org.admin, kind="call", target=30)
    mine = make_quota(org.supervisor_hn, kind="email", target=10, user_id=org.consultant_hn.pk)
    with pytest.raises(PermissionDenied):
        quota_delete(actor=org.supervisor_hn, quota_id=company.pk)
    with pytest.raises(NotFound):
        quota_delete(actor=org.consultant_hn2, quota_id=mine.pk)
    with pytest.raises(PermissionDenied):
        quota_delete(actor=org.consultant_hn, quota_id=mine.pk)
    quota_delete(actor=org.supervisor_hn, quota_id=mine.pk)
    assert not Quota.objects.filter(pk=mine.pk).exists()
    event = events(mine.pk)[-1]
    assert (event.action, event.actor) == ("delete", org.supervisor_hn)
    assert event.changes["target"] == {"before": 10, "after": None}
