"""Who gets the next lead: the pure part of allocation (no Django, no database), shared by the one-lead
path, the bulk queue run and the property tests.

Every strategy keeps, per member, a *deficit*: how many leads the member should have had under the
rule minus how many they got. For each lead, every member who is *eligible* right now (active, not absent,
in working hours, under their capacity) earns `weight / total weight of the eligible` — the lead's
expected share — and the chosen member pays 1:

* round-robin: weight 1 for everyone; among those owed a lead (deficit > 0), the earliest deadline wins
  (whose deficit would reach 1 first), ties in the fixed `position` order. With nobody away this is plain
  round-robin in a fixed order.
* weighted: weight = capacity (max open leads): capacity 20 gets twice the leads of capacity 10; the same
  earliest-deadline rule.
* least-loaded: fewest open leads wins; ties by deficit, then position.

Nobody earns while away or full. When the eligible set changes, the deficits are rebalanced to sum 0
(shrinking the side in excess), so a consultant back from leave rejoins level with the others: not owed
the leads handed out while they were away, not flooded on return. Guarantees (round-robin and weighted;
`tests/test_allocation_fairness.py` checks them with Hypothesis):

* every deficit stays within [-1, 1];
* with the same members eligible throughout, after every lead each count is within ±1 of leads × w/W
  (earliest-deadline-first on a total rate of 1 is the optimal "pfair" schedule);
* over any stretch in which the eligible set stays the same, within ±2 of the stretch's leads × w/W: the
  stretch starts with the deficits carried in (±1) and ends with its own (±1);
* over a whole run, count = the member's share of the leads handed out while they were eligible
  − the final deficit + what the rebalancing forgave. Each change of the eligible set forgives at most the
  deficits of the people who left or came back (≤ 1 lead each), so the drift from that share grows only
  with the number of absences and returns, not with the number of leads;
* back from leave, someone gets at most ceil(k × w/W) + 1 of the next k leads, and at least
  floor(k × w/W) − 1.

Capacity is a hard limit in every strategy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ROUND_ROBIN = "round_robin"
WEIGHTED = "weighted"
LEAST_LOADED = "least_loaded"
STRATEGIES = (ROUND_ROBIN, WEIGHTED, LEAST_LOADED)


@dataclass
class Slot:
    """A member's allocation state (mutable: `pick` updates it)."""

    key: int  # member id
    user_id: int
    position: int
    capacity: int | None = None
    open_leads: int = 0
    credit: float = 0.0
    available: bool = True

    def weight(self, strategy: str) -> float:
        if strategy == WEIGHTED and self.capacity:
            return float(self.capacity)
        return 1.0

    def has_room(self) -> bool:
        return self.capacity is None or self.open_leads < self.capacity


@dataclass
class Rotation:
    """The state of one rule: its strategy and members (deficits in `Slot.credit`)."""

    strategy: str
    slots: list[Slot]

    def eligible(self, exclude_users: Iterable[int] = ()) -> list[Slot]:
        excluded = set(exclude_users)
        return [s for s in self.slots if s.available and s.has_room() and s.user_id not in excluded]

    def pick(self, exclude_users: Iterable[int] = ()) -> Slot | None:
        """Choose the next member and update the state; None when nobody can take a lead now."""
        if exclude_users:
            excluded = set(exclude_users)
            candidates = [
                s
                for s in self.slots
                if s.available
                and (s.capacity is None or s.open_leads < s.capacity)
                and s.user_id not in excluded
            ]
        else:
            candidates = [
                s for s in self.slots if s.available and (s.capacity is None or s.open_leads < s.capacity)
            ]
        if not candidates:
            return None
        _balance(candidates)
        weights = _weights(self.strategy, candidates)
        total = sum(weights)  # whole numbers: exact, the same as adding one by one
        for s, w in zip(candidates, weights, strict=True):
            s.credit += w / total
        if self.strategy == LEAST_LOADED:
            chosen = min(candidates, key=lambda s: (s.open_leads, -s.credit, s.position, s.key))
        else:
            chosen = _earliest_deadline(candidates, [s.credit for s in candidates], weights, total)
        chosen.credit -= 1.0
        chosen.open_leads += 1
        return chosen

    def pick_many(self, count: int) -> list[Slot | None]:
        """`count` successive `pick()`s (no exclusions) — the same choices and the same final state, faster:
        the eligible set, weights and shares are worked out again only when it changes (someone reaches
        capacity), and the deficits live in a plain list meanwhile. Used by the bulk queue run."""
        if self.strategy == LEAST_LOADED:
            return [self.pick() for _ in range(count)]
        picks: list[Slot | None] = []
        while len(picks) < count:
            candidates = [
                s for s in self.slots if s.available and (s.capacity is None or s.open_leads < s.capacity)
            ]
            if not candidates:
                break
            weights = _weights(self.strategy, candidates)
            total = sum(weights)
            shares = [w / total for w in weights]
            credits = [s.credit for s in candidates]
            changed = False
            while len(picks) < count and not changed:
                credits = _balanced(credits)
                credits = [c + share for c, share in zip(credits, shares, strict=True)]
                i = _earliest_deadline_index(candidates, credits, weights, total)
                credits[i] -= 1.0
                chosen = candidates[i]
                chosen.open_leads += 1
                picks.append(chosen)
                changed = chosen.capacity is not None and chosen.open_leads >= chosen.capacity
            for s, c in zip(candidates, credits, strict=True):
                s.credit = c
        picks.extend([None] * (count - len(picks)))
        return picks

    def state(self) -> dict[str, float]:
        """What to persist on the rule: member id → deficit (rounded to keep the JSON small)."""
        return {str(s.key): round(s.credit, 9) for s in self.slots}


