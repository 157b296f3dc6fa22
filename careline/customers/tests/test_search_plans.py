"""Research pitfall P1: prepared statements switch PostgreSQL to a generic plan that ruins trigram search.

Django's psycopg 3 connection binds parameters client-side and disables prepared statements unless
`server_side_binding` / `prepare_threshold` are set; this keeps it that way.
"""

import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.django_db


def test_search_queries_are_never_prepared():
    options = settings.DATABASES["default"].get("OPTIONS", {})
    assert options.get("server_side_binding") is not True
    assert options.get("prepare_threshold") is None
    if connection.vendor == "postgresql":
        import psycopg

        connection.ensure_connection()
        raw = connection.connection
        assert raw.prepare_threshold is None
        with connection.cursor() as cursor:
            assert isinstance(cursor.cursor, psycopg.ClientCursor)


def test_trigram_index_exists_on_postgresql_and_search_column_everywhere():
    columns = {
        c.name
        for c in connection.introspection.get_table_description(connection.cursor(), "customers_customer")
    }
    assert {"search_text", "name_folded", "given_folded"} <= columns
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'customers_customer' AND indexname = 'customers_search_trgm_idx'"
            )
            (indexdef,) = cursor.fetchone()
        assert "gin_trgm_ops" in indexdef
