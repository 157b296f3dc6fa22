"""Fairness of the rotation (`careline.sales.allocation.Rotation`), property-tested with Hypothesis.

Pure: no database. The expectations are computed here from what an observer can see — who was eligible
(present and under capacity) and with which weight at each lead — not from the rotation's internal state,
except where the brief asks about the deficits themselves:

(a) a fixed set of eligible members, any weights and positions: after every lead n, each member's count is
    within ±1 of n × w/W, over 10,000 leads;
(b) absences, capacity limits and capacities changing at arbitrary moments (leads closing free capacity):
    * every deficit stays within [-1, 1];
    * over every stretch of leads in which the eligible set and the weights stay the same, each count is
      within ±2 of the stretch's leads × w/W. Two, not one: a stretch starts from the deficits carried in
      from before (within ±1) and ends with its own (within ±1), and count − expected = start − end;
    * over the whole run, count − (the member's share of the leads handed out while they were eligible) is
      −(final deficit) + what the rebalancing forgave. Each time someone leaves or comes back, the
      rebalancing forgives at most the deficit that person carries (≤ 1 lead), spread over the side in
      excess. So, summed over the members, |count − share| ≤ members + eligibility changes, and for one
      member ≤ 1 + the number of eligible-set changes they were present for;
(c) capacity is never exceeded, and a lead stays queued only when nobody is eligible;
(d) someone back from leave gets at most ceil(k × w/W) + 1 of the next k leads (not flooded), and at least
    floor(k × w/W) − 1 (not starved);
(e) least-loaded always picks a member with the fewest open leads among the eligible.

Plus: the optimised `pick` makes exactly the choices of the straightforward reference implementation
(`_ReferenceRotation` below, the algorithm as first written), over mixed strategies and events.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from careline.sales.allocation import LEAST_LOADED, ROUND_ROBIN, WEIGHTED, Rotation, Slot

EPS = 1e-9
LEADS = 10_000

weights_st = st.lists(st.integers(1, 50), min_size=1, max_size=8)


def weight_of(strategy: str, capacity: int | None) -> int:
    """The rule's weight, as documented: capacity for weighted (1 when unset), 1 for round-robin."""
    return capacity if strategy == WEIGHTED and capacity else 1


# --- (a) a fixed eligible set ----------------------------------------------------------------------


@settings(max_examples=12, deadline=None)
@given(
    strategy=st.sampled_from([ROUND_ROBIN, WEIGHTED]),
    weights=weights_st,
    positions=st.lists(st.integers(0, 3), min_size=8, max_size=8),
)
def test_fixed_members_stay_within_one_lead_of_their_share(
    strategy: str, weights: list[int], positions: list[int]
) -> None:
    # Capacity = weight × 10,000: the weights of the weighted strategy, never reached in 10,000 leads.
    slots = [
        Slot(key=i, user_id=100 + i, position=positions[i], capacity=w * LEADS) for i, w in enumerate(weights)
    ]
    rotation = Rotation(strategy, slots)
    share = [weight_of(strategy, s.capacity) for s in slots]
    total = sum(share)
    counts = [0] * len(slots)
    for n in range(1, LEADS + 1):
        chosen = rotation.pick()
        assert chosen is not None
        counts[chosen.key] += 1
        for i, c in enumerate(counts):
            assert abs(c - n * share[i] / total) <= 1 + EPS, (n, i, c, n * share[i] / total)


# --- (b) absences and capacities changing at arbitrary moments ----------------------------------------


@dataclass
class Event:
    at: int  # before lead number `at`
    member: int
    kind: str  # "leave" (toggle absence), "capacity" (new capacity), "close" (open leads move on)
    value: int


events_st = st.lists(
    st.builds(
        Event,
        at=st.integers(0, LEADS - 1),
        member=st.integers(0, 7),
        kind=st.sampled_from(["leave", "capacity", "close"]),
        value=st.integers(1, 60),
    ),
    max_size=80,
)


