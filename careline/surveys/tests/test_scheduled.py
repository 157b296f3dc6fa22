"""Scheduled surveys: the segment, consent, `every_days`, batches, the per-run cap, dry runs, the daily task
and `careline surveys send`."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from careline.core.errors import NotFound, ValidationFailed
from careline.surveys import services
from careline.surveys.models import Invitation, Survey
from careline.surveys.tests.factories import consent, make_customer, make_survey

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def mailbox(settings):
    settings.CARELINE_PUBLIC_URL = "http://testserver"
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture
def people(org):
    """Customers of every consent situation; only `granted` and `marketing_only` may be asked."""
    admin = org.admin

    def customer(name: str, **data):
        return make_customer(admin, full_name=name, stage=data.pop("stage", "customer"), **data)

    out = {
        "granted": customer("Khách Đồng Ý", emails=["a@example.vn"]),
        "marketing_only": customer("Khách Tiếp Thị", emails=["b@example.vn"]),
        "never_asked": customer("Khách Chưa Hỏi", emails=["c@example.vn"]),
        "withdrawn": customer("Khách Rút Lại", emails=["d@example.vn"]),
        "no_email": customer("Khách Không Email", phones=["0912 000 111"]),
        "lead": customer("Khách Tiềm Năng", emails=["e@example.vn"], stage="lead"),
    }
    consent(admin, out["granted"], "care_calls", "granted")
    consent(admin, out["marketing_only"], "marketing", "granted")
    consent(admin, out["withdrawn"], "care_calls", "withdrawn")
    consent(admin, out["withdrawn"], "marketing", "granted")
    consent(admin, out["no_email"], "care_calls", "granted")
    consent(admin, out["lead"], "care_calls", "granted")
    return out


def _nps(org, **data) -> Survey:
    data.setdefault("segment", {"stage": "customer"})
    return make_survey(org.care_head, name="NPS quý", kind="nps", trigger="schedule", every_days=90, **data)


def test_segment_consent_and_email(org, people):
    survey = _nps(org)
    [report] = services.surveys_send_due()
    assert (report.eligible, report.invited, report.emailed, report.failed, report.no_email) == (
        3,
        2,
        2,
        0,
        1,
    )
    invited = set(Invitation.objects.filter(survey=survey).values_list("customer_id", flat=True))
    assert invited == {people["granted"].pk, people["marketing_only"].pk}
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.vn", "b@example.vn"]
    assert all(i.channel == "email" and i.delivery_status == "sent" for i in Invitation.objects.all())
    survey.refresh_from_db()
    assert survey.last_sent_at is not None


def test_every_days_is_respected(org, people):
    survey = _nps(org)
    services.surveys_send_due()
    again = services.surveys_send_due()
    assert again[0].invited == 0 and Invitation.objects.count() == 2 and len(mail.outbox) == 2
    # 89 days later still too early; 91 days later they are asked again.
    Invitation.objects.update(created_at=timezone.now() - dt.timedelta(days=89))
    assert services.surveys_send_due()[0].invited == 0
    Invitation.objects.update(created_at=timezone.now() - dt.timedelta(days=91))
    assert services.surveys_send_due()[0].invited == 2
    assert Invitation.objects.filter(survey=survey).count() == 4


def test_withdrawing_consent_stops_the_next_wave(org, people):
    _nps(org)
    services.surveys_send_due()
    Invitation.objects.update(created_at=timezone.now() - dt.timedelta(days=100))
    consent(org.admin, people["granted"], "care_calls", "withdrawn")
    [report] = services.surveys_send_due()
    assert report.invited == 1
    assert Invitation.objects.filter(customer=people["granted"]).count() == 1


def test_batches_and_the_cap_per_run(org, people):
    survey = _nps(org)
    [report] = services.surveys_send_due(batch_size=1, max_per_run=1)
    assert (report.invited, report.emailed, report.left_for_next_run) == (1, 1, 1)
    [report] = services.surveys_send_due(batch_size=1, max_per_run=1)
    assert (report.invited, report.left_for_next_run) == (1, 0)
    assert Invitation.objects.filter(survey=survey).count() == 2


def test_dry_run_writes_and_sends_nothing(org, people):
    survey = _nps(org)
    [report] = services.surveys_send_due(dry_run=True)
    assert (report.dry_run, report.eligible, report.invited, report.no_email) == (True, 3, 2, 1)
    assert not Invitation.objects.exists() and mail.outbox == []
    survey.refresh_from_db()
    assert survey.last_sent_at is None


def test_only_active_scheduled_surveys(org, people):
    manual = make_survey(org.care_head, name="Thủ công", kind="nps")
    inactive = _nps(org, active=False)
    assert services.surveys_send_due() == []
    with pytest.raises(ValidationFailed):
        services.surveys_send_due(survey_id=manual.pk)
    with pytest.raises(ValidationFailed):
        services.surveys_send_due(survey_id=inactive.pk)
    with pytest.raises(NotFound):
        services.surveys_send_due(survey_id=999_999)


def test_segment_filters_by_team_and_tag(org):
    survey = make_survey(
        org.care_head,
        name="NPS nhóm",
        kind="nps",
        trigger="schedule",
        every_days=30,
        segment={"team": org.hn_sales.pk, "tag": "VIP"},
    )
    inside = make_customer(org.consultant_hn, emails=["in@example.vn"], tags=["VIP"])
    untagged = make_customer(org.consultant_hn, emails=["out@example.vn"], full_name="Khác")
    other_team = make_customer(org.consultant_hcm, emails=["hcm@example.vn"], tags=["VIP"], full_name="HCM")
    for c in (inside, untagged, other_team):
        consent(org.admin, c, "care_calls", "granted")
    services.surveys_send_due(survey_id=survey.pk)
    assert list(Invitation.objects.values_list("customer_id", flat=True)) == [inside.pk]
    invitation = Invitation.objects.get()
    assert (invitation.agent_id, invitation.team_id) == (org.consultant_hn.pk, org.hn_sales.pk)


def test_daily_task_runs_the_schedule_and_retries_follow_ups(org, people):
    from careline.surveys.tasks import surveys_daily_periodic

    _nps(org)
    result = surveys_daily_periodic.call_local()
    assert result["surveys"][0]["invited"] == 2 and result["follow_ups"] == 0


# --- CLI -----------------------------------------------------------------------------------------------------


def test_cli_send_json_and_dry_run(org, people):
    survey = _nps(org)
    out = StringIO()
    call_command("surveys", "send", "--dry-run", "--json", stdout=out)
    assert json.loads(out.getvalue()) == [
        {
            "survey_id": survey.pk,
            "name": "NPS quý",
            "dry_run": True,
            "eligible": 3,
            "invited": 2,
            "emailed": 0,
            "failed": 0,
            "no_email": 1,
            "left_for_next_run": 0,
        }
    ]
    assert not Invitation.objects.exists()
    out = StringIO()
    call_command("surveys", "send", "--survey", str(survey.pk), stdout=out)
    assert "NPS quý" in out.getvalue() and Invitation.objects.count() == 2
    with pytest.raises(CommandError, match="scheduled|theo lịch"):  # English or Vietnamese (the default)
        call_command("surveys", "send", "--survey", str(make_survey(org.care_head, name="x").pk))


def test_cli_says_when_there_is_nothing_to_send(org):
    out = StringIO()
    call_command("surveys", "send", stdout=out)
    assert "No active scheduled survey" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_careline_command_line_entry(org, people, capsys):
    """Through `careline surveys send` itself (the command line closes connections: data is committed)."""
    from careline.cli.main import main

    _nps(org)
    main(["surveys", "send", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data[0]["emailed"] == 2
    assert Invitation.objects.count() == 2
