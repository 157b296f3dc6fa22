"""Every write of surveys, invitations and responses goes through these functions (ARCHITECTURE §4).

* Configure: `survey_create`, `survey_update` (needs `survey.configure`).
* Ask: `invitation_create` (email or a link to share by Zalo/SMS), `invitation_send_email` (bilingual
  plain + HTML email with one-click score links), `survey_send_for_ticket` (CSAT after a resolved ticket,
  one invitation per ticket) and `surveys_send_due` (scheduled surveys to a customer segment, in batches).
* Answer: `response_record` (the public page; the token is the credential; re-answering updates the answer
  for 7 days) and `response_record_by_agent` (an agent after a call).
* Detractors (NPS 0–6, CSAT ≤ 2): `response_follow_up` opens one follow-up ticket for the head of care's team.

Consent: a survey about a ticket (CSAT/CES after it was resolved) is service communication and is always
allowed. A survey without a ticket (scheduled NPS, or sent by staff) needs the customer's latest `care_calls`
decision to be *granted*, or — when no `care_calls` decision was ever recorded — the latest `marketing`
decision to be granted. A withdrawn `care_calls` consent always excludes the customer.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import make_msgid, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from careline.core.audit import audit_record, diff
from careline.core.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from careline.core.models import AuditAction
from careline.core.visibility import Action, require_action
from careline.surveys.choices import InvitationChannel, SurveyKind, Trigger
from careline.surveys.models import Invitation, Response, Survey
from careline.surveys.selectors import (
    OBJECT_TYPE,
    SCORE_RANGES,
    is_detractor,
    survey_for_ticket_resolved,
)
from careline.vn.text import nfc

logger = logging.getLogger(__name__)

EDIT_WINDOW = dt.timedelta(days=7)  # a customer may change their answer for this long
INVITATION_DAYS = 30  # a link works this long unless answered (settings.SURVEYS_INVITATION_DAYS)
BATCH_SIZE = 200  # scheduled sending: invitations per transaction and SMTP connection
MAX_PER_RUN = 5000  # scheduled sending: at most this many invitations per survey and run
REASON_MAX = 2000
QUESTION_TYPES = ("text", "scale", "choice")
SEGMENT_KEYS = ("q", "stage", "owner", "team", "branch", "tag", "province", "source")
SURVEY_FIELDS = {"name", "kind", "trigger", "active", "question", "questions", "segment", "every_days"}
LANGUAGES = ("vi", "en")

# The question asked when a survey has none of its own (translated into the invitation's language).
DEFAULT_QUESTIONS: dict[str, Any] = {
    SurveyKind.CSAT: gettext_lazy("How satisfied are you with how we handled your request?"),
    SurveyKind.NPS: gettext_lazy("How likely are you to recommend us to a friend or colleague?"),
    SurveyKind.CES: gettext_lazy("How easy was it to get your request handled?"),
    SurveyKind.CUSTOM: gettext_lazy("Please answer a few questions."),
}
SCORE_LABELS: dict[str, dict[int, Any]] = {
    SurveyKind.CSAT: {
        1: gettext_lazy("Very dissatisfied"),
        2: gettext_lazy("Dissatisfied"),
        3: gettext_lazy("Neutral"),
        4: gettext_lazy("Satisfied"),
        5: gettext_lazy("Very satisfied"),
    },
    SurveyKind.NPS: {0: gettext_lazy("Not at all likely"), 10: gettext_lazy("Extremely likely")},
    SurveyKind.CES: {
        1: gettext_lazy("Very difficult"),
        4: gettext_lazy("Neither"),
        7: gettext_lazy("Very easy"),
    },
}


def question_of(survey: Survey) -> str:
    return survey.question or str(DEFAULT_QUESTIONS[survey.kind])


def score_choices(kind: str) -> list[tuple[int, str]]:
    """(score, label) for the buttons of a kind ("" when the number speaks for itself); none for a custom
    survey (its questions carry their own scales)."""
    if kind not in SCORE_RANGES or kind == SurveyKind.CUSTOM:
        return []
    low, high = SCORE_RANGES[kind]
    labels = SCORE_LABELS.get(kind, {})
    return [(n, str(labels.get(n, ""))) for n in range(low, high + 1)]


def _system_user() -> Any:
    from careline.accounts.services import system_user

    return system_user()


def _invitation_days() -> int:
    return int(getattr(settings, "SURVEYS_INVITATION_DAYS", INVITATION_DAYS))


def public_base_url() -> str:
    """Where customers reach Careline (links in emails): settings.CARELINE_PUBLIC_URL, else the environment
    variable of the same name, else http://localhost:8000."""
    base = getattr(settings, "CARELINE_PUBLIC_URL", "") or os.environ.get("CARELINE_PUBLIC_URL", "")
    return (base or "http://localhost:8000").rstrip("/")


def invitation_url(invitation: Invitation, *, score: int | None = None, absolute: bool = True) -> str:
    path = reverse("survey_public:survey", args=[invitation.token])
    if score is not None:
        path += f"?score={score}"
    return public_base_url() + path if absolute else path


# --- surveys (configure) -----------------------------------------------------------------------------