@settings(max_examples=15, deadline=None)
@given(
    strategy=st.sampled_from([ROUND_ROBIN, WEIGHTED]),
    capacities=st.lists(st.one_of(st.none(), st.integers(1, 50)), min_size=1, max_size=8),
    events=events_st,
    closing=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_changing_eligibility_keeps_deficits_and_stretches_fair(
    strategy: str, capacities: list[int | None], events: list[Event], closing: float, seed: int
) -> None:
    rng = random.Random(seed)
    k = len(capacities)
    slots = [Slot(key=i, user_id=100 + i, position=i, capacity=c) for i, c in enumerate(capacities)]
    rotation = Rotation(strategy, slots)
    by_time: dict[int, list[Event]] = {}
    for e in events:
        by_time.setdefault(e.at, []).append(e)
    away = [False] * k
    open_leads = [0] * k
    counts = [0] * k
    expected = [0.0] * k  # share of the leads handed out while eligible
    changes_seen = [0] * k  # eligible-set changes that happened while the member was eligible
    total_changes = 0
    previous: tuple[bool, ...] | None = None
    previous_weights: tuple[int, ...] | None = None
    stretch_n = 0
    stretch_counts = [0] * k
    for n in range(LEADS):
        for e in by_time.get(n, ()):
            m = e.member % k
            if e.kind == "leave":
                away[m] = not away[m]
                slots[m].available = not away[m]
            elif e.kind == "capacity":
                slots[m].capacity = e.value
            else:
                open_leads[m] = max(0, open_leads[m] - e.value)
        # Leads move on (contacted, converted) at a steady rate: capacity frees up again.
        if open_leads and rng.random() < closing:
            m = rng.randrange(k)
            open_leads[m] = max(0, open_leads[m] - 1)
        for i, s in enumerate(slots):
            s.open_leads = open_leads[i]
        eligible = tuple(
            not away[i] and (s.capacity is None or open_leads[i] < s.capacity) for i, s in enumerate(slots)
        )
        weights = tuple(weight_of(strategy, s.capacity) for s in slots)
        if eligible != previous or weights != previous_weights:
            if previous is not None:
                flipped = sum(a != b for a, b in zip(eligible, previous, strict=True))
                total_changes += flipped
                if flipped:
                    for i in range(k):
                        if eligible[i]:
                            changes_seen[i] += 1
            previous, previous_weights = eligible, weights
            stretch_n = 0
            stretch_counts = [0] * k
        chosen = rotation.pick()
        if not any(eligible):
            assert chosen is None
            continue
        assert chosen is not None and eligible[chosen.key]
        total_w = sum(w for w, ok in zip(weights, eligible, strict=True) if ok)
        for i in range(k):
            if eligible[i]:
                expected[i] += weights[i] / total_w
        counts[chosen.key] += 1
        open_leads[chosen.key] += 1
        stretch_n += 1
        stretch_counts[chosen.key] += 1
        for i, s in enumerate(slots):
            assert -1 - EPS <= s.credit <= 1 + EPS, (n, i, s.credit)
            assert s.open_leads == open_leads[i]
            if eligible[i]:
                gap = stretch_counts[i] - stretch_n * weights[i] / total_w
                assert abs(gap) <= 2 + EPS, (n, i, stretch_counts[i], stretch_n, gap)
    gaps = [abs(counts[i] - expected[i]) for i in range(k)]
    for i in range(k):
        assert gaps[i] <= 1 + changes_seen[i] + EPS, (i, counts[i], expected[i], changes_seen[i])
    assert sum(gaps) <= k + total_changes + EPS
    assert sum(counts) == round(sum(expected))


# --- (c) capacity is a hard limit ----------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    strategy=st.sampled_from([ROUND_ROBIN, WEIGHTED, LEAST_LOADED]),
    members=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(1, 30)), st.integers(0, 20)), min_size=1, max_size=8
    ),
    absences=st.lists(st.tuples(st.integers(0, 599), st.integers(0, 7)), max_size=30),
)
def test_capacity_is_never_exceeded(
    strategy: str, members: list[tuple[int | None, int]], absences: list[tuple[int, int]]
) -> None:
    slots = [
        Slot(key=i, user_id=100 + i, position=i, capacity=cap, open_leads=min(start, cap or start))
        for i, (cap, start) in enumerate(members)
    ]
    rotation = Rotation(strategy, slots)
    toggles: dict[int, list[int]] = {}
    for at, m in absences:
        toggles.setdefault(at, []).append(m % len(slots))
    for n in range(600):
        for m in toggles.get(n, ()):
            slots[m].available = not slots[m].available
        before = [s.open_leads for s in slots]
        room = [s.available and (s.capacity is None or s.open_leads < s.capacity) for s in slots]
        chosen = rotation.pick()
        if chosen is None:
            assert not any(room)
        else:
            assert room[chosen.key]
        for i, s in enumerate(slots):
            assert s.capacity is None or s.open_leads <= s.capacity
            assert s.open_leads == before[i] + (1 if chosen is not None and chosen.key == i else 0)


