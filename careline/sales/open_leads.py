"""Open leads per consultant (`sales.OpenLeadCount`), kept by database triggers.

An open lead is an inquiry with an owner, in status `assigned` or `contacted`, whose customer is in stage
`lead`: what a rotation member's capacity caps. Allocation used to count them for every lead it placed
(O(open leads): 0.5–1 s with 200,000 open); it reads one row per member instead.

The count changes whenever an inquiry is inserted, deleted or changes owner, status or customer, and
whenever a customer enters or leaves stage `lead`. Triggers do it, so that every path (services, bulk SQL,
imports, merges, the admin) keeps it right:

* PostgreSQL: statement-level triggers on `sales_inquiry` (transition tables: one upsert per statement
  with the net change per owner, in owner order so that concurrent statements lock counters in the same
  order) and a row-level trigger on `customers_customer` that fires only when the stage enters or leaves
  `lead`.
* SQLite: row-level triggers (writers are serialised there).

A decrement never creates a row (a flush that empties the counters first must not leave negative rows).

Installed by migration `sales.0003_allocation_perf`. On SQLite a later migration that rebuilds
`sales_inquiry` or `customers_customer` (Django copies the table to alter it) drops their triggers, so
after every `migrate` `open_lead_triggers_ensure` puts back any that are missing and recounts.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, transaction

OPEN = "('assigned', 'contacted')"

PG_FORWARD = [
    f"""
CREATE OR REPLACE FUNCTION sales_open_leads_inquiries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO sales_openleadcount AS t (user_id, open_leads)
        SELECT n.owner_id, count(*) FROM new_rows n JOIN customers_customer c ON c.id = n.customer_id
        WHERE n.owner_id IS NOT NULL AND n.status IN {OPEN} AND c.stage = 'lead'
        GROUP BY n.owner_id ORDER BY n.owner_id
        ON CONFLICT (user_id) DO UPDATE SET open_leads = t.open_leads + EXCLUDED.open_leads;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE sales_openleadcount AS t SET open_leads = t.open_leads - d.n
        FROM (
            SELECT o.owner_id, count(*) AS n FROM old_rows o JOIN customers_customer c ON c.id = o.customer_id
            WHERE o.owner_id IS NOT NULL AND o.status IN {OPEN} AND c.stage = 'lead'
            GROUP BY o.owner_id ORDER BY o.owner_id
        ) AS d
        WHERE t.user_id = d.owner_id;
    ELSE
        WITH changed AS (
            SELECT o.owner_id AS old_owner, o.status AS old_status, o.customer_id AS old_customer,
                   n.owner_id AS new_owner, n.status AS new_status, n.customer_id AS new_customer
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.owner_id IS DISTINCT FROM n.owner_id OR o.status <> n.status
               OR o.customer_id <> n.customer_id
        ), delta AS (
            SELECT ch.old_owner AS user_id, -1 AS n
            FROM changed ch JOIN customers_customer c ON c.id = ch.old_customer
            WHERE ch.old_owner IS NOT NULL AND ch.old_status IN {OPEN} AND c.stage = 'lead'
            UNION ALL
            SELECT ch.new_owner, 1
            FROM changed ch JOIN customers_customer c ON c.id = ch.new_customer
            WHERE ch.new_owner IS NOT NULL AND ch.new_status IN {OPEN} AND c.stage = 'lead'
        ), net AS (
            SELECT user_id, sum(n)::integer AS n FROM delta GROUP BY user_id HAVING sum(n) <> 0
        )
        INSERT INTO sales_openleadcount AS t (user_id, open_leads)
        SELECT user_id, n FROM net
        WHERE n > 0 OR EXISTS (SELECT 1 FROM sales_openleadcount x WHERE x.user_id = net.user_id)
        ORDER BY user_id
        ON CONFLICT (user_id) DO UPDATE SET open_leads = t.open_leads + EXCLUDED.open_leads;
    END IF;
    RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER sales_open_leads_insert AFTER INSERT ON sales_inquiry
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sales_open_leads_inquiries()
""",
    """
CREATE TRIGGER sales_open_leads_update AFTER UPDATE ON sales_inquiry
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION sales_open_leads_inquiries()
""",
    """