def _clean_questions(raw: Any, errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Custom questions: `[{"key", "label", "type": text|scale|choice, "options": [...], "min", "max",
    "required"}]`; keys are generated (q1, q2…) when missing."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        errors["questions"] = [_("Give a list of questions.")]
        return []
    out: list[dict[str, Any]] = []
    keys: set[str] = set()
    for i, item in enumerate(raw, start=1):
        if isinstance(item, str):
            item = {"label": item}
        if not isinstance(item, Mapping):
            errors.setdefault("questions", []).append(_("Question %(n)d is not valid.") % {"n": i})
            continue
        label = " ".join(nfc(str(item.get("label") or "")).split())[:300]
        kind = str(item.get("type") or "text")
        key = str(item.get("key") or f"q{i}")[:30]
        if not label:
            errors.setdefault("questions", []).append(_("Question %(n)d has no text.") % {"n": i})
            continue
        if kind not in QUESTION_TYPES:
            errors.setdefault("questions", []).append(
                _("Question %(n)d: the type must be text, scale or choice.") % {"n": i}
            )
            continue
        if not key.replace("_", "").isalnum() or key in keys:
            errors.setdefault("questions", []).append(_("Question %(n)d: the key must be unique.") % {"n": i})
            continue
        keys.add(key)
        question: dict[str, Any] = {
            "key": key,
            "label": label,
            "type": kind,
            "required": bool(item.get("required")),
        }
        if kind == "choice":
            options = [" ".join(nfc(str(o)).split())[:100] for o in item.get("options") or []]
            options = [o for o in dict.fromkeys(options) if o]
            if len(options) < 2:
                errors.setdefault("questions", []).append(
                    _("Question %(n)d: give at least two options.") % {"n": i}
                )
                continue
            question["options"] = options[:20]
        if kind == "scale":
            try:
                low, high = int(item.get("min", 1)), int(item.get("max", 5))
            except (TypeError, ValueError):
                low, high = -1, -1
            if not (0 <= low < high <= 10):
                errors.setdefault("questions", []).append(
                    _("Question %(n)d: the scale must lie between 0 and 10.") % {"n": i}
                )
                continue
            question["min"], question["max"] = low, high
        out.append(question)
    if len(out) > 20:
        errors["questions"] = [_("At most 20 questions.")]
    return out


def _clean_segment(raw: Any, errors: dict[str, list[str]]) -> dict[str, Any]:
    """A customer filter (the keys of the customer list's filters); checked by running it once."""
    if raw in (None, ""):
        return {}
    if not isinstance(raw, Mapping):
        errors["segment"] = [_("The segment must be a set of customer filters.")]
        return {}
    unknown = sorted(set(raw) - set(SEGMENT_KEYS))
    if unknown:
        errors["segment"] = [_("Unknown filters: %(names)s.") % {"names": ", ".join(unknown)}]
        return {}
    segment: dict[str, Any] = {}
    for key, value in raw.items():
        if value in (None, ""):
            continue
        if key in ("team", "branch"):
            try:
                segment[key] = int(value)
            except (TypeError, ValueError):
                errors["segment"] = [_("“%(key)s” must be an id.") % {"key": key}]
                return {}
        elif isinstance(value, str | int):
            segment[key] = str(value)[:200]
        else:
            errors["segment"] = [_("“%(key)s” is not valid.") % {"key": key}]
            return {}
    try:
        segment_customers(segment).exists()
    except ApplicationError as exc:
        errors["segment"] = [exc.message]
    return segment


def _validated_survey(data: Mapping[str, Any], current: Survey | None) -> dict[str, Any]:
    unknown = set(data) - SURVEY_FIELDS
    if unknown:
        raise ValidationFailed({k: [_("This field cannot be set.")] for k in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if "name" in data or current is None:
        name = " ".join(nfc(str(data.get("name") or "")).split())
        if not name:
            errors["name"] = [_("Enter a name.")]
        elif len(name) > 120:
            errors["name"] = [_("At most %(n)d characters.") % {"n": 120}]
        values["name"] = name
    if "kind" in data or current is None:
        kind = str(data.get("kind") or "")
        if kind not in SurveyKind.values:
            errors["kind"] = [_("Choose CSAT, NPS, CES or custom.")]
        values["kind"] = kind
    if "trigger" in data:
        trigger = str(data.get("trigger") or "")
        if trigger not in Trigger.values:
            errors["trigger"] = [_("Choose when the survey is sent.")]
        values["trigger"] = trigger
    if "active" in data:
        values["active"] = bool(data["active"])
    if "question" in data:
        question = " ".join(nfc(str(data.get("question") or "")).split())
        if len(question) > 300:
            errors["question"] = [_("At most %(n)d characters.") % {"n": 300}]
        values["question"] = question
    if "questions" in data:
        values["questions"] = _clean_questions(data.get("questions"), errors)
    if "segment" in data:
        values["segment"] = _clean_segment(data.get("segment"), errors)
    if "every_days" in data:
        every = data.get("every_days")
        if every in (None, ""):
            values["every_days"] = None
        else:
            try:
                values["every_days"] = int(every)
            except (TypeError, ValueError):
                values["every_days"] = -1
            if not 1 <= values["every_days"] <= 3650:
                errors["every_days"] = [_("Between 1 and 3650 days.")]
    # Rules on the combined state.
    merged = {
        "kind": current.kind if current else "",
        "trigger": current.trigger if current else Trigger.MANUAL,
        "questions": current.questions if current else [],
        "every_days": current.every_days if current else None,
        **values,
    }
    if merged["kind"] == SurveyKind.CUSTOM and not merged["questions"] and "questions" not in errors:
        errors["questions"] = [_("A custom survey needs at least one question.")]
    if merged["kind"] in SurveyKind.values and merged["kind"] != SurveyKind.CUSTOM and merged["questions"]:
        errors["questions"] = [_("Only custom surveys have a list of questions.")]
    if merged["trigger"] == Trigger.SCHEDULE and not merged["every_days"] and "every_days" not in errors:
        errors["every_days"] = [_("A scheduled survey needs “repeat every (days)”.")]
    if (
        current is not None
        and "kind" in values
        and values["kind"] != current.kind
        and current.responses.exists()
    ):
        errors["kind"] = [_("The kind cannot change once the survey has answers.")]
    if errors:
        raise ValidationFailed(errors)
    return values


def _guard_one_ticket_survey(survey: Survey) -> None:
    """At most one active survey is sent when a ticket is resolved (one invitation per ticket)."""
    if not (survey.active and survey.trigger == Trigger.TICKET_RESOLVED):
        return
    other = Survey.objects.filter(active=True, trigger=Trigger.TICKET_RESOLVED).exclude(pk=survey.pk).first()
    if other is not None:
        raise Conflict(
            "ticket_survey_exists",
            _("“%(name)s” is already sent when a ticket is resolved. Deactivate it first.")
            % {"name": other.name},
            {"survey_id": other.pk},
        )


def _snapshot(survey: Survey) -> dict[str, Any]:
    return {name: getattr(survey, name) for name in sorted(SURVEY_FIELDS)}


@transaction.atomic
def survey_create(*, actor: Any, data: Mapping[str, Any]) -> Survey:
    """Define a survey (needs `survey.configure`)."""
    require_action(actor, OBJECT_TYPE, Action.CONFIGURE)
    values = _validated_survey(data, None)
    survey = Survey(created_by=actor if getattr(actor, "pk", None) else None, **values)
    survey.full_clean()
    _guard_one_ticket_survey(survey)
    survey.save()
    audit_record(actor=actor, action=AuditAction.CREATE, obj=survey, changes=_snapshot(survey))
    return survey


@transaction.atomic
def survey_update(*, actor: Any, survey_id: int, data: Mapping[str, Any]) -> Survey:
    """Change a survey (deactivate with `active: false`; surveys with answers are never deleted)."""
    require_action(actor, OBJECT_TYPE, Action.VIEW)
    survey = Survey.objects.select_for_update().filter(pk=survey_id).first()
    if survey is None:
        raise NotFound(_("Survey not found."))
    require_action(actor, OBJECT_TYPE, Action.CONFIGURE)
    before = _snapshot(survey)
    for name, value in _validated_survey(data, survey).items():
        setattr(survey, name, value)
    survey.full_clean()
    _guard_one_ticket_survey(survey)
    survey.save()
    changes = diff(before, _snapshot(survey))
    if changes:
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=survey, changes=changes)
    return survey


# --- customers, tickets, consent -----------------------------------------------------------------------


def customer_emails(customer: Any) -> list[str]:
    return [p.value for p in customer.contact_points.all() if p.kind == "email"]


def _language_of(*objects: Any, explicit: str = "") -> str:
    """The invitation's language: given, else the ticket's or customer's (when they carry one), else vi."""
    if explicit:
        if explicit not in LANGUAGES:
            raise ValidationFailed({"language": [_("Use vi or en.")]})
        return explicit
    for obj in objects:
        value = str(getattr(obj, "language", "") or "")[:2].lower()
        if value in LANGUAGES:
            return value
    return "vi"


def consent_allows(customer: Any) -> bool:
    """A survey without a ticket: latest care_calls granted, or (never asked about care calls) latest
    marketing granted. See the module docstring."""
    from careline.customers.choices import ConsentPurpose, ConsentStatus
    from careline.customers.selectors import customer_consent_state

    state = customer_consent_state(customer=customer)
    care = state.get(ConsentPurpose.CARE_CALLS)
    if care is not None:
        return care.status == ConsentStatus.GRANTED
    marketing = state.get(ConsentPurpose.MARKETING)
    return marketing is not None and marketing.status == ConsentStatus.GRANTED


def _consent_subquery(purpose: str) -> Subquery:
    from careline.customers.models import Consent

    latest = Consent.objects.filter(customer_id=OuterRef("pk"), purpose=purpose).order_by("-given_at", "-id")
    return Subquery(latest.values("status")[:1])


def _with_consent(qs: QuerySet[Any]) -> QuerySet[Any]:
    """Customers a survey without a ticket may go to (the same rule as `consent_allows`, in SQL)."""
    from careline.customers.choices import ConsentPurpose, ConsentStatus

    qs = qs.annotate(
        _care=_consent_subquery(ConsentPurpose.CARE_CALLS),
        _marketing=_consent_subquery(ConsentPurpose.MARKETING),
    )
    return qs.filter(Q(_care=ConsentStatus.GRANTED) | Q(_care__isnull=True, _marketing=ConsentStatus.GRANTED))


def segment_customers(segment: Mapping[str, Any]) -> QuerySet[Any]:
    """Active customers matching a segment (the customer list's filters), whoever owns them."""
    from careline.customers.selectors import CustomerFilters, customer_search_queryset

    filters = CustomerFilters.from_data(dict(segment))
    qs, _ordering = customer_search_queryset(actor=_system_user(), filters=filters)
    return qs


def _ties(*, customer: Any, ticket: Any | None, agent: Any | None = None) -> dict[str, Any]:
    """Who an answer counts for: the ticket's assignee, team and branch; without a ticket the customer's
    owner, team and branch (or the given agent's)."""
    if ticket is not None:
        agent_id = ticket.assignee_id
        team_id = ticket.team_id
        branch_id = ticket.branch_id
        if agent_id is None and agent is not None:
            agent_id = agent.pk
        if team_id is None and agent is not None:
            team_id = agent.team_id
    else:
        agent_id = customer.owner_id if agent is None else agent.pk
        team_id = customer.team_id if agent is None else (agent.team_id or customer.team_id)
        branch_id = customer.branch_id if agent is None else None
    if branch_id is None and team_id:
        from careline.accounts.models import Team

        branch_id = Team.objects.filter(pk=team_id).values_list("branch_id", flat=True).first()
    if branch_id is None:
        branch_id = customer.branch_id or (getattr(agent, "branch_id", None) if agent is not None else None)
    return {"agent_id": agent_id, "team_id": team_id, "branch_id": branch_id}


def _ticket_for(actor: Any, ticket_id: int) -> Any:
    """A ticket the actor may see (helpdesk selector), NotFound otherwise."""
    from careline.helpdesk.selectors import ticket_get

    return ticket_get(actor=actor, ticket_id=ticket_id)


def _customer_for(actor: Any, customer_id: int) -> Any:
    from careline.customers.selectors import customer_get

    return customer_get(actor=actor, customer_id=customer_id)


def customer_and_ticket(actor: Any, customer_id: int | None, ticket_id: int | None) -> tuple[Any, Any | None]:
    """With a ticket the actor may see, its customer (the agent works on the ticket even when the customer
    card is outside their customer scope); without one, a customer the actor may see."""
    ticket = None
    if ticket_id:
        ticket = _ticket_for(actor, ticket_id)
        if customer_id and ticket.customer_id != customer_id:
            raise ValidationFailed({"ticket_id": [_("This ticket belongs to another customer.")]})
        customer = _customer_for(_system_user(), ticket.customer_id)
    elif customer_id:
        customer = _customer_for(actor, customer_id)
    else:
        raise ValidationFailed({"customer_id": [_("Choose a customer.")]})
    return customer, ticket


# --- invitations -------------------------------------------------------------------------------------------


def _new_invitation(
    *,
    survey: Survey,
    customer: Any,
    ticket: Any | None,
    channel: str,
    language: str,
    now: dt.datetime,
) -> Invitation:
    invitation = Invitation(
        survey=survey,
        customer=customer,
        ticket=ticket,
        channel=channel,
        language=language,
        expires_at=now + dt.timedelta(days=_invitation_days()),
        sent_at=now if channel == InvitationChannel.LINK else None,
        **_ties(customer=customer, ticket=ticket),
    )
    invitation.full_clean(exclude=["survey", "customer", "ticket", "token"])
    return invitation


@transaction.atomic
def invitation_create(
    *,
    actor: Any,
    survey_id: int,
    customer_id: int | None,
    ticket_id: int | None = None,
    channel: str,
    language: str = "",
    send: bool = True,
) -> Invitation:
    """Ask one customer to answer a survey: by email (sent after commit by the worker) or as a link for the
    agent to share (Zalo/SMS). `actor=None` is the system (automation). The same survey and ticket again
    returns the first invitation (`replayed=True`). Without a ticket the consent rule applies (409
    `no_consent`)."""
    acting = actor if actor is not None else _system_user()
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None:
        raise NotFound(_("Survey not found."))
    customer, ticket = customer_and_ticket(acting, customer_id, ticket_id)
    require_action(acting, OBJECT_TYPE, Action.ADD)
    errors: dict[str, list[str]] = {}
    if channel not in (InvitationChannel.EMAIL, InvitationChannel.LINK):
        errors["channel"] = [_("Send by email or as a link.")]
    elif channel == InvitationChannel.EMAIL and not customer_emails(customer):
        errors["channel"] = [_("This customer has no email address: create a link to share instead.")]
    lang = _language_of(ticket, customer, explicit=language)
    if errors:
        raise ValidationFailed(errors)
    if not survey.active:
        raise Conflict("survey_inactive", _("This survey is not active."))
    if ticket is not None:
        existing = Invitation.objects.filter(survey=survey, ticket=ticket).first()
        if existing is not None:
            existing.replayed = True  # type: ignore[attr-defined]
            return existing
    elif not consent_allows(customer):
        raise Conflict(
            "no_consent",
            _("This customer has not agreed to care contacts; a survey without a ticket cannot be sent."),
        )
    invitation = _new_invitation(
        survey=survey, customer=customer, ticket=ticket, channel=channel, language=lang, now=timezone.now()
    )
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError:  # the same ticket invited concurrently
        existing = Invitation.objects.get(survey=survey, ticket=ticket)
        existing.replayed = True  # type: ignore[attr-defined]
        return existing
    audit_record(
        actor=acting,
        action=AuditAction.CREATE,
        obj=invitation,
        changes={
            "survey": survey.pk,
            "customer": customer.pk,
            "ticket": getattr(ticket, "pk", None),
            "channel": channel,
        },
    )
    if send and channel == InvitationChannel.EMAIL:
        from careline.surveys.tasks import invitation_send_task

        invitation_send_task.enqueue(invitation.pk)  # after commit (TASKS enqueue_on_commit)
    invitation.replayed = False  # type: ignore[attr-defined]
    return invitation


def _email_message(invitation: Invitation, address: str) -> EmailMultiAlternatives:
    survey = invitation.survey
    customer = invitation.customer
    with translation.override(invitation.language or "vi"):
        sender = parseaddr(str(settings.DEFAULT_FROM_EMAIL))[0] or "Careline"
        context = {
            "invitation": invitation,
            "survey": survey,
            "customer": customer,
            "greeting_name": customer.greeting_name if invitation.language == "vi" else customer.full_name,
            "question": question_of(survey),
            "scores": [
                {"score": n, "label": label, "url": invitation_url(invitation, score=n)}
                for n, label in score_choices(survey.kind)
            ],
            "page_url": invitation_url(invitation),
            "sender": sender,
            "ticket": invitation.ticket,
            "expires_at": invitation.expires_at,
            "language": invitation.language,
            "kind": survey.kind,
        }
        subject = " ".join(render_to_string("surveys/email/invitation_subject.txt", context).split())
        text = render_to_string("surveys/email/invitation.txt", context)
        html = render_to_string("surveys/email/invitation.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        headers={
            "Message-ID": make_msgid(domain=_mail_domain()),
            "Auto-Submitted": "auto-generated",
            "Content-Language": invitation.language or "vi",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def _mail_domain() -> str:
    address = parseaddr(str(settings.DEFAULT_FROM_EMAIL))[1]
    return address.rsplit("@", 1)[1] if "@" in address else "careline.local"


def _deliver(invitations: list[Invitation]) -> tuple[int, int]:
    """Send the emails of these invitations over one SMTP connection; record sent/failed on each (outside
    any transaction: the SMTP exchange must not hold row locks). Returns (sent, failed)."""
    sent = failed = 0
    if not invitations:
        return 0, 0
    connection = mailers.default
    try:
        connection.open()
    except Exception as exc:  # the server is down: every one of them failed, the next run may retry
        logger.warning("survey emails: cannot connect: %s", exc)
        Invitation.objects.filter(pk__in=[i.pk for i in invitations]).update(delivery_status="failed")
        for invitation in invitations:
            invitation.delivery_status = "failed"
        return 0, len(invitations)
    try:
        for invitation in invitations:
            addresses = customer_emails(invitation.customer)
            status = "failed"
            if addresses:
                try:
                    connection.send_messages([_email_message(invitation, addresses[0])])
                    status = "sent"
                except Exception as exc:  # recorded on the invitation, never raised
                    logger.warning("survey email %s failed: %s", invitation.pk, exc)
            now = timezone.now()
            fields: dict[str, Any] = {"delivery_status": status, "updated_at": now}
            if status == "sent":
                fields["sent_at"] = now
                sent += 1
            else:
                failed += 1
            Invitation.objects.filter(pk=invitation.pk).update(**fields)
            invitation.delivery_status = status
            invitation.sent_at = fields.get("sent_at", invitation.sent_at)
    finally:
        connection.close()
    return sent, failed


def invitation_send_email(invitation: Invitation, *, resend: bool = False) -> Invitation:
    """Email the invitation (plain text + HTML, in its language) with one link per score that records the
    score at once, then asks for the reason. Skips an invitation already sent (unless `resend`), answered
    or expired. Delivery problems are recorded (`delivery_status = failed`), never raised."""
    invitation = (
        Invitation.objects.select_related("survey", "customer", "ticket")
        .prefetch_related("customer__contact_points")
        .get(pk=invitation.pk)
    )
    if invitation.channel != InvitationChannel.EMAIL:
        return invitation
    if invitation.responded_at or (invitation.sent_at and not resend):
        return invitation
    if invitation.expires_at and invitation.expires_at <= timezone.now():
        return invitation
    _deliver([invitation])
    audit_record(
        actor=None,
        action=AuditAction.UPDATE,
        obj=invitation,
        actor_label="careline-system",
        changes={"delivery_status": {"before": "", "after": invitation.delivery_status}},
    )
    return invitation


def invitation_send(*, invitation_id: int) -> Invitation | None:
    """Task entry: send an email invitation by id (idempotent)."""
    invitation = Invitation.objects.filter(pk=invitation_id).first()
    return invitation_send_email(invitation) if invitation is not None else None


# --- automation: after a resolved ticket, on a schedule ------------------------------------------------------


def survey_send_for_ticket(*, ticket_id: int) -> Invitation | None:
    """When a ticket is resolved: invite its customer to the active "ticket resolved" survey — by email when
    the customer has an address, else as a link the assignee is told about (to share by Zalo/SMS). One
    invitation per ticket: nothing when the ticket already has one or an agent recorded an answer for it.
    Follow-up tickets opened by a survey (channel `survey`) are not surveyed again. Idempotent."""
    from careline.accounts.services import notification_send

    survey = survey_for_ticket_resolved()
    if survey is None:
        return None
    system = _system_user()
    try:
        ticket = _ticket_for(system, ticket_id)
    except NotFound:
        return None
    if ticket.channel == "survey":
        return None
    if (
        Invitation.objects.filter(ticket_id=ticket.pk).exists()
        or Response.objects.filter(ticket_id=ticket.pk).exists()
    ):
        return None
    customer = _customer_for(system, ticket.customer_id)
    channel = InvitationChannel.EMAIL if customer_emails(customer) else InvitationChannel.LINK
    invitation = invitation_create(
        actor=None,
        survey_id=survey.pk,
        customer_id=customer.pk,
        ticket_id=ticket.pk,
        channel=channel,
        send=False,
    )
    if getattr(invitation, "replayed", False):
        return invitation
    if channel == InvitationChannel.EMAIL:
        return invitation_send_email(invitation)
    if ticket.assignee_id:
        with translation.override(settings.LANGUAGE_CODE):
            notification_send(
                user=ticket.assignee,
                kind="survey_link",
                message=_(
                    "Ask %(customer)s for feedback on ticket #%(ticket)s: share the survey link by Zalo or SMS."
                )
                % {"customer": customer.full_name, "ticket": ticket.pk},
                url=reverse("surveys:invitation", args=[invitation.pk]),
            )
    return invitation


@dataclass
class SendReport:
    """What one scheduled survey's run did (or would do, in a dry run)."""

    survey_id: int
    name: str
    dry_run: bool
    eligible: int = 0  # matching the segment, not surveyed recently, consent given
    invited: int = 0
    emailed: int = 0
    failed: int = 0
    no_email: int = 0  # eligible but without an email address: not invited
    left_for_next_run: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _due_customers(survey: Survey, now: dt.datetime) -> QuerySet[Any]:
    from careline.customers.models import ContactPoint

    since = now - dt.timedelta(days=survey.every_days or 36500)
    recent = Invitation.objects.filter(survey=survey, customer_id=OuterRef("pk"), created_at__gte=since)
    email = ContactPoint.objects.filter(customer_id=OuterRef("pk"), kind="email")
    qs = segment_customers(survey.segment or {})
    qs = _with_consent(qs.filter(~Exists(recent)))
    return qs.annotate(_has_email=Exists(email)).order_by("pk")


def surveys_send_due(
    *,
    survey_id: int | None = None,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    batch_size: int = BATCH_SIZE,
    max_per_run: int = MAX_PER_RUN,
) -> list[SendReport]:
    """Scheduled surveys (trigger `schedule`, active): invite by email every customer of the survey's segment
    who has an email address, whose consent allows it (module docstring) and who was not invited to this
    survey in the last `every_days` days. Works in batches (one transaction and one SMTP connection each) and
    at most `max_per_run` per survey (the rest go out on the next run). `dry_run` only counts."""
    now = now or timezone.now()
    surveys = Survey.objects.filter(trigger=Trigger.SCHEDULE, active=True)
    if survey_id is not None:
        survey = Survey.objects.filter(pk=survey_id).first()
        if survey is None:
            raise NotFound(_("Survey not found."))
        if survey.trigger != Trigger.SCHEDULE or not survey.active:
            raise ValidationFailed({"survey": [_("Only an active scheduled survey is sent this way.")]})
        surveys = Survey.objects.filter(pk=survey_id)
    reports: list[SendReport] = []
    for survey in surveys.order_by("id"):
        reports.append(
            _send_survey(survey, now=now, dry_run=dry_run, batch_size=batch_size, max_per_run=max_per_run)
        )
    return reports


def _send_survey(
    survey: Survey, *, now: dt.datetime, dry_run: bool, batch_size: int, max_per_run: int
) -> SendReport:
    report = SendReport(survey_id=survey.pk, name=survey.name, dry_run=dry_run)
    due = _due_customers(survey, now)
    counts = due.order_by().aggregate(eligible=Count("pk"), with_email=Count("pk", filter=Q(_has_email=True)))
    report.eligible = counts["eligible"]
    with_email = counts["with_email"]
    report.no_email = report.eligible - with_email
    report.left_for_next_run = max(0, with_email - max_per_run)
    if dry_run:
        report.invited = min(with_email, max_per_run)
        return report
    ids = list(due.filter(_has_email=True).values_list("pk", flat=True)[:max_per_run])
    for start in range(0, len(ids), batch_size):
        batch = _invite_batch(survey, ids[start : start + batch_size], now=timezone.now())
        report.invited += len(batch)
        sent, failed = _deliver(batch)
        report.emailed += sent
        report.failed += failed
    Survey.objects.filter(pk=survey.pk).update(last_sent_at=now, updated_at=timezone.now())
    return report


@transaction.atomic
def _invite_batch(survey: Survey, customer_ids: list[int], *, now: dt.datetime) -> list[Invitation]:
    from careline.customers.models import Customer

    customers = Customer.objects.filter(pk__in=customer_ids).prefetch_related("contact_points").order_by("pk")
    since = now - dt.timedelta(days=survey.every_days or 36500)
    already = set(
        Invitation.objects.filter(
            survey=survey, customer_id__in=customer_ids, created_at__gte=since
        ).values_list("customer_id", flat=True)
    )  # a concurrent run got there first
    invitations = [
        _new_invitation(
            survey=survey,
            customer=c,
            ticket=None,
            channel=InvitationChannel.EMAIL,
            language=_language_of(c),
            now=now,
        )
        for c in customers
        if c.pk not in already
    ]
    created = Invitation.objects.bulk_create(invitations)
    by_customer = {c.pk: c for c in customers}
    for invitation in created:
        invitation.customer = by_customer[invitation.customer_id]
    audit_record(
        actor=None,
        actor_label="careline-system",
        action=AuditAction.CREATE,
        object_type="surveys.invitation",
        object_repr=f"{survey.name}: {len(created)}",
        changes={"survey": survey.pk, "invitations": [i.pk for i in created], "scheduled": True},
    )
    return list(created)


# --- responses ----------------------------------------------------------------------------------------------


def _clean_score(kind: str, score: Any, *, required: bool) -> int | None:
    if score in (None, ""):
        if required:
            raise ValidationFailed({"score": [_("Choose a score.")]})
        return None
    try:
        value = int(score)
    except (TypeError, ValueError):
        value = -999
    if isinstance(score, float) and not float(score).is_integer():
        value = -999
    low, high = SCORE_RANGES[kind]
    if not low <= value <= high:
        raise ValidationFailed(
            {"score": [_("The score must be between %(low)d and %(high)d.") % {"low": low, "high": high}]}
        )
    return value


def _clean_answers(survey: Survey, answers: Any) -> dict[str, Any]:
    if answers in (None, ""):
        answers = {}
    if not isinstance(answers, Mapping):
        raise ValidationFailed({"answers": [_("Give the answers as a set of question → answer.")]})
    if survey.kind != SurveyKind.CUSTOM:
        if answers:
            raise ValidationFailed({"answers": [_("This survey has no extra questions.")]})
        return {}
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    known = {q["key"]: q for q in survey.questions or []}
    for key in answers:
        if key not in known:
            errors[f"answers.{key}"] = [_("Unknown question.")]
    for key, question in known.items():
        value = answers.get(key)
        if value in (None, ""):
            if question.get("required"):
                errors[f"answers.{key}"] = [_("Please answer this question.")]
            continue
        if question["type"] == "text":
            text = nfc(str(value)).strip()
            if len(text) > REASON_MAX:
                errors[f"answers.{key}"] = [_("At most %(n)d characters.") % {"n": REASON_MAX}]
            out[key] = text[:REASON_MAX]
        elif question["type"] == "choice":
            if str(value) not in question.get("options", []):
                errors[f"answers.{key}"] = [_("Choose one of the options.")]
            out[key] = str(value)
        else:
            try:
                number = int(value)
            except (TypeError, ValueError):
                number = -999
            if not question.get("min", 0) <= number <= question.get("max", 10):
                errors[f"answers.{key}"] = [_("Choose a number on the scale.")]
            out[key] = number
    if errors:
        raise ValidationFailed(errors)
    return out


def _clean_reason(reason: Any) -> str:
    text = nfc(str(reason or "")).strip()
    if len(text) > REASON_MAX:
        raise ValidationFailed({"reason": [_("At most %(n)d characters.") % {"n": REASON_MAX}]})
    return text


def _response_snapshot(response: Response) -> dict[str, Any]:
    return {"score": response.score, "reason": response.reason, "answers": response.answers}


@transaction.atomic
def response_record(
    *,
    token: str | None = None,
    invitation: Invitation | None = None,
    score: Any = None,
    reason: Any = None,
    answers: Any = None,
    now: dt.datetime | None = None,
) -> Response:
    """The customer's answer through the public link (the token is the credential; no actor).

    The first answer creates the response (tied to the invitation's customer, ticket, agent, team, branch
    and the ticket's category); answering again within 7 days of the first answer updates it (the score, and
    the reason/answers when given). 404 `not_found` for an unknown token, 410 `invitation_expired` for an
    unanswered invitation past its expiry, 410 `answer_closed` for a change after 7 days. A detractor
    (NPS 0–6, CSAT ≤ 2) opens one follow-up ticket."""
    now = now or timezone.now()
    key = token if token is not None else (invitation.token if invitation is not None else "")
    locked = (
        Invitation.objects.select_for_update().filter(token=key).first() if key and len(key) <= 64 else None
    )
    if locked is None:
        raise NotFound(_("This survey link is not valid."))
    survey = locked.survey
    existing = Response.objects.select_for_update().filter(invitation=locked).first()
    if existing is None and locked.expires_at and locked.expires_at <= now:
        raise ApplicationError(
            "invitation_expired", _("This survey has closed. Thank you all the same!"), status=410
        )
    if existing is not None and now - existing.created_at > EDIT_WINDOW:
        raise ApplicationError("answer_closed", _("You already answered this survey. Thank you!"), status=410)
    clean_score = _clean_score(
        survey.kind, score, required=existing is None and survey.kind != SurveyKind.CUSTOM
    )
    clean_answers = _clean_answers(survey, answers) if answers is not None else None
    clean_reason = _clean_reason(reason) if reason is not None else None
    if existing is None:
        if survey.kind == SurveyKind.CUSTOM and clean_answers is None:
            clean_answers = _clean_answers(survey, {})  # required questions must be answered
        ticket = locked.ticket
        response = Response(
            survey=survey,
            invitation=locked,
            customer_id=locked.customer_id,
            ticket_id=locked.ticket_id,
            agent_id=locked.agent_id,
            team_id=locked.team_id,
            branch_id=locked.branch_id,
            category_id=getattr(ticket, "category_id", None),
            kind=survey.kind,
            score=clean_score,
            reason=clean_reason or "",
            answers=clean_answers or {},
            channel=locked.channel,
        )
        response.full_clean(exclude=["survey", "invitation", "customer", "ticket", "category"])
        response.save()
        Invitation.objects.filter(pk=locked.pk).update(responded_at=now, updated_at=now)
        audit_record(
            actor=None,
            actor_label=f"survey link #{locked.pk}",
            action=AuditAction.CREATE,
            obj=response,
            changes=_response_snapshot(response),
        )
        response.created = True  # type: ignore[attr-defined]
    else:
        response = existing
        before = _response_snapshot(response)
        if clean_score is not None:
            response.score = clean_score
        if clean_reason is not None:
            response.reason = clean_reason
        if clean_answers is not None:
            response.answers = clean_answers
        response.full_clean(exclude=["survey", "invitation", "customer", "ticket", "category"])
        response.save()
        changes = diff(before, _response_snapshot(response))
        if changes:
            audit_record(
                actor=None,
                actor_label=f"survey link #{locked.pk}",
                action=AuditAction.UPDATE,
                obj=response,
                changes=changes,
            )
        response.created = False  # type: ignore[attr-defined]
    _follow_up_if_detractor(response)
    return response


@transaction.atomic
def response_record_by_agent(
    *,
    actor: Any,
    customer_id: int | None,
    ticket_id: int | None = None,
    survey_id: int,
    score: Any,
    reason: Any = "",
    answers: Any = None,
) -> Response:
    """An agent records the customer's answer given on the phone (needs `survey.add`; the customer — or,
    with a ticket, the ticket — must be visible to them). With a ticket the answer belongs to the ticket's
    assignee/team/category, and a second recording for the same survey and ticket (or a link the customer
    already answered) updates that answer instead of adding one."""
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None:
        raise NotFound(_("Survey not found."))
    customer, ticket = customer_and_ticket(actor, customer_id, ticket_id)
    require_action(actor, OBJECT_TYPE, Action.ADD)
    if not survey.active:
        raise Conflict("survey_inactive", _("This survey is not active."))
    clean_score = _clean_score(survey.kind, score, required=survey.kind != SurveyKind.CUSTOM)
    clean_reason = _clean_reason(reason)
    clean_answers = _clean_answers(survey, answers)
    existing = None
    invitation = None
    if ticket is not None:
        existing = (
            Response.objects.select_for_update().filter(survey=survey, ticket=ticket).order_by("id").first()
        )
        invitation = Invitation.objects.filter(survey=survey, ticket=ticket, response__isnull=True).first()
    if existing is not None:
        before = _response_snapshot(existing)
        existing.score, existing.reason, existing.answers = clean_score, clean_reason, clean_answers
        existing.recorded_by = actor
        existing.full_clean(exclude=["survey", "invitation", "customer", "ticket", "category"])
        existing.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=existing,
            changes=diff(before, _response_snapshot(existing)),
        )
        existing.created = False  # type: ignore[attr-defined]
        _follow_up_if_detractor(existing)
        return existing
    ties = _ties(customer=customer, ticket=ticket, agent=actor)
    response = Response(
        survey=survey,
        invitation=invitation,
        customer=customer,
        ticket=ticket,
        category_id=getattr(ticket, "category_id", None),
        kind=survey.kind,
        score=clean_score,
        reason=clean_reason,
        answers=clean_answers,
        channel=InvitationChannel.AGENT,
        recorded_by=actor,
        **ties,
    )
    response.full_clean(exclude=["survey", "invitation", "customer", "ticket", "category"])
    response.save()
    if invitation is not None:
        Invitation.objects.filter(pk=invitation.pk).update(responded_at=timezone.now())
    audit_record(actor=actor, action=AuditAction.CREATE, obj=response, changes=_response_snapshot(response))
    response.created = True  # type: ignore[attr-defined]
    _follow_up_if_detractor(response)
    return response


# --- detractors -----------------------------------------------------------------------------------------------


def care_head_team_id() -> int | None:
    """The team of the head of customer care (the first active user with that role and a team)."""
    from careline.accounts.choices import RoleCode
    from careline.accounts.models import User

    return (
        User.objects.filter(is_active=True, role__code=RoleCode.CARE_HEAD, team__isnull=False)
        .order_by("id")
        .values_list("team_id", flat=True)
        .first()
    )


def _follow_up_if_detractor(response: Response) -> None:
    """Inside the answer's transaction: open the follow-up ticket in a savepoint, so that a problem on the
    helpdesk side never loses the customer's answer (the daily run retries: `responses_follow_up_missing`)."""
    if response.follow_up_ticket_id or not is_detractor(response.kind, response.score):
        return
    try:
        with transaction.atomic():
            response_follow_up(response_id=response.pk)
    except Exception:
        logger.exception("survey response %s: the follow-up ticket could not be opened", response.pk)
    response.refresh_from_db(fields=["follow_up_ticket"])


@transaction.atomic
def response_follow_up(*, response_id: int) -> Any | None:
    """Open the follow-up ticket of a detractor's answer (NPS 0–6, CSAT ≤ 2) for the head of care's team:
    a high-priority complaint on channel `survey` whose message is the score and the reason. Idempotent: an
    answer gets at most one (the link on the response, and the helpdesk's (channel, external_id) de-dupe)."""
    from careline.helpdesk.services import TicketData, ticket_create

    response = (
        Response.objects.select_for_update(of=("self",))
        .select_related("survey", "customer", "ticket")
        .filter(pk=response_id)
        .first()
    )
    if response is None:
        return None
    if response.follow_up_ticket_id:
        return response.follow_up_ticket
    if not is_detractor(response.kind, response.score):
        return None
    low, high = SCORE_RANGES[response.kind]
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Unhappy customer: %(kind)s %(score)s/%(high)s — %(customer)s") % {
            "kind": response.get_kind_display(),
            "score": response.score,
            "high": high,
            "customer": response.customer.full_name,
        }
        lines = [
            _("Survey: %(name)s") % {"name": response.survey.name},
            _("Score: %(score)s (from %(low)s to %(high)s)")
            % {"score": response.score, "low": low, "high": high},
            _("Reason: %(reason)s") % {"reason": response.reason or "—"},
        ]
        if response.ticket is not None:
            lines.append(
                _("About ticket #%(id)s: %(subject)s")
                % {"id": response.ticket_id, "subject": response.ticket.subject}
            )
    ticket = ticket_create(
        actor=None,
        data=TicketData(
            channel="survey",
            kind="complaint",
            customer_id=response.customer_id,
            subject=subject[:250],
            message="\n".join(lines),
            team_id=care_head_team_id(),
            priority="high",
            external_id=f"survey-response-{response.pk}",
            related_ref=f"#{response.ticket_id}" if response.ticket_id else "",
        ),
    )
    response.follow_up_ticket = ticket
    response.save(update_fields=["follow_up_ticket", "updated_at"])
    audit_record(
        actor=None,
        actor_label="careline-system",
        action=AuditAction.UPDATE,
        obj=response,
        changes={"follow_up_ticket": {"before": None, "after": ticket.pk}},
    )
    return ticket


def responses_follow_up_missing(*, days: int = 30) -> int:
    """Retry the follow-up tickets that could not be opened (recent detractors without one). Returns how many
    were opened."""
    since = timezone.now() - dt.timedelta(days=days)
    opened = 0
    candidates = Response.objects.filter(
        follow_up_ticket__isnull=True, created_at__gte=since, score__isnull=False
    ).values_list("pk", "kind", "score")
    for pk, kind, score in candidates:
        if is_detractor(kind, score):
            try:
                if response_follow_up(response_id=pk) is not None:
                    opened += 1
            except Exception:
                logger.exception("survey response %s: the follow-up ticket could not be opened", pk)
    return opened


@dataclass
class DailyRun:
    reports: list[SendReport] = field(default_factory=list)
    follow_ups: int = 0


def surveys_daily(*, now: dt.datetime | None = None) -> DailyRun:
    """The worker's daily job: scheduled surveys, then follow-up tickets that failed before."""
    return DailyRun(reports=surveys_send_due(now=now), follow_ups=responses_follow_up_missing())


def invitations_of(ids: Iterable[int]) -> list[Invitation]:
    return list(Invitation.objects.filter(pk__in=list(ids)).order_by("pk"))
