import pytest, time
from django.db import connection
from django.test.utils import CaptureQueriesContext
pytestmark = pytest.mark.django_db

def test_a(request, django_db_setup, db):
    t = time.perf_counter()
    with CaptureQueriesContext(connection) as ctx:
        org = request.getfixturevalue("org")
    print("org", time.perf_counter() - t, len(ctx.captured_queries))
    from careline.customers.tests.factories import make_customer
    t = time.perf_counter()
    with CaptureQueriesContext(connection) as ctx:
        make_customer(org.consultant_hn, phones=["0912345678"], tags=["a"])
    print("cust", time.perf_counter() - t, len(ctx.captured_queries))
