"""core.timeline: the provider registry merges entries newest first; the real providers on a customer card."""

from __future__ import annotations

import datetime as dt

import pytest

from careline.core import timeline
from careline.core.timeline import TimelineEntry, entries_for, register, unregister

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def entry(minutes: int, key: str, kind: str = "test") -> TimelineEntry:
    return TimelineEntry(at=T0 + dt.timedelta(minutes=minutes), kind=kind, icon="dot", title=key, key=key)


@pytest.fixture
def only_test_providers(monkeypatch):
    monkeypatch.setattr(timeline, "_providers", {})


def test_merge_newest_first_with_limit(only_test_providers):
    seen: list[int] = []

    def calls(*, actor, customer, limit):
        seen.append(limit)
        return [entry(5, "call-5"), entry(30, "call-30"), entry(10, "call-10")]  # unsorted on purpose

    def notes(*, actor, customer, limit):
        return [entry(20, "note-20"), entry(10, "a-note-10"), entry(1, "note-1")]

    register(calls, name="calls")
    register(notes, name="notes")
    got = entries_for(actor=None, customer=None, limit=100)
    # Same instant: the key breaks the tie, so the order is stable.
    assert [e.key for e in got] == ["call-30", "note-20", "a-note-10", "call-10", "call-5", "note-1"]
    assert [e.key for e in entries_for(actor=None, customer=None, limit=3)] == [
        "call-30",
        "note-20",
        "a-note-10",
    ]
    assert seen == [100, 3]
    assert entries_for(actor=None, customer=None, limit=0) == []


def test_register_replaces_by_name_and_unregister(only_test_providers):
    register(lambda *, actor, customer, limit: [entry(1, "old")], name="x")
    register(lambda *, actor, customer, limit: [entry(2, "new")], name="x")
    assert [e.key for e in entries_for(actor=None, customer=None)] == ["new"]
    unregister("x")
    assert entries_for(actor=None, customer=None) == []

    @register
    def decorated(*, actor, customer, limit):
        return [entry(3, "decorated")]

    assert [e.key for e in entries_for(actor=None, customer=None)] == ["decorated"]
    unregister(decorated)
    assert timeline.providers() == {}


def test_apps_register_their_providers():
    names = set(timeline.providers())
    assert {"activities", "customers"} <= names


@pytest.mark.django_db
def test_card_timeline_merges_activities_notes_and_history(org):
    from careline.activities.tests.factories import add_follow_up, log_call
    from careline.customers.services import customer_note_add, customer_update
    from careline.customers.tests.factories import make_customer

    customer = make_customer(org.consultant_hn, full_name="Trần Văn Hùng")
    call = log_call(org.consultant_hn, customer, "reached", notes="Quan tâm khóa tối")
    customer_note_add(actor=org.consultant_hn, customer_id=customer.pk, body="Phụ huynh gọi hỏi")
    customer_update(actor=org.consultant_hn, customer_id=customer.pk, data={"stage": "prospect"})
    fu = add_follow_up(org.consultant_hn, customer)
    got = entries_for(actor=org.consultant_hn, customer=customer)
    kinds = [e.kind for e in got]
    assert "activity.call" in kinds and "activity.follow_up" in kinds
    assert "customers.note" in kinds and "customers.update" in kinds and "customers.create" in kinds
    # The note shows once (not again as a history line), newest first overall.
    assert sum(1 for e in got if "Phụ huynh gọi hỏi" in e.body) == 1
    assert [e.at for e in got] == sorted((e.at for e in got), reverse=True)
    follow_up = next(e for e in got if e.kind == "activity.follow_up")
    assert follow_up.extra["open"] is True
    assert follow_up.extra["actions"][0]["url"] == f"/activities/{fu.pk}/complete/"
    call_entry = next(e for e in got if e.kind == "activity.call")
    assert call_entry.body == "Quan tâm khóa tối" and call_entry.key == f"activity:{call.pk:012d}"
    # Someone who sees the card but not the activities (no activity scope) gets the card's own entries only.
    assert all(not e.kind.startswith("activity.") for e in entries_for(actor=org.nobody, customer=customer))