def _weights(strategy: str, slots: list[Slot]) -> list[float]:
    if strategy == WEIGHTED:
        return [float(s.capacity) if s.capacity else 1.0 for s in slots]
    return [1.0] * len(slots)


def _earliest_deadline(slots: list[Slot], credits: list[float], weights: list[float], total: float) -> Slot:
    return slots[_earliest_deadline_index(slots, credits, weights, total)]


def _earliest_deadline_index(
    slots: list[Slot], credits: list[float], weights: list[float], total: float
) -> int:
    """Earliest deadline first (Tijdeman's chairman assignment): among those owed a lead (deficit > 0),
    the one whose deficit would reach 1 soonest at their rate of earning; ties by position, then id.
    Nobody owed (rounding only): the same over everyone."""
    inf = math.inf
    deadlines = [(1.0 - c) * total / w if c > 0 else inf for c, w in zip(credits, weights, strict=True)]
    best = min(deadlines)
    if best == inf:
        deadlines = [(1.0 - c) * total / w for c, w in zip(credits, weights, strict=True)]
        best = min(deadlines)
    i = deadlines.index(best)
    if deadlines.count(best) > 1:
        i = min(
            (j for j, d in enumerate(deadlines) if d == best), key=lambda j: (slots[j].position, slots[j].key)
        )
    return i


def _balance(slots: list[Slot]) -> None:
    """Make the eligible members' deficits sum to 0 again after someone left or came back, shrinking
    only the side in excess (owed leads when positive, extra leads when negative) proportionally — so
    nobody is pushed past ±1 and someone back from leave rejoins without a claim on what was handed out
    while they were away."""
    credits = [s.credit for s in slots]
    balanced = _balanced(credits)
    if balanced is not credits:
        for s, c in zip(slots, balanced, strict=True):
            s.credit = c


def _balanced(credits: list[float]) -> list[float]:
    """`_balance` on a list of deficits: the same list when they already sum to 0, else a new one."""
    total = sum(credits)
    if abs(total) < 1e-12:
        return credits
    if total > 0:
        owed = sum(c for c in credits if c > 0)
        factor = (owed - total) / owed
        return [c * factor if c > 0 else c for c in credits]
    extra = -sum(c for c in credits if c < 0)
    factor = (extra + total) / extra
    return [c * factor if c < 0 else c for c in credits]


def expected_shares(strategy: str, slots: Sequence[Slot], leads: int) -> dict[int, float]:
    """How many of `leads` each member should get when the same members stay eligible throughout:
    equal shares for round-robin, shares proportional to capacity for weighted."""
    avail = [s for s in slots if s.available and s.has_room()]
    if not avail:
        return {}
    total = sum(s.weight(strategy) for s in avail)
    return {s.key: leads * s.weight(strategy) / total for s in avail}
