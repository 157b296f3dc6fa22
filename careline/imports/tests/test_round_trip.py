"""Export → import gives back the same customers, whatever Vietnamese text they hold (Hypothesis)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careline.customers.models import Customer
from careline.customers.selectors import CustomerFilters
from careline.customers.tests.factories import make_customer
from careline.imports import services
from careline.vn import normalize_name

pytestmark = pytest.mark.django_db

SYLLABLES = ["Nguyễn", "Trần", "Lê", "Đặng", "Thị", "Văn", "Ngọc", "Ánh", "Hương", "Đức", "Quỳnh", "Ưng", "Ơn",
             "Lan", "Hùng", "Yến", "Thủy", "Nhã", "Khuê", "Đoàn", "Ỷ", "Ngô", "Giang"]  # fmt: skip
PREFIXES = ["091", "098", "090", "097", "086", "038", "070", "083"]
PROVINCES = ["", "01", "79", "48", "31", "92"]
TAGS = ["IELTS", "Phụ huynh", "VIP 2026", "Học thử", "Đối tác"]

person = st.fixed_dictionaries(
    {
        "full_name": st.lists(st.sampled_from(SYLLABLES), min_size=2, max_size=4).map(" ".join),
        "tail": st.integers(1_000_000, 9_999_999),
        "prefix": st.sampled_from(PREFIXES),
        "with_email": st.booleans(),
        "birthday": st.one_of(st.none(), st.dates(dt.date(1940, 1, 1), dt.date(2020, 12, 31))),
        "province": st.sampled_from(PROVINCES),
        "tags": st.lists(st.sampled_from(TAGS), max_size=2, unique=True),
        "stage": st.sampled_from(["lead", "prospect", "customer", "inactive"]),
    }
)


def snapshot() -> list[tuple]:
    rows = []
    for c in Customer.objects.prefetch_related("contact_points", "tags").order_by("name_folded", "id"):
        rows.append(
            (
                c.full_name,
                tuple(sorted(p.value for p in c.contact_points.all())),
                c.birthday,
                c.province,
                c.stage,
                tuple(sorted(t.name for t in c.tags.all())),
            )
        )
    return sorted(rows)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people=st.lists(person, min_size=1, max_size=6, unique_by=lambda p: (p["prefix"], p["tail"])),
    fmt=st.sampled_from(["csv", "xlsx"]),
)
def test_export_then_import_gives_the_same_customers(org, people, fmt):
    Customer.objects.all().delete()
    for i, p in enumerate(people):
        data = {
            "full_name": p["full_name"],
            "phones": [f"{p['prefix']}{p['tail']}"],
            "emails": [f"khach{i}.{p['tail']}@example.vn"] if p["with_email"] else [],
            "birthday": p["birthday"],
            "province": p["province"],
            "tags": p["tags"],
            "stage": p["stage"],
        }
        make_customer(org.admin, **data)
    before = snapshot()
    assert all(r[0] == normalize_name(r[0]) for r in before)
    export = services.export_start(
        actor=org.admin, filters=CustomerFilters(), fmt=fmt, language="vi", run_now=True
    )
    data = services.job_result_path(export).read_bytes()
    Customer.objects.all().delete()
    job = services.import_start(actor=org.admin, data=data, filename=f"export.{fmt}", run_now=True)
    job.refresh_from_db()
    assert (job.status, job.created, job.failed) == ("succeeded", len(people), 0), job.errors
    assert snapshot() == before
