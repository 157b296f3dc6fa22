"""The re-index job recomputes search columns (tests run huey in immediate mode)."""

import pytest
from django.core.management import call_command

from careline.customers.models import Customer
from careline.customers.tasks import customer_reindex_task
from careline.customers.tests.factories import make_customer

pytestmark = pytest.mark.django_db


def test_reindex_task_restores_stale_search_columns(org, django_capture_on_commit_callbacks):
    c = make_customer(org.consultant_hn, full_name="Đặng Thị Ánh", phones=["0912 345 678"])
    Customer.objects.filter(pk=c.pk).update(search_text="", name_folded="", given_folded="")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = customer_reindex_task.enqueue(c.pk, c.pk)
        c.refresh_from_db()
        assert c.search_text == ""  # nothing runs before the transaction commits
    assert len(callbacks) == 1
    result.refresh()
    c.refresh_from_db()
    assert result.return_value == 1
    assert c.name_folded == "dang thi anh"
    assert c.given_folded == "anh"
    assert " anh " in c.search_text and "0912345678" in c.search_text


def test_reindex_command_queues_chunks(org, django_capture_on_commit_callbacks):
    c = make_customer(org.consultant_hn, full_name="Lê Văn Bình")
    Customer.objects.filter(pk=c.pk).update(search_text="")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("reindex_customers")
    c.refresh_from_db()
    assert " binh " in c.search_text
