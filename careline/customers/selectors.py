"""Every read of customers, scoped to what the actor may see (ARCHITECTURE §1, §4)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, IntegerField, Min, Prefetch, Q, QuerySet, Subquery, Value, When
from django.utils.translation import gettext as _

from careline.core.errors import ApplicationError, NotFound
from careline.core.pagination import paginate
from careline.core.visibility import Action, ScopeFields, require_action, restrict
from careline.customers.choices import ConsentPurpose, ContactKind, Stage
from careline.customers.models import Consent, ContactPoint, Customer, Note, Tag
from careline.customers.search import ParsedQuery, parse_query
from careline.vn import fold, format_phone

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

    @classmethod
    def from_data(cls, data: Any) -> CustomerFilters:
        """Filters from a form's cleaned_data, a query schema or CLI options (unknown keys ignored)."""
        get = data.get if isinstance(data, dict) else lambda key, default=None: getattr(data, key, default)
        values = {name: get(name, None) for name in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in values.items() if v is not None})


def customer_visible(*, actor: Any, include_archived: bool = True) -> QuerySet[Customer]:
    """All customers the actor may see (the single place scope is applied for customers)."""
    qs = restrict(Customer.objects.all(), actor=actor, object_type=OBJECT_TYPE, fields=SCOPE_FIELDS)
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    return qs


def _with_related(
    qs: QuerySet[Customer], related: tuple[str, ...] = ("owner", "team", "branch", "organization")
) -> QuerySet[Customer]:
    qs = qs.select_related(*related) if related else qs
    return qs.prefetch_related(
        Prefetch("contact_points", queryset=ContactPoint.objects.order_by("kind", "position", "id")),
        "tags",
    )


def attach_contacts_and_tags(customers: list[Customer]) -> list[Customer]:
    """Load the contact points and tags of a page of customers in ONE query (instead of two prefetches)
    and install them as Django's prefetch cache, so `customer.contact_points.all()` / `.tags.all()` need
    no query. Every list request pays this once; a round trip saved is ~1 ms at c=1."""
    if not customers:
        return customers
    from django.db import connection

    ids = [c.pk for c in customers]
    cp = ContactPoint._meta.db_table
    through = Customer.tags.through._meta.db_table
    tag = Tag._meta.db_table
    marks = ", ".join(["%s"] * len(ids))
    sql = (
        f"SELECT 0 AS k, customer_id, id, kind, value, label, position FROM {cp} WHERE customer_id IN ({marks})"
        f" UNION ALL SELECT 1, ct.customer_id, t.id, '', t.name, t.name_folded, 0 FROM {through} ct"
        f" JOIN {tag} t ON t.id = ct.tag_id WHERE ct.customer_id IN ({marks})"
    )
    points: dict[int, list[ContactPoint]] = {i: [] for i in ids}
    tags: dict[int, list[Tag]] = {i: [] for i in ids}
    with connection.cursor() as cur:
        cur.execute(sql, ids + ids)
        for k, customer_id, row_id, kind, value, label, position in cur.fetchall():
            if k == 0:
                points[customer_id].append(
                    ContactPoint(
                        id=row_id,
                        customer_id=customer_id,
                        kind=kind,
                        value=value,
                        label=label,
                        position=position,
                    )
                )
            else:
                tags[customer_id].append(Tag(id=row_id, name=value, name_folded=label))
    for c in customers:
        cache = c.__dict__.setdefault("_prefetched_objects_cache", {})
        cps = sorted(points[c.pk], key=lambda p: (p.kind, p.position, p.pk))
        for p in cps:
            p.customer = c  # no query when a caller walks back to the customer
        cache["contact_points"] = _cached_queryset(ContactPoint.objects.all(), cps)
        cache["tags"] = _cached_queryset(
            Tag.objects.all(), sorted(tags[c.pk], key=lambda t: (t.name_folded, t.pk))
        )
    return customers


