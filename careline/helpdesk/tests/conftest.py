"""Fixtures of the helpdesk tests: a movable clock and a care team ready to take tickets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from careline.accounts.tests.factories import UserFactory
from careline.helpdesk import services
from careline.helpdesk.tests.factories import T0


@dataclass
class Clock:
    now: dt.datetime

    def advance(self, **delta: float) -> dt.datetime:
        self.now = self.now + dt.timedelta(**delta)
        return self.now

    def set(self, moment: dt.datetime) -> dt.datetime:
        self.now = moment
        return moment


@pytest.fixture
def clock(monkeypatch) -> Iterator[Clock]:
    """Services read the time through `services._now`: pin it (to a Tuesday 09:00, business time)."""
    c = Clock(T0)
    monkeypatch.setattr(services, "_now", lambda: c.now)
    yield c


@pytest.fixture
def care(org):
    """The Hà Nội care team with a leader and two more agents (org.care_agent_hn is the first)."""
    org.care_agent_hn2 = UserFactory(username="care_agent_hn2", role="care_agent", team=org.hn_care)
    org.care_agent_hn3 = UserFactory(username="care_agent_hn3", role="care_agent", team=org.hn_care)
    org.hn_care.leader = org.care_head
    org.hn_care.save()
    return org