# --- (d) back from leave: not flooded, not starved -----------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    strategy=st.sampled_from([ROUND_ROBIN, WEIGHTED]),
    weights=st.lists(st.integers(1, 50), min_size=2, max_size=8),
    returning=st.integers(0, 7),
    before=st.integers(0, 300),
    away_for=st.integers(1, 500),
    others_away=st.lists(st.tuples(st.integers(0, 799), st.integers(0, 7)), max_size=10),
)
def test_back_from_leave_is_not_flooded(
    strategy: str,
    weights: list[int],
    returning: int,
    before: int,
    away_for: int,
    others_away: list[tuple[int, int]],
) -> None:
    k = len(weights)
    r = returning % k
    slots = [Slot(key=i, user_id=100 + i, position=i, capacity=w * 10_000) for i, w in enumerate(weights)]
    rotation = Rotation(strategy, slots)
    toggles: dict[int, list[int]] = {}
    for at, m in others_away:
        if m % k != r:
            toggles.setdefault(at, []).append(m % k)
    # Before the leave and during it, others come and go too (deficits carried around).
    for n in range(before + away_for):
        if n == before:
            slots[r].available = False
        for m in toggles.get(n, ()):
            slots[m].available = not slots[m].available
        rotation.pick()
    for s in slots:
        s.available = True
    slots[r].available = True
    share = weight_of(strategy, slots[r].capacity) / sum(weight_of(strategy, s.capacity) for s in slots)
    got = 0
    for n in range(1, 1001):
        chosen = rotation.pick()
        assert chosen is not None
        got += chosen.key == r
        assert got <= math.ceil(n * share - EPS) + 1, (n, got, n * share)
        assert got >= math.floor(n * share + EPS) - 1, (n, got, n * share)


# --- (e) least-loaded ------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    members=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(1, 40)), st.integers(0, 30), st.integers(0, 3)),
        min_size=1,
        max_size=8,
    ),
    events=st.lists(st.tuples(st.integers(0, 1999), st.integers(0, 7), st.booleans()), max_size=60),
    seed=st.integers(0, 2**32 - 1),
)
def test_least_loaded_picks_a_member_with_fewest_open_leads(
    members: list[tuple[int | None, int, int]], events: list[tuple[int, int, bool]], seed: int
) -> None:
    rng = random.Random(seed)
    slots = [
        Slot(key=i, user_id=100 + i, position=pos, capacity=cap, open_leads=start)
        for i, (cap, start, pos) in enumerate(members)
    ]
    rotation = Rotation(LEAST_LOADED, slots)
    at: dict[int, list[tuple[int, bool]]] = {}
    for n, m, leave in events:
        at.setdefault(n, []).append((m % len(slots), leave))
    for n in range(2000):
        for m, leave in at.get(n, ()):
            if leave:
                slots[m].available = not slots[m].available
            else:
                slots[m].open_leads = max(0, slots[m].open_leads - rng.randrange(1, 10))
        eligible = [s for s in slots if s.available and (s.capacity is None or s.open_leads < s.capacity)]
        fewest = min((s.open_leads for s in eligible), default=None)
        chosen = rotation.pick()
        if fewest is None:
            assert chosen is None
        else:
            assert chosen is not None and chosen.open_leads - 1 == fewest


# --- the optimised pick against the reference --------------------------------------------------------


