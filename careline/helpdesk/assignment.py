"""Who handles a new ticket.

1. The team: the one given with the ticket, else the category's handling team (or the nearest ancestor
   category's), else the ticket branch's customer-care team (the first by id), else none — the ticket
   waits unassigned.
2. The agents of that team who are *on shift* now:
   * active members of the team who take tickets — role care agent or head of care, unless their
     `AgentProfile` says `takes_tickets = False`; anyone else with an `AgentProfile` whose `takes_tickets`
     is on;
   * not away (an `Absence` from the sales app covers now);
   * inside the business time of their branch's work schedule (see `helpdesk.sla`);
   * holding every skill the category needs (the category's own skills, else the nearest ancestor's;
     compared accent- and case-insensitively);
   * under their `max_open_tickets` (open = new, open or waiting; empty = no limit).
3. Among them, the team's `TeamRotation` strategy: least-loaded (default; fewest open tickets, ties by the
   fair-rotation deficit, then by join order) or round-robin — the same pure
   `careline.sales.allocation.Rotation` as lead allocation. Its state is kept in `TeamRotation.rotation`
   and read and written under the row's lock, so concurrent tickets never pick from a stale state.

Nobody on shift → the ticket stays in the team's queue; the worker tries again every minute
(`services.tickets_assign_queued`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db.models import Count

from careline.accounts.choices import RoleCode, TeamKind
from careline.accounts.models import Team, User
from careline.helpdesk.choices import OPEN_STATUSES
from careline.helpdesk.models import AgentProfile, Category, TeamRotation, Ticket
from careline.helpdesk.sla import HoursCache, category_chain
from careline.sales.allocation import LEAST_LOADED, ROUND_ROBIN, Rotation, Slot
from careline.sales.selectors import absent_user_ids
from careline.vn import fold
from careline.vn.worktime import is_business_time

STRATEGIES = (LEAST_LOADED, ROUND_ROBIN)
AGENT_ROLES = (RoleCode.CARE_AGENT, RoleCode.CARE_HEAD)


def category_team_id(category_id: int | None, categories: Mapping[int, Category]) -> int | None:
    """The handling team of a category or its nearest ancestor that has one."""
    parents = {pk: c.parent_id for pk, c in categories.items()}
    for pk in category_chain(category_id, parents):
        category = categories.get(pk)
        if category is not None and category.team_id:
            return category.team_id
    return None


def category_skills(category_id: int | None, categories: Mapping[int, Category]) -> list[str]:
    """The skills a category needs: its own, else the nearest ancestor's."""
    parents = {pk: c.parent_id for pk, c in categories.items()}
    for pk in category_chain(category_id, parents):
        category = categories.get(pk)
        if category is not None and category.skills:
            return [str(s) for s in category.skills if str(s).strip()]
    return []


def _categories_for(category_id: int | None) -> dict[int, Category]:
    if category_id is None:
        return {}
    return {c.pk: c for c in Category.objects.only("id", "parent_id", "team_id", "skills")}


def team_for(*, team_id: int | None, category_id: int | None, branch_id: int | None) -> int | None:
    """Step 1: the team that handles a ticket (see the module docstring)."""
    if team_id:
        return team_id
    found = category_team_id(category_id, _categories_for(category_id))
    if found:
        return found
    if branch_id:
        return (
            Team.objects.filter(branch_id=branch_id, kind=TeamKind.CARE)
            .order_by("id")
            .values_list("pk", flat=True)
            .first()
        )
    return None


def has_skills(needed: Sequence[str], offered: Iterable[str]) -> bool:
    have = {fold(str(s)) for s in offered if str(s).strip()}
    return all(fold(s) in have for s in needed)


@dataclass
class Agent:
    """One team member and whether they can take this ticket now (and if not, why)."""

    user: User
    open_tickets: int
    capacity: int | None
    takes_tickets: bool
    absent: bool
    on_shift: bool
    skilled: bool

    @property
    def eligible(self) -> bool:
        return self.takes_tickets and not self.absent and self.on_shift and self.skilled

    @property
    def has_room(self) -> bool:
        return self.capacity is None or self.open_tickets < self.capacity


def team_agents(
    *, team_id: int, skills: Sequence[str], now: dt.datetime, hours: HoursCache | None = None
) -> list[Agent]:
    """The team's members with their open-ticket counts and availability (four queries)."""
    hours = hours or HoursCache()
    members = list(User.objects.filter(team_id=team_id, is_active=True).select_related("role").order_by("id"))
    ids = [u.pk for u in members]
    profiles = {p.user_id: p for p in AgentProfile.objects.filter(user_id__in=ids)}
    open_counts = dict(
        Ticket.objects.filter(assignee_id__in=ids, status__in=OPEN_STATUSES)
        .values("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    away = absent_user_ids(user_ids=ids, at=now)
    agents = []
    for user in members:
        profile = profiles.get(user.pk)
        role = user.role.code if user.role_id and user.role else ""
        takes = profile.takes_tickets if profile is not None else role in AGENT_ROLES
        agents.append(
            Agent(
                user=user,
                open_tickets=open_counts.get(user.pk, 0),
                capacity=profile.max_open_tickets if profile is not None else None,
                takes_tickets=takes,
                absent=user.pk in away,
                on_shift=is_business_time(now, hours.for_branch(user.branch_id)),
                skilled=has_skills(skills, profile.skills if profile is not None else []),
            )
        )
    return agents


def rotation_for(strategy: str, agents: Sequence[Agent], state: Mapping[str, float]) -> Rotation:
    """The pure rotation over a team's agents (slot key = user id, position = join order)."""
    slots = [
        Slot(
            key=a.user.pk,
            user_id=a.user.pk,
            position=i,
            capacity=a.capacity,
            open_leads=a.open_tickets,
            credit=float(state.get(str(a.user.pk), 0.0)),
            available=a.eligible,
        )
        for i, a in enumerate(agents)
    ]
    return Rotation(strategy if strategy in STRATEGIES else LEAST_LOADED, slots)


def pick_agent(
    *, ticket: Ticket, now: dt.datetime, exclude_user_ids: Iterable[int] = (), hours: HoursCache | None = None
) -> User | None:
    """Step 2 and 3 for a ticket whose team is set: the agent to assign, or None. Must run inside a
    transaction: it locks the team's rotation row and saves the new rotation state."""
    if not ticket.team_id:
        return None
    rotation_row, _created = TeamRotation.objects.get_or_create(team_id=ticket.team_id)
    rotation_row = TeamRotation.objects.select_for_update().get(pk=rotation_row.pk)
    categories = _categories_for(ticket.category_id)
    skills = category_skills(ticket.category_id, categories)
    agents = team_agents(team_id=ticket.team_id, skills=skills, now=now, hours=hours)
    if not agents:
        return None
    rotation = rotation_for(rotation_row.strategy, agents, rotation_row.rotation or {})
    slot = rotation.pick(exclude_users=exclude_user_ids)
    if slot is None:
        return None
    rotation_row.rotation = rotation.state()
    rotation_row.save(update_fields=["rotation"])
    return next(a.user for a in agents if a.user.pk == slot.user_id)