def _cached_queryset(qs: QuerySet[Any], rows: list[Any]) -> QuerySet[Any]:
    qs._result_cache = rows  # what Django's own prefetch_related stores
    qs._prefetch_done = True  # type: ignore[attr-defined]
    return qs


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
    related: tuple[str, ...] = ("owner",),
) -> tuple[list[Customer], str | None]:
    """One page of customers visible to the actor, searched, filtered and sorted; plus the next cursor.

    `related`: foreign keys to join (the web list shows the owner; the API needs none — every join costs
    PostgreSQL work on every matching row before the sort)."""
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
    qs = qs.select_related(*related) if related else qs
    items, next_cursor = paginate(qs, ordering=ordering, cursor=cursor, limit=limit)
    return attach_contacts_and_tags(items), next_cursor


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
    """Audit events of this customer and of the cards merged into it (the History tab), newest first."""
    from careline.core.audit import audit_events_for

    merged = Customer.objects.filter(
        Q(merged_into_id=customer.pk) | Q(merged_into__merged_into_id=customer.pk)
    ).values_list("pk", flat=True)
    return audit_events_for(object_type="customers.customer", object_ids=[customer.pk, *merged]).order_by(
        "-created_at", "-id"
    )


# --- duplicates ---------------------------------------------------------------------------------------

DUPLICATE_KINDS = ("all", "exact", "likely")
DUPLICATES_MAX_LIMIT = 500
# Likely duplicates are blocked by (folded name, province) in SQL; at most this many candidate customers
# are scored per call, so the page stays fast on a big database (the blocks with the oldest customers).
LIKELY_CANDIDATE_CAP = 20_000
PHONE_SIMILARITY = 0.8  # normalised Levenshtein similarity of national digits: one typo in 10 digits = 0.9
EMAIL_SIMILARITY = 85  # rapidfuzz fuzz.ratio of the local parts (before @)
BIRTHDAY_SCORE = 0.95  # same name, province and birthday, nothing else in common
LIKELY_MAX_SCORE = 0.99  # a likely duplicate is never as certain as a shared phone/email/tax code


@dataclass
class DuplicateGroup:
    """Customers that look like the same person or organisation, and why."""

    key: str  # stable id of the group: "phone:+84912345678", "email:…", "tax_code:…", "likely:…"
    reason: str  # human readable, translated
    score: float  # 1.0 for exact keys; 0–1 for likely ones
    kind: str  # "exact" | "likely"
    customers: list[Customer] = field(default_factory=list)  # loaded with owner, contact points, tags
    customer_ids: list[int] = field(default_factory=list)  # ascending
    _reason_parts: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def sort_key(self) -> tuple[float, int, int, str]:
        return (-self.score, 0 if self.kind == "exact" else 1, self.customer_ids[0], self.key)


def _national_digits(e164: str) -> str:
    return "0" + e164[3:] if e164.startswith("+84") else "".join(ch for ch in e164 if ch.isdigit())


def _exact_groups(visible: QuerySet[Customer], *, fetch: int) -> list[DuplicateGroup]:
    """Groups of customers sharing a phone, an email or a tax code (members filled in by the caller).

    Two GROUP BY … HAVING queries plus one to list the members of the contact-point groups.
    """
    groups: list[DuplicateGroup] = []
    shared = list(
        ContactPoint.objects.filter(customer__in=visible)
        .values("kind", "value")
        .annotate(n=Count("customer_id", distinct=True), first=Min("customer_id"))
        .filter(n__gt=1)
        .order_by("first", "-kind", "value")[:fetch]
    )
    if shared:
        wanted = {(row["kind"], row["value"]) for row in shared}
        members: dict[tuple[str, str], set[int]] = defaultdict(set)
        points = ContactPoint.objects.filter(
            customer__in=visible, value__in=sorted({v for _k, v in wanted})
        ).values_list("kind", "value", "customer_id")
        for kind, value, customer_id in points:
            if (kind, value) in wanted:
                members[(kind, value)].add(customer_id)
        for row in shared:
            kind, value = row["kind"], row["value"]
            if kind == ContactKind.PHONE:
                reason = _("Same phone %(value)s") % {"value": format_phone(value)}
            else:
                reason = _("Same email %(value)s") % {"value": value}
            ids = sorted(members[(kind, value)])
            groups.append(
                DuplicateGroup(
                    key=f"{kind}:{value}", reason=reason, score=1.0, kind="exact", customer_ids=ids
                )
            )
    taxes = list(
        visible.exclude(tax_code="")
        .values("tax_code")
        .annotate(n=Count("id"), first=Min("id"))
        .filter(n__gt=1)
        .order_by("first", "tax_code")[:fetch]
    )
    if taxes:
        by_tax: dict[str, list[int]] = defaultdict(list)
        rows = visible.filter(tax_code__in=[t["tax_code"] for t in taxes]).values_list("tax_code", "pk")
        for tax_code, pk in rows.order_by("pk"):
            by_tax[tax_code].append(pk)
        for t in taxes:
            groups.append(
                DuplicateGroup(
                    key=f"tax_code:{t['tax_code']}",
                    reason=_("Same tax code %(value)s") % {"value": t["tax_code"]},
                    score=1.0,
                    kind="exact",
                    customer_ids=by_tax[t["tax_code"]],
                )
            )
    # The same customers sharing both a phone and an email are one group with both reasons.
    merged: dict[tuple[int, ...], DuplicateGroup] = {}
    for group in groups:
        same = tuple(group.customer_ids)
        if same in merged:
            first = merged[same]
            first.reason = f"{first.reason}; {group.reason[:1].lower()}{group.reason[1:]}"
        else:
            merged[same] = group
    return list(merged.values())