CREATE TRIGGER sales_open_leads_delete AFTER DELETE ON sales_inquiry
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sales_open_leads_inquiries()
""",
    f"""
CREATE OR REPLACE FUNCTION sales_open_leads_stage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.stage = 'lead' THEN
        INSERT INTO sales_openleadcount AS t (user_id, open_leads)
        SELECT q.owner_id, count(*) FROM sales_inquiry q
        WHERE q.customer_id = NEW.id AND q.owner_id IS NOT NULL AND q.status IN {OPEN}
        GROUP BY q.owner_id ORDER BY q.owner_id
        ON CONFLICT (user_id) DO UPDATE SET open_leads = t.open_leads + EXCLUDED.open_leads;
    ELSE
        UPDATE sales_openleadcount AS t SET open_leads = t.open_leads - d.n
        FROM (
            SELECT q.owner_id, count(*) AS n FROM sales_inquiry q
            WHERE q.customer_id = NEW.id AND q.owner_id IS NOT NULL AND q.status IN {OPEN}
            GROUP BY q.owner_id ORDER BY q.owner_id
        ) AS d
        WHERE t.user_id = d.owner_id;
    END IF;
    RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER sales_open_leads_stage AFTER UPDATE OF stage ON customers_customer
FOR EACH ROW WHEN ((OLD.stage = 'lead') IS DISTINCT FROM (NEW.stage = 'lead'))
EXECUTE FUNCTION sales_open_leads_stage()
""",
]

PG_REVERSE = [
    "DROP TRIGGER IF EXISTS sales_open_leads_stage ON customers_customer",
    "DROP FUNCTION IF EXISTS sales_open_leads_stage()",
    "DROP TRIGGER IF EXISTS sales_open_leads_insert ON sales_inquiry",
    "DROP TRIGGER IF EXISTS sales_open_leads_update ON sales_inquiry",
    "DROP TRIGGER IF EXISTS sales_open_leads_delete ON sales_inquiry",
    "DROP FUNCTION IF EXISTS sales_open_leads_inquiries()",
]


def _is_open(row: str) -> str:
    """SQLite: `row` (NEW or OLD) is an open lead."""
    return (
        f"{row}.owner_id IS NOT NULL AND {row}.status IN {OPEN}"
        f" AND (SELECT stage FROM customers_customer WHERE id = {row}.customer_id) = 'lead'"
    )


INCREMENT = (
    "INSERT INTO sales_openleadcount (user_id, open_leads) VALUES (NEW.owner_id, 1)"
    " ON CONFLICT (user_id) DO UPDATE SET open_leads = open_leads + 1;"
)
DECREMENT = "UPDATE sales_openleadcount SET open_leads = open_leads - 1 WHERE user_id = OLD.owner_id;"

SQLITE_FORWARD = [
    f"""
CREATE TRIGGER sales_open_leads_insert AFTER INSERT ON sales_inquiry
WHEN {_is_open("NEW")}
BEGIN {INCREMENT} END
""",
    f"""
CREATE TRIGGER sales_open_leads_delete AFTER DELETE ON sales_inquiry
WHEN {_is_open("OLD")}
BEGIN {DECREMENT} END
""",
    f"""
CREATE TRIGGER sales_open_leads_update_old AFTER UPDATE OF owner_id, status, customer_id ON sales_inquiry
WHEN (OLD.owner_id IS NOT NEW.owner_id OR OLD.status IS NOT NEW.status OR OLD.customer_id IS NOT NEW.customer_id)
  AND {_is_open("OLD")}
BEGIN {DECREMENT} END
""",
    f"""
CREATE TRIGGER sales_open_leads_update_new AFTER UPDATE OF owner_id, status, customer_id ON sales_inquiry
WHEN (OLD.owner_id IS NOT NEW.owner_id OR OLD.status IS NOT NEW.status OR OLD.customer_id IS NOT NEW.customer_id)
  AND {_is_open("NEW")}
BEGIN {INCREMENT} END
""",
    f"""
