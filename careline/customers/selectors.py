"""Every read of customers, scoped to what the actor may see (ARCHITECTURE §1, §4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from careline.core.errors import ApplicationError, NotFound
from careline.core.pagination import paginate
from careline.core.visibility import Action, ScopeFields, require_action, restrict
from careline.customers.choices import ConsentPurpose, ContactKind, Stage
from careline.customers.models import Consent, ContactPoint, Customer, Note
from careline.customers.search import ParsedQuery, parse_query
from careline.vn import fold

OBJECT_TYPE = "customer"
SCOPE_FIELDS = ScopeFields(owner="owner", team="team", branch="branch")

SORTS: dict[str, list[str]] = {
    "name": ["given_folded", "name_folded", "id"],
    "-name": ["-given_folded", "-name_folded", "-id"],
    "created": ["created_at", "id"],
    "-created": ["-created_at", "-id"],
    "-updated": ["-updated_at", "-id"],
}
DEFAULT_SORT = "name"
MAX_LIMIT = 100


@dataclass(frozen=True)
class CustomerFilters:
    """List filters shared by the web list, the API and the CLI."""

    q: str = ""
    stage: str = ""
    owner: str = ""  # a user id, "me" or "none"
    team: int | None = None
    branch: int | None = None
    tag: str = ""
    province: str = ""
    source: str = ""
    archived: bool = False


def customer_visible(*, actor: Any, include_archived: bool = True) -> QuerySet[Customer]:
    """All customers the actor may see (the single place scope is applied for customers)."""
    qs = restrict(Customer.objects.all(), actor=actor, object_type=OBJECT_TYPE, fields=SCOPE_FIELDS)
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    return qs


def _with_related(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    return qs.select_related("owner", "team", "branch", "organization").prefetch_related(
        Prefetch("contact_points", queryset=ContactPoint.objects.order_by("kind", "position", "id")),
        "tags",
    )


def customer_get(*, actor: Any, customer_id: int) -> Customer:
    """One customer the actor may see, with its contact points and tags; NotFound otherwise."""
    customer = _with_related(customer_visible(actor=actor)).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Customer not found."))
    return customer


def _apply_filters(qs: QuerySet[Customer], *, actor: Any, filters: CustomerFilters) -> QuerySet[Customer]:
    qs = qs.filter(archived_at__isnull=not filters.archived)
    if filters.stage:
        if filters.stage not in Stage.values:
            raise ApplicationError("invalid_filter", f"Unknown stage {filters.stage!r}.", {"field": "stage"})
        qs = qs.filter(stage=filters.stage)
    if filters.owner:
        if filters.owner == "me":
            qs = qs.filter(owner_id=actor.pk)
        elif filters.owner == "none":
            qs = qs.filter(owner__isnull=True)
        elif str(filters.owner).isdigit():
            qs = qs.filter(owner_id=int(filters.owner))
        else:
            raise ApplicationError(
                "invalid_filter", "owner must be a user id, 'me' or 'none'.", {"field": "owner"}
            )
    if filters.team:
        qs = qs.filter(team_id=filters.team)
    if filters.branch:
        qs = qs.filter(branch_id=filters.branch)
    if filters.tag:
        qs = qs.filter(tags__name_folded=fold(filters.tag))
    if filters.province:
        qs = qs.filter(province=filters.province)
    if filters.source:
        qs = qs.filter(source=filters.source)
    return qs


def _exact_ids(parsed: ParsedQuery, visible: QuerySet[Customer]) -> list[int]:
    if not (parsed.exact_phones or parsed.exact_emails):
        return []
    cond = Q(pk__in=[])
    if parsed.exact_phones:
        cond |= Q(kind=ContactKind.PHONE, value__in=parsed.exact_phones)
    if parsed.exact_emails:
        cond |= Q(kind=ContactKind.EMAIL, value__in=parsed.exact_emails)
    ids = ContactPoint.objects.filter(cond).values_list("customer_id", flat=True)[:50]
    return list(visible.filter(pk__in=list(ids)).values_list("pk", flat=True))


def customer_search_queryset(
    *, actor: Any, filters: CustomerFilters, visible: QuerySet[Customer] | None = None
) -> tuple[QuerySet[Customer], list[str]]:
    """The filtered, ranked queryset and its ordering. Ranking (lower first): exact phone/email/tax code,
    full name equal to the query, given name equal to the last word, name starting with the query, others.
    """
    base = visible if visible is not None else customer_visible(actor=actor)
    qs = _apply_filters(base, actor=actor, filters=filters)
    parsed = parse_query(filters.q)
    if parsed.kind == "empty":
        return qs, []
    exact_ids = _exact_ids(parsed, base)
    match = Q()
    for piece in parsed.contains:
        match &= Q(search_text__contains=piece)
    qs = qs.filter(match | Q(pk__in=exact_ids)) if exact_ids else qs.filter(match)
    whens = []
    if exact_ids:
        whens.append(When(pk__in=exact_ids, then=Value(0)))
    if parsed.kind == "name":
        whens.append(When(name_folded=parsed.text, then=Value(1)))
        whens.append(When(given_folded=parsed.tokens[-1], then=Value(2)))
        whens.append(When(name_folded__startswith=parsed.text, then=Value(3)))
    elif parsed.kind == "phone" and len(parsed.text) >= 4:
        whens.append(When(tax_code=parsed.text, then=Value(0)))
    qs = qs.annotate(rank=Case(*whens, default=Value(4), output_field=IntegerField()))
    return qs, ["rank"]


def customer_list(
    *,
    actor: Any,
    filters: CustomerFilters | None = None,
    sort: str = "",
    cursor: str | None = None,
    limit: int = 25,
) -> tuple[list[Customer], str | None]:
    """One page of customers visible to the actor, searched, filtered and sorted; plus the next cursor."""
    filters = filters or CustomerFilters()
    require_action(actor, OBJECT_TYPE, Action.VIEW)  # a role without customers gets 403, not an empty list
    if limit < 1 or limit > MAX_LIMIT:
        raise ApplicationError(
            "invalid_limit", f"limit must be between 1 and {MAX_LIMIT}.", {"field": "limit"}
        )
    if sort and sort not in SORTS:
        raise ApplicationError(
            "invalid_sort", f"Unknown sort {sort!r}. Use one of: {', '.join(SORTS)}.", {"field": "sort"}
        )
    qs, rank_ordering = customer_search_queryset(actor=actor, filters=filters)
    ordering = rank_ordering + SORTS[sort or DEFAULT_SORT]
    return paginate(_with_related(qs), ordering=ordering, cursor=cursor, limit=limit)


def customer_stage_counts(*, actor: Any) -> dict[str, int]:
    """Active customers per stage (for the home page)."""
    from django.db.models import Count

    counts = {s: 0 for s in Stage.values}
    rows = customer_visible(actor=actor, include_archived=False).values("stage").annotate(n=Count("id"))
    for row in rows.order_by():
        counts[row["stage"]] = row["n"]
    return counts


def customer_duplicates_of(
    *,
    actor: Any,
    phones: list[str],
    emails: list[str],
    tax_code: str,
    exclude_id: int | None = None,
) -> list[tuple[str, str, Customer]]:
    """Visible customers already holding one of these phones/emails/tax code: (field, value, customer)."""
    visible = customer_visible(actor=actor)
    if exclude_id:
        visible = visible.exclude(pk=exclude_id)
    found: list[tuple[str, str, Customer]] = []
    if phones or emails:
        cond = Q(pk__in=[])
        if phones:
            cond |= Q(kind=ContactKind.PHONE, value__in=phones)
        if emails:
            cond |= Q(kind=ContactKind.EMAIL, value__in=emails)
        points = ContactPoint.objects.filter(cond, customer__in=visible).select_related("customer")
        for p in points.order_by("customer_id", "id"):
            found.append(("phones" if p.kind == ContactKind.PHONE else "emails", p.value, p.customer))
    if tax_code:
        for c in visible.filter(tax_code=tax_code).order_by("id")[:5]:
            found.append(("tax_code", tax_code, c))
    return found


def customer_consent_state(*, customer: Customer) -> dict[str, Consent | None]:
    """The latest consent decision per purpose (None = never asked: treat as no consent)."""
    state: dict[str, Consent | None] = {p: None for p in ConsentPurpose.values}
    for consent in customer.consents.select_related("recorded_by").order_by("purpose", "-given_at", "-id"):
        if state.get(consent.purpose) is None:
            state[consent.purpose] = consent
    return state


def customer_notes(*, customer: Customer) -> QuerySet[Note]:
    return customer.notes.select_related("author").order_by("-created_at", "-id")


def customer_history(*, actor: Any, customer: Customer) -> QuerySet[Any]:
    """Audit events of this customer (the History tab)."""
    from careline.core.audit import audit_events_for

    return audit_events_for(object_type="customers.customer", object_ids=[customer.pk])