def _likely_reason(parts: tuple[str, ...]) -> str:
    what, a, b = parts
    if what == "phone":
        return _("Same name and province, similar phone %(a)s / %(b)s") % {
            "a": format_phone(a),
            "b": format_phone(b),
        }
    if what == "email":
        return _("Same name and province, similar email %(a)s / %(b)s") % {"a": a, "b": b}
    return _("Same name, province and birthday %(date)s") % {"date": a}


@dataclass
class _Candidate:
    pk: int
    birthday: Any
    tax_code: str
    contacts: set[tuple[str, str]] = field(default_factory=set)


def _score_block(members: list[_Candidate]) -> dict[tuple[int, int], tuple[float, tuple[str, ...]]]:
    """Best similarity of every matching pair (by index in `members`) of one (name, province) block.

    rapidfuzz compares each phone (national digits) and each email local part with all of the block's at C
    speed; pairs already sharing a phone, an email or a tax code are left out (they are exact duplicates).
    """
    from rapidfuzz import fuzz, process
    from rapidfuzz.distance import Levenshtein

    best: dict[tuple[int, int], tuple[float, tuple[str, ...]]] = {}

    def offer(i: int, j: int, score: float, parts: tuple[str, ...]) -> None:
        if i == j:
            return
        if i > j:
            i, j = j, i
            parts = (parts[0], parts[2], parts[1])
        a, b = members[i], members[j]
        if (a.tax_code and a.tax_code == b.tax_code) or a.contacts & b.contacts:
            return
        if (i, j) not in best or score > best[(i, j)][0]:
            best[(i, j)] = (score, parts)

    phones = [(i, v) for i, m in enumerate(members) for k, v in sorted(m.contacts) if k == ContactKind.PHONE]
    emails = [(i, v) for i, m in enumerate(members) for k, v in sorted(m.contacts) if k == ContactKind.EMAIL]
    if len(phones) > 1:
        digits = [_national_digits(v) for _i, v in phones]
        for q, (i, value) in enumerate(phones):
            matches = process.extract(
                digits[q],
                digits,
                scorer=Levenshtein.normalized_similarity,
                score_cutoff=PHONE_SIMILARITY,
                limit=None,
            )
            for _choice, score, c in matches:
                if c > q:
                    offer(i, phones[c][0], float(score), ("phone", value, phones[c][1]))
    if len(emails) > 1:
        locals_ = [v.split("@", 1)[0] for _i, v in emails]
        for q, (i, value) in enumerate(emails):
            matches = process.extract(
                locals_[q], locals_, scorer=fuzz.ratio, score_cutoff=EMAIL_SIMILARITY, limit=None
            )
            for _choice, score, c in matches:
                if c > q:
                    offer(i, emails[c][0], float(score) / 100, ("email", value, emails[c][1]))
    born: dict[Any, list[int]] = defaultdict(list)
    for i, m in enumerate(members):
        if m.birthday:
            born[m.birthday].append(i)
    for day, idx in born.items():
        for n, i in enumerate(idx):
            for j in idx[n + 1 :]:
                offer(i, j, BIRTHDAY_SCORE, ("birthday", day.strftime("%d/%m/%Y"), ""))
    return best