class _ReferenceRotation:
    """The rotation as first written (straightforward, no fast paths): the optimised `Rotation.pick` must
    make the same choice at every lead and leave the same deficits."""

    def __init__(self, strategy: str, slots: list[Slot]) -> None:
        self.strategy = strategy
        self.slots = slots

    def pick(self, exclude_users: tuple[int, ...] = ()) -> Slot | None:
        excluded = set(exclude_users)
        candidates = [
            s
            for s in self.slots
            if s.available and (s.capacity is None or s.open_leads < s.capacity) and s.user_id not in excluded
        ]
        if not candidates:
            return None
        _reference_balance(candidates)
        strategy = self.strategy

        def weight(s: Slot) -> float:
            return float(s.capacity) if strategy == WEIGHTED and s.capacity else 1.0

        total = 0.0
        for s in candidates:
            total += weight(s)
        for s in candidates:
            s.credit += weight(s) / total
        if strategy == LEAST_LOADED:
            chosen = min(candidates, key=lambda s: (s.open_leads, -s.credit, s.position, s.key))
        else:
            owed = [s for s in candidates if s.credit > 0] or candidates
            chosen = min(owed, key=lambda s: ((1.0 - s.credit) * total / weight(s), s.position, s.key))
        chosen.credit -= 1.0
        chosen.open_leads += 1
        return chosen


def _reference_balance(slots: list[Slot]) -> None:
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


@settings(max_examples=40, deadline=None)
@given(
    strategy=st.sampled_from([ROUND_ROBIN, WEIGHTED, LEAST_LOADED]),
    members=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(1, 40)), st.integers(0, 3), st.integers(0, 20)),
        min_size=1,
        max_size=10,
    ),
    events=st.lists(
        st.tuples(
            st.integers(0, 999),
            st.integers(0, 9),
            st.sampled_from(["leave", "capacity", "close", "exclude"]),
            st.integers(1, 40),
        ),
        max_size=50,
    ),
)
def test_optimised_pick_matches_the_reference(
    strategy: str, members: list[tuple[int | None, int, int]], events: list[tuple[int, int, str, int]]
) -> None:
    def build() -> list[Slot]:
        return [
            Slot(key=i, user_id=100 + i, position=pos, capacity=cap, open_leads=start)
            for i, (cap, pos, start) in enumerate(members)
        ]

    ours, ref = build(), build()
    rotation, reference = Rotation(strategy, ours), _ReferenceRotation(strategy, ref)
    at: dict[int, list[tuple[int, str, int]]] = {}
    for n, m, kind, value in events:
        at.setdefault(n, []).append((m % len(members), kind, value))
    for n in range(1000):
        exclude: tuple[int, ...] = ()
        for m, kind, value in at.get(n, ()):
            for slots in (ours, ref):
                if kind == "leave":
                    slots[m].available = not slots[m].available
                elif kind == "capacity":
                    slots[m].capacity = value
                elif kind == "close":
                    slots[m].open_leads = max(0, slots[m].open_leads - value)
            if kind == "exclude":
                exclude = (100 + m,)
        a, b = rotation.pick(exclude_users=exclude), reference.pick(exclude_users=exclude)
        assert (a.key if a else None) == (b.key if b else None), n
        assert [(s.credit, s.open_leads) for s in ours] == [(s.credit, s.open_leads) for s in ref], n


@settings(max_examples=40, deadline=None)
@given(
    strategy=st.sampled_from([ROUND_ROBIN, WEIGHTED, LEAST_LOADED]),
    members=st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(1, 40)),
            st.integers(0, 3),
            st.integers(0, 20),
            st.floats(-1, 1),
            st.booleans(),
        ),
        min_size=1,
        max_size=10,
    ),
    batches=st.lists(st.integers(0, 300), min_size=1, max_size=5),
)
def test_pick_many_is_the_same_as_successive_picks(
    strategy: str, members: list[tuple[int | None, int, int, float, bool]], batches: list[int]
) -> None:
    """The queue run's `pick_many(n)`: the same choices and deficits as n calls of `pick()`, from any
    state (deficits carried in, people away, capacities filling up in the middle of a batch)."""

    def build() -> list[Slot]:
        return [
            Slot(
                key=i,
                user_id=100 + i,
                position=pos,
                capacity=cap,
                open_leads=start,
                credit=credit,
                available=ok,
            )
            for i, (cap, pos, start, credit, ok) in enumerate(members)
        ]

    many, one = build(), build()
    a, b = Rotation(strategy, many), Rotation(strategy, one)
    for n in batches:
        got = a.pick_many(n)
        expected = [b.pick() for _ in range(n)]
        assert [s.key if s else None for s in got] == [s.key if s else None for s in expected]
        assert [(s.credit, s.open_leads) for s in many] == [(s.credit, s.open_leads) for s in one]
