"""PostgreSQL only: trigram index for the search box and byte-order ("C") collation on the folded columns.

The folded columns hold ASCII text; the "C" collation makes ORDER BY identical to SQLite's and lets the
btree serve `LIKE 'prefix%'`. The GIN pg_trgm index serves `search_text LIKE '% token%'`. SQLite needs
neither (same column, same LIKE), so these statements are skipped there.
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    'ALTER TABLE customers_customer ALTER COLUMN name_folded TYPE varchar(200) COLLATE "C"',
    'ALTER TABLE customers_customer ALTER COLUMN given_folded TYPE varchar(60) COLLATE "C"',
    'ALTER TABLE customers_customer ALTER COLUMN search_text TYPE text COLLATE "C"',
    "CREATE INDEX IF NOT EXISTS customers_search_trgm_idx ON customers_customer USING gin (search_text gin_trgm_ops)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS customers_search_trgm_idx",
    "ALTER TABLE customers_customer ALTER COLUMN search_text TYPE text COLLATE \"default\"",
    "ALTER TABLE customers_customer ALTER COLUMN given_folded TYPE varchar(60) COLLATE \"default\"",
    "ALTER TABLE customers_customer ALTER COLUMN name_folded TYPE varchar(200) COLLATE \"default\"",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in FORWARD:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in BACKWARD:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
