"""The bulk path refreshes PostgreSQL statistics after a big load, also inside an import's transaction."""

import pytest
from django.db import connection

from careline.customers.bulk import BulkCustomer, customers_bulk_insert
from careline.customers.models import Customer

pytestmark = pytest.mark.django_db


def reltuples() -> float:
    with connection.cursor() as cur:
        cur.execute("SELECT reltuples FROM pg_class WHERE relname = 'customers_customer'")
        return cur.fetchone()[0]


def test_big_loads_are_analyzed(org):
    rows = [
        BulkCustomer(values={"full_name": f"Nguyễn Văn {i}"}, phones=[(f"+8491234{i:04d}", "mobile")])
        for i in range(5)
    ]
    if connection.vendor == "postgresql":
        assert reltuples() <= 0  # never analysed in this test database
        customers_bulk_insert(rows[:2], analyze_after=10)  # small load: statistics left alone
        assert reltuples() <= 0
        customers_bulk_insert(rows[2:], analyze_after=3)  # inside the test's transaction
        assert reltuples() == 5
    else:
        customers_bulk_insert(rows, analyze_after=1)  # a no-op on SQLite, and no error
    assert Customer.objects.count() == 5