def _likely_groups(visible: QuerySet[Customer]) -> list[DuplicateGroup]:
    """Blocks of the same folded name and province (SQL), then pairs scored with rapidfuzz (Python).

    Matching pairs of a block are joined into groups (connected components); a group's score is its best
    pair's. Reads plain values (two queries), not model instances: blocks can hold most of a big table.
    The groups' `reason` is filled in by the caller for the groups it keeps (`_reason_parts`).
    """
    blocks = (
        visible.exclude(name_folded="")
        .exclude(province="")
        .values("name_folded", "province")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values("name_folded")
    )
    candidates = (
        visible.filter(name_folded__in=Subquery(blocks))
        .exclude(province="")
        .order_by("name_folded", "province", "id")[:LIKELY_CANDIDATE_CAP]
    )
    by_block: dict[tuple[str, str], list[_Candidate]] = defaultdict(list)
    by_pk: dict[int, _Candidate] = {}
    for pk, name, province, birthday, tax_code in candidates.values_list(
        "pk", "name_folded", "province", "birthday", "tax_code"
    ):
        by_pk[pk] = _Candidate(pk=pk, birthday=birthday, tax_code=tax_code)
        by_block[(name, province)].append(by_pk[pk])
    points = ContactPoint.objects.filter(customer_id__in=Subquery(candidates.values("pk")))
    for customer_id, kind, value in points.values_list("customer_id", "kind", "value"):
        if customer_id in by_pk:
            by_pk[customer_id].contacts.add((kind, value))
    groups: list[DuplicateGroup] = []
    for (name, province), members in by_block.items():
        if len(members) < 2:
            continue
        best = _score_block(members)
        if not best:
            continue
        parent = list(range(len(members)))

        def find(x: int, parent: list[int] = parent) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for i, j in best:
            parent[find(j)] = find(i)
        top: dict[int, tuple[float, tuple[str, ...]]] = {}
        for (i, _j), (score, parts) in sorted(best.items()):
            root = find(i)
            if root not in top or score > top[root][0]:
                top[root] = (score, parts)
        components: dict[int, list[int]] = defaultdict(list)
        for i in range(len(members)):
            if find(i) in top:
                components[find(i)].append(members[i].pk)
        for root, ids in components.items():
            score, parts = top[root]
            ids.sort()
            groups.append(
                DuplicateGroup(
                    key=f"likely:{province}:{name}:{ids[0]}",
                    reason="",
                    score=round(min(score, LIKELY_MAX_SCORE), 4),
                    kind="likely",
                    customer_ids=ids,
                    _reason_parts=parts,
                )
            )
    return groups


def customer_duplicate_groups(*, actor: Any, kind: str = "all", limit: int = 100) -> list[DuplicateGroup]:
    """Groups of active customers visible to the actor that are probably the same client.

    Exact groups share a phone, an email (one GROUP BY … HAVING COUNT(DISTINCT customer_id) > 1) or a tax
    code; likely groups have the same folded name and province and a similar phone or email (or the same
    birthday). Ordered by score (highest first), exact before likely, then by the smallest customer id.
    Members come with owner, contact points and tags loaded; the number of queries does not depend on the
    number of groups.
    """
    require_action(actor, OBJECT_TYPE, Action.MERGE)
    if kind not in DUPLICATE_KINDS:
        raise ApplicationError(
            "invalid_filter", f"kind must be one of: {', '.join(DUPLICATE_KINDS)}.", {"field": "kind"}
        )
    if limit < 1 or limit > DUPLICATES_MAX_LIMIT:
        raise ApplicationError(
            "invalid_limit", f"limit must be between 1 and {DUPLICATES_MAX_LIMIT}.", {"field": "limit"}
        )
    visible = customer_visible(actor=actor, include_archived=False)
    groups: list[DuplicateGroup] = []
    if kind in ("all", "exact"):
        # Over-fetch: groups with the same members collapse into one.
        groups.extend(_exact_groups(visible, fetch=limit * 3))
    if kind in ("all", "likely"):
        groups.extend(_likely_groups(visible))
    groups.sort(key=DuplicateGroup.sort_key)
    groups = groups[:limit]
    wanted = {pk for g in groups for pk in g.customer_ids}
    loaded = {c.pk: c for c in _with_related(visible.filter(pk__in=wanted))} if wanted else {}
    for g in groups:
        g.customers = [loaded[pk] for pk in g.customer_ids if pk in loaded]
        if g.kind == "likely":
            g.reason = _likely_reason(g._reason_parts)
    return groups
