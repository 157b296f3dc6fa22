"""Who gets the next lead: the pure part of allocation (no Django, no database), shared by the one-lead
path, the bulk queue run and the property tests.

Every strategy keeps, per member, a *deficit*: how many leads the member should have had under the
rule minus how many they got. For each lead, every member who is *eligible* right now (active, not absent,
in working hours, under their capacity) earns `weight / total weight of the eligible` — the lead's
expected share — and the chosen member pays 1:

* round-robin: weight 1 for everyone; the largest deficit wins, ties in the fixed `position` order. With
  nobody away this is plain round-robin in a fixed order.
* weighted: weight = capacity (max open leads): capacity 20 gets twice the leads of capacity 10.
* least-loaded: fewest open leads wins; ties by deficit, then position.

Nobody earns while away or full. When the eligible set changes, the deficits are rebalanced to sum 0
(shrinking the side in excess), so a consultant back from leave rejoins level with the others: not owed
the leads handed out while they were away, not flooded on return. Largest-deficit-first then keeps every deficit within [-1, 1]: while the
eligible set stays the same, each person's count stays within ±1 of their expected share (equal, or
proportional to capacity) — `tests/test_allocation_fairness.py` checks it with Hypothesis.
Capacity is a hard limit in every strategy.
"""

from __future__ import annotations

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
        candidates = self.eligible(exclude_users)
        if not candidates:
            return None
        _balance(candidates)
        strategy = self.strategy
        total = 0.0
        for s in candidates:
            total += s.weight(strategy)
        for s in candidates:
            s.credit += s.weight(strategy) / total
        if strategy == LEAST_LOADED:
            chosen = min(candidates, key=lambda s: (s.open_leads, -s.credit, s.position, s.key))
        else:
            # Earliest deadline first (Tijdeman's chairman assignment): among those owed a lead, the one
            # whose deficit would reach 1 soonest at their rate of earning.
            owed = [s for s in candidates if s.credit > 0] or candidates
            chosen = min(
                owed, key=lambda s: ((1.0 - s.credit) * total / s.weight(strategy), s.position, s.key)
            )
        chosen.credit -= 1.0
        chosen.open_leads += 1
        return chosen

    def state(self) -> dict[str, float]:
        """What to persist on the rule: member id → deficit (rounded to keep the JSON small)."""
        return {str(s.key): round(s.credit, 9) for s in self.slots}


def _balance(slots: list[Slot]) -> None:
    """Make the eligible members' deficits sum to 0 again after someone left or came back, shrinking
    only the side in excess (owed leads when positive, extra leads when negative) proportionally — so
    nobody is pushed past ±1 and someone back from leave rejoins without a claim on what was handed out
    while they were away."""
    total = sum(s.credit for s in slots)
    if abs(total) < 1e-12:
        return
    if total > 0:
        owed = sum(s.credit for s in slots if s.credit > 0)
        factor = (owed - total) / owed
        for s in slots:
            if s.credit > 0:
                s.credit *= factor
    else:
        extra = -sum(s.credit for s in slots if s.credit < 0)
        factor = (extra + total) / extra
        for s in slots:
            if s.credit < 0:
                s.credit *= factor


def expected_shares(strategy: str, slots: Sequence[Slot], leads: int) -> dict[int, float]:
    """How many of `leads` each member should get when the same members stay eligible throughout:
    equal shares for round-robin, shares proportional to capacity for weighted."""
    avail = [s for s in slots if s.available and s.has_room()]
    if not avail:
        return {}
    total = sum(s.weight(strategy) for s in avail)
    return {s.key: leads * s.weight(strategy) / total for s in avail}