CREATE TRIGGER sales_open_leads_stage_in AFTER UPDATE OF stage ON customers_customer
WHEN OLD.stage IS NOT 'lead' AND NEW.stage = 'lead'
BEGIN
    INSERT INTO sales_openleadcount (user_id, open_leads)
    SELECT owner_id, count(*) FROM sales_inquiry
    WHERE customer_id = NEW.id AND owner_id IS NOT NULL AND status IN {OPEN}
    GROUP BY owner_id
    ON CONFLICT (user_id) DO UPDATE SET open_leads = open_leads + excluded.open_leads;
END
""",
    f"""
CREATE TRIGGER sales_open_leads_stage_out AFTER UPDATE OF stage ON customers_customer
WHEN OLD.stage = 'lead' AND NEW.stage IS NOT 'lead'
BEGIN
    UPDATE sales_openleadcount SET open_leads = open_leads - (
        SELECT count(*) FROM sales_inquiry q
        WHERE q.customer_id = NEW.id AND q.owner_id = sales_openleadcount.user_id AND q.status IN {OPEN}
    )
    WHERE user_id IN (
        SELECT owner_id FROM sales_inquiry WHERE customer_id = NEW.id AND status IN {OPEN}
    );
END
""",
]

SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "sales_open_leads_insert",
        "sales_open_leads_delete",
        "sales_open_leads_update_old",
        "sales_open_leads_update_new",
        "sales_open_leads_stage_in",
        "sales_open_leads_stage_out",
    )
]

FILL = f"""
INSERT INTO sales_openleadcount (user_id, open_leads)
SELECT q.owner_id, count(*) FROM sales_inquiry q JOIN customers_customer c ON c.id = q.customer_id
WHERE q.owner_id IS NOT NULL AND q.status IN {OPEN} AND c.stage = 'lead'
GROUP BY q.owner_id
"""


TRIGGER_NAMES = (
    "sales_open_leads_insert",
    "sales_open_leads_update",
    "sales_open_leads_delete",
    "sales_open_leads_stage",
)
SQLITE_TRIGGER_NAMES = (
    "sales_open_leads_insert",
    "sales_open_leads_delete",
    "sales_open_leads_update_old",
    "sales_open_leads_update_new",
    "sales_open_leads_stage_in",
    "sales_open_leads_stage_out",
)


def _statements(vendor: str) -> tuple[list[str], list[str]]:
    if vendor == "postgresql":
        return PG_FORWARD, PG_REVERSE
    if vendor == "sqlite":
        return SQLITE_FORWARD, SQLITE_REVERSE
    raise NotImplementedError(f"open-lead counter triggers for {vendor}")


def open_lead_triggers_install(connection: Any) -> None:
    """(Re)create the triggers and recount every consultant's open leads, in one transaction."""
    forward, reverse = _statements(connection.vendor)
    with transaction.atomic(using=connection.alias), connection.cursor() as cur:
        for sql in reverse:
            cur.execute(sql)
        for sql in forward:
            cur.execute(sql)
        cur.execute("DELETE FROM sales_openleadcount")
        cur.execute(FILL)


def open_lead_triggers_uninstall(connection: Any) -> None:
    _forward, reverse = _statements(connection.vendor)
    with connection.cursor() as cur:
        for sql in reverse:
            cur.execute(sql)


def open_lead_triggers_present(connection: Any) -> bool:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname = ANY(%s)",
                [list(TRIGGER_NAMES)],
            )
            return bool(cur.fetchone()[0] == len(TRIGGER_NAMES))
        placeholders = ", ".join(["%s"] * len(SQLITE_TRIGGER_NAMES))
        cur.execute(
            f"SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ({placeholders})",
            list(SQLITE_TRIGGER_NAMES),
        )
        return bool(cur.fetchone()[0] == len(SQLITE_TRIGGER_NAMES))


def open_lead_triggers_ensure(sender: Any = None, using: str = "default", **kwargs: Any) -> None:
    """post_migrate: put the triggers back (and recount) when a migration dropped them. Django sends the
    signal once per app; the check runs once, for the sales app."""
    if sender is not None and getattr(sender, "label", "sales") != "sales":
        return
    connection = connections[using]
    if connection.vendor not in ("postgresql", "sqlite"):
        return
    with connection.cursor() as cur:
        tables = connection.introspection.table_names(cur)
    if "sales_openleadcount" not in tables:
        return  # migrating backwards, or sales not migrated yet
    if not open_lead_triggers_present(connection):
        open_lead_triggers_install(connection)
