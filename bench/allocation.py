"""Allocation benchmark: the queue run against one set-based SQL statement, and one new lead's latency —
in one run, on PostgreSQL.

    .venv/bin/python bench/allocation.py                        # 200,000 queued leads, 50 consultants, 3 rounds
    .venv/bin/python bench/allocation.py --leads 20000 --rounds 1 --http-seconds 10   # quick check
    .venv/bin/python bench/allocation.py --profile              # cProfile of the queue run (one copy)

Data (loaded once into `careline_bench_alloc`, kept; reruns skip the load): one branch, one team, 50
consultants in ONE weighted rule with weights 5..50. A member's capacity is both its weight and its hard
limit of open leads, so the capacities are the weights × 1,000 (5,000..50,000): 200,000 leads never fill
anyone and the capacities act as weights only. 200,000 leads: customers in stage `lead` with a mobile phone
(`customers_bulk_insert`, COPY) and one queued inquiry each (COPY), received one second apart. VACUUM
ANALYZE after the load.

Each round works on fresh copies of that database (`CREATE DATABASE … TEMPLATE`, dropped afterwards):

* ours: `leads_allocate_queued()` end to end, in a child process (`CARELINE_DEBUG=0`): read the queue in
  batches, pick in Python (`sales.allocation.Rotation`), write inquiries, customers, the assignment log,
  members' counters, the rule's rotation state, one audit event and one notice per consultant per batch;
* raw: ONE data-modifying CTE on an identical copy: members expanded into weighted slots (slot k of a
  member of weight w sorts at (k − ½)/w: a smooth weighted round-robin), queued leads numbered by
  received_at, lead n → slot n mod total weight, and the same writes: inquiry owner/team/branch/status/
  assigned_at/contact_due_at/rule, customer owner/team/branch/version, one assignment log row per lead.
  No rotation state, counters, audit or notices (ours writes those on top).
  Both are checked afterwards: nothing queued, one log row per lead, every customer's owner = its
  inquiry's, and per-consultant counts within ±1 of 200,000 × w/W for both.
  Goal (issue): ours ≥ 25% of raw's rows/s. Ours and raw alternate which goes first.
* one new lead, on a fresh copy (200,000 queued leads in the table, nobody has open leads yet):
  (a) `inquiry_allocate` in-process for leads received unallocated, one every 1/rate s;
  (b) `POST /api/v1/inquiries` (creates the customer and the inquiry, allocates) against the real
  server (bench/_server.py) — granian wsgi, --workers 2 and its threads as `careline run`, DEBUG off —
  open loop at --rate leads/s for --http-seconds: each request has a scheduled send time and its
  latency counts from that time (no coordinated omission); 16 client threads, keep-alive.
  (a′) the same as (a) on the copy ours just allocated (200,000 open leads: 4,000 per consultant): the
  capacity check must not grow with the open leads (it reads the counter sales.OpenLeadCount).
  `--skip-raw` runs ours only (no ratio), for (a′) without the raw baseline.
  Goal (issue): p95 ≤ 20 ms at 50 leads/s.

The machine has 2 cores shared by the client, the server, PostgreSQL and other work (pitfall P6): run
2–3 rounds and read the medians, compare ratios. Figures are written as JSON to bench/results/. Benchmarks
are not tests: the script exits non-zero on errors (failed checks, non-2xx answers), not on a missed goal.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import http.client
import io
import json
import math
import os
import pstats
import queue
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql as pgsql  # noqa: E402

from bench._server import Server, run_threads  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
CARELINE = (
    [str(VENV_BIN / "careline")] if (VENV_BIN / "careline").exists() else [PYTHON, "-m", "careline.cli.main"]
)
DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/careline_bench_alloc"
RESULTS_DIR = ROOT / "bench" / "results"
RULE_NAME = "Bench: weighted, 50 consultants"
ADMIN = "bench.alloc"
CAPACITY_UNIT = 1000  # capacity = weight × this: never reached, so capacities act as weights only
OVERLOAD_S = 10.0  # an answer this late: the server is not keeping up with the open-loop rate


def weights_for(n: int) -> list[int]:
    """Weights 5..50 spread over the members (37 is prime to 46: the first 46 get every weight once)."""
    return [5 + (i * 37) % 46 for i in range(n)]


# --- helpers -----------------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(msg, flush=True)


def percentile(values: list[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100), like numpy's default."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def with_dbname(url: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + dbname))


def db_name(url: str) -> str:
    return urllib.parse.urlsplit(url).path.lstrip("/")


def admin_url(url: str) -> str:
    return with_dbname(url, "postgres")


def run_cli(args: list[str], env: dict[str, str], capture: bool = False) -> str:
    proc = subprocess.run(
        [*CARELINE, *args],
        cwd=ROOT,
        env=env,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return proc.stdout or ""


def django_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "careline.config.settings",
        "CARELINE_DATABASE_URL": url,
        "CARELINE_DEBUG": "0",
        "CARELINE_ALLOWED_HOSTS": "127.0.0.1",
    }


def server_facts(url: str) -> str:
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        settings = {
            k: conn.execute(pgsql.SQL("SHOW {}").format(pgsql.Identifier(k))).fetchone()[0]
            for k in ("shared_buffers", "work_mem", "synchronous_commit", "jit", "autovacuum")
        }
    cpus = os.cpu_count()
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, IndexError, ValueError):
        pass
    pg = ", ".join(f"{k} {v}" for k, v in settings.items())
    load = ""
    with contextlib.suppress(OSError):
        load = ", load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return f"{cpus} CPUs{mem}{load}; PostgreSQL {version} ({pg}); Python {sys.version.split()[0]}"


def drop_database(url: str) -> None:
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        conn.execute(
            pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(db_name(url)))
        )


def copy_database(template_url: str, name: str) -> str:
    """A fresh copy of the loaded database (file copy: faster than WAL-logging 200k rows × indexes)."""
    url = with_dbname(template_url, name)
    drop_database(url)
    with psycopg.connect(admin_url(template_url), autocommit=True) as conn:
        conn.execute(
            pgsql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                pgsql.Identifier(name), pgsql.Identifier(db_name(template_url))
            )
        )
    return url


def checkpoint(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


# --- child processes (Django set up with CARELINE_DATABASE_URL) ----------------------------------------


def child(mode: str, url: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run `bench/allocation.py --child MODE` against `url`; returns the JSON it writes."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = Path(f.name)
    try:
        subprocess.run(
            [
                PYTHON,
                __file__,
                "--child",
                mode,
                "--db",
                url,
                "--child-params",
                json.dumps(params),
                "--child-out",
                str(out),
            ],
            cwd=ROOT,
            env=django_env(url),
            check=True,
        )
        return json.loads(out.read_text(encoding="utf-8"))
    finally:
        out.unlink(missing_ok=True)


def _django() -> None:
    import django

    django.setup()


def child_load(params: dict[str, Any]) -> dict[str, Any]:
    """Organisation, rule and `leads` queued leads (idempotent: nothing to do when already loaded)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from careline.accounts.models import Branch, Team
    from careline.accounts.services import roles_ensure_defaults, user_create
    from careline.cli.demo import GIVEN_F, GIVEN_M, MIDDLE_F, MIDDLE_M, SURNAMES
    from careline.customers.bulk import BulkCustomer, customers_bulk_insert
    from careline.sales.models import AllocationMember, AllocationRule, Inquiry

    leads, consultants = int(params["leads"]), int(params["consultants"])
    if AllocationRule.objects.filter(name=RULE_NAME).exists():
        return {"loaded": False, "inquiries": Inquiry.objects.count()}
    t0 = time.perf_counter()
    roles_ensure_defaults()
    with transaction.atomic():
        branch = Branch.objects.create(code="bench", name="Chi nhánh bench", province="01")
        team = Team.objects.create(branch=branch, name="Tư vấn bench")
        user_create(actor=None, username=ADMIN, role="admin", is_superuser=True, branch=branch)
        users = [
            user_create(
                actor=None,
                username=f"bench.tv{i:02d}",
                role="consultant",
                team=team,
                display_name=f"Tư vấn viên {i:02d}",
            )
            for i in range(consultants)
        ]
        rule = AllocationRule.objects.create(
            name=RULE_NAME,
            team=team,
            branch=branch,
            strategy="weighted",
            respect_working_hours=False,
            reclaim_after_minutes=1440,
        )
        AllocationMember.objects.bulk_create(
            [
                AllocationMember(rule=rule, user=u, position=i, capacity=w * CAPACITY_UNIT)
                for i, (u, w) in enumerate(zip(users, weights_for(consultants), strict=True))
            ]
        )
    rng = random.Random(2026)
    start = timezone.now() - dt.timedelta(seconds=leads + 3600)
    names: list[str] = []
    phones: list[str] = []

    def customers() -> Any:
        for i in range(leads):
            surname = rng.choice(SURNAMES)[0]
            female = rng.random() < 0.55
            name = f"{surname} {rng.choice(MIDDLE_F if female else MIDDLE_M)} {rng.choice(GIVEN_F if female else GIVEN_M)}"
            phone = f"+8490{i:07d}"
            names.append(name)
            phones.append(phone)
            yield BulkCustomer(
                values={
                    "kind": "person",
                    "full_name": name,
                    "stage": "lead",
                    "source": "web",
                    "owner_id": None,
                    "team_id": team.pk,
                    "branch_id": branch.pk,
                    "province": "01",
                    "created_at": start + dt.timedelta(seconds=i),
                },
                phones=[(phone, "mobile")],
            )

    ids = customers_bulk_insert(customers(), batch_size=10_000)
    t_customers = time.perf_counter() - t0
    cols = [
        "created_at", "updated_at", "customer_id", "channel", "external_id", "received_at", "full_name",
        "phone", "email", "message", "product_interest", "language", "province", "consent", "payload",
        "score", "new_customer", "status", "team_id", "branch_id",
    ]  # fmt: skip
    messages = [
        "Cho em xin học phí khoá IELTS buổi tối",
        "Tư vấn giúp mình gói cước doanh nghiệp",
        "Tôi muốn đặt lịch hẹn tư vấn",
        "Bên mình có giao hàng tỉnh không?",
    ]
    with (
        transaction.atomic(),
        connection.cursor() as cur,
        cur.cursor.copy(f"COPY sales_inquiry ({', '.join(cols)}) FROM STDIN") as copy,
    ):
        for i, cid in enumerate(ids):
            at = start + dt.timedelta(seconds=i)
            copy.write_row(
                [at, at, cid, "web", "", at, names[i], phones[i], "", messages[i % 4], "", "vi", "01",
                 False, "{}", 55, True, "queued", team.pk, branch.pk]
            )  # fmt: skip
    return {
        "loaded": True,
        "inquiries": Inquiry.objects.count(),
        "customers_s": t_customers,
        "total_s": time.perf_counter() - t0,
    }


def child_ours(params: dict[str, Any]) -> dict[str, Any]:
    from django.db import connection

    from careline.sales.services import leads_allocate_queued

    connection.ensure_connection()
    kwargs = {"batch": int(params["batch"])} if params.get("batch") else {}
    profiler = cProfile.Profile() if params.get("profile") else None
    cpu = time.process_time()
    t = time.perf_counter()
    if profiler:
        profiler.enable()
    stats = leads_allocate_queued(**kwargs)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - t
    result: dict[str, Any] = {
        "seconds": elapsed,
        "python_cpu_s": time.process_time() - cpu,
        "assigned": stats.assigned,
        "considered": stats.considered,
        "still_queued": stats.still_queued,
    }
    if profiler:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"allocation-profile-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}.prof"
        profiler.dump_stats(path)
        buf = io.StringIO()
        ps = pstats.Stats(profiler, stream=buf)
        ps.sort_stats("cumulative").print_stats(30)
        ps.sort_stats("tottime").print_stats(25)
        result["profile"] = buf.getvalue()
        result["profile_path"] = str(path)
    return result


def child_single(params: dict[str, Any]) -> dict[str, Any]:
    """One new lead at a time, one every 1/rate s (timed each):

    * mode "allocate": leads received without allocation first (not timed), then `inquiry_allocate`;
    * mode "receive": `inquiry_receive` as the API calls it (intake: customer, inquiry, consent, audit;
      then allocation), as the bench user — the API's work without HTTP.
    Also counts the SQL statements of one call, and with "profile" runs cProfile over the timed calls."""
    from django.db import connection

    from careline.accounts.models import User
    from careline.sales import services
    from careline.sales.choices import InquiryStatus

    n, rate, base = int(params["n"]), float(params["rate"]), int(params["phone_base"])
    mode = params.get("mode", "allocate")
    connection.ensure_connection()
    actor = User.objects.get(username=ADMIN)

    def data(i: int) -> Any:
        return services.InquiryData(
            channel="web", full_name=f"Khách lẻ {i}", phone=f"+8493{base + i:07d}", message="Cho em hỏi giá"
        )

    if mode == "allocate":
        ids = [
            services.inquiry_receive(actor=None, data=data(i), allocate=False).inquiry.pk
            for i in range(n + 2)
        ]

        def call(i: int) -> Any:
            return services.inquiry_allocate(inquiry_id=ids[i])
    else:

        def call(i: int) -> Any:
            return services.inquiry_receive(actor=actor, data=data(i)).inquiry

    statements = 0

    def count(execute: Any, sql: str, sql_params: Any, many: bool, context: Any) -> Any:
        nonlocal statements
        statements += 1
        return execute(sql, sql_params, many, context)

    call(n + 1)  # warm-up (the per-process caches: system user, content types), not counted
    with connection.execute_wrapper(count):
        call(n)  # counted and not timed
    profiler = cProfile.Profile() if params.get("profile") else None
    times: list[float] = []
    cpu: list[float] = []
    assigned = 0
    next_at = time.perf_counter()
    for i in range(n):
        next_at += 1 / rate
        if profiler:
            profiler.enable()
        c = time.process_time()
        t = time.perf_counter()
        inquiry = call(i)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        if profiler:
            profiler.disable()
        assigned += inquiry.status == InquiryStatus.ASSIGNED
        pause = next_at - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    result: dict[str, Any] = {
        "n": n,
        "assigned": assigned,
        "times": times,
        "cpu": cpu,
        "statements": statements,
    }
    if profiler:
        buf = io.StringIO()
        ps = pstats.Stats(profiler, stream=buf)
        ps.sort_stats("cumulative").print_stats(45)
        result["profile"] = buf.getvalue()
    return result


def child_main(args: argparse.Namespace) -> int:
    _django()
    params = json.loads(args.child_params or "{}")
    fn = {"load": child_load, "ours": child_ours, "single": child_single}[args.child]
    result = fn(params)
    Path(args.child_out).write_text(json.dumps(result, default=str), encoding="utf-8")
    return 0


# --- the raw baseline -------------------------------------------------------------------------------

RAW_SQL = """
WITH rule AS (
    SELECT id, team_id, branch_id, left(name, 300) AS note FROM sales_allocationrule WHERE name = %(rule)s
),
members AS (
    SELECT m.id AS member_id, m.position, m.user_id, m.capacity / %(unit)s AS w,
           COALESCE(u.team_id, r.team_id) AS team_id, COALESCE(u.branch_id, r.branch_id) AS branch_id
    FROM sales_allocationmember m
    JOIN rule r ON r.id = m.rule_id
    JOIN accounts_user u ON u.id = m.user_id
    WHERE m.active AND u.is_active
),
slots AS (
    SELECT row_number() OVER (ORDER BY (k - 0.5) / w, position, member_id) - 1 AS slot,
           user_id, team_id, branch_id
    FROM members, generate_series(1, w) AS k
),
leads AS (
    SELECT q.id, q.customer_id, row_number() OVER (ORDER BY q.received_at, q.id) - 1 AS n
    FROM sales_inquiry q
    WHERE q.status = 'queued'
),
picked AS (
    SELECT l.id, l.customer_id, s.user_id, s.team_id, s.branch_id
    FROM leads l
    JOIN slots s ON s.slot = l.n %% (SELECT count(*) FROM slots)
),
inquiries AS (
    UPDATE sales_inquiry q
    SET owner_id = p.user_id, team_id = p.team_id, branch_id = p.branch_id, status = 'assigned',
        assigned_at = %(now)s, contact_due_at = %(due)s, rule_id = (SELECT id FROM rule), updated_at = %(now)s
    FROM picked p
    WHERE q.id = p.id
),
customers AS (
    UPDATE customers_customer c
    SET owner_id = p.user_id, team_id = p.team_id, branch_id = p.branch_id, version = c.version + 1,
        updated_at = %(now)s
    FROM picked p
    WHERE c.id = p.customer_id
)
INSERT INTO sales_assignment (created_at, inquiry_id, customer_id, from_user_id, to_user_id, reason, rule_id,
                              actor_id, note)
SELECT %(now)s, p.id, p.customer_id, NULL, p.user_id, 'rule', r.id, NULL, r.note
FROM picked p, rule r
"""


def run_raw(url: str) -> dict[str, Any]:
    with psycopg.connect(url, prepare_threshold=None) as conn:
        now = dt.datetime.now(dt.UTC)
        t = time.perf_counter()
        with conn.transaction():
            cur = conn.execute(
                RAW_SQL,
                {
                    "rule": RULE_NAME,
                    "unit": CAPACITY_UNIT,
                    "now": now,
                    "due": now + dt.timedelta(minutes=1440),
                },
            )
            inserted = cur.rowcount
        return {"seconds": time.perf_counter() - t, "assigned": inserted}


# --- checks ------------------------------------------------------------------------------------------


def check_allocated(url: str, leads: int, consultants: int) -> dict[int, int]:
    """Nothing queued, one log row per lead, customers follow their inquiry, per-consultant counts within
    ±1 of leads × w/W. Returns leads per member position."""
    with psycopg.connect(url) as conn:
        queued = conn.execute("SELECT count(*) FROM sales_inquiry WHERE status = 'queued'").fetchone()[0]
        logs = conn.execute(
            "SELECT count(*), count(DISTINCT inquiry_id) FROM sales_assignment WHERE reason = 'rule'"
        ).fetchone()
        mismatched = conn.execute(
            "SELECT count(*) FROM sales_inquiry i JOIN customers_customer c ON c.id = i.customer_id"
            " WHERE c.owner_id IS DISTINCT FROM i.owner_id"
        ).fetchone()[0]
        rows = conn.execute(
            "SELECT m.position, m.capacity, count(i.id) FROM sales_allocationmember m"
            " LEFT JOIN sales_inquiry i ON i.owner_id = m.user_id GROUP BY m.position, m.capacity"
        ).fetchall()
    problems = []
    if queued:
        problems.append(f"{queued} still queued")
    if logs[0] != leads or logs[1] != leads:
        problems.append(f"assignment rows {logs[0]} (distinct inquiries {logs[1]}), expected {leads}")
    if mismatched:
        problems.append(f"{mismatched} customers whose owner differs from their inquiry's")
    total_w = sum(cap for _pos, cap, _n in rows)
    worst = max(abs(n - leads * cap / total_w) for _pos, cap, n in rows)
    if worst > 1 + 1e-9:
        problems.append(f"a consultant is {worst:.2f} leads away from their weighted share")
    if len(rows) != consultants:
        problems.append(f"{len(rows)} members, expected {consultants}")
    if problems:
        raise SystemExit(f"check failed on {db_name(url)}: " + "; ".join(problems))
    return {pos: n for pos, _cap, n in rows}


# --- the open-loop client (the server: bench/_server.py) ---------------------------------------------------------------


def post_open_loop(port: int, token: str, rate: float, seconds: float, phone_base: int) -> dict[str, Any]:
    """POST /api/v1/inquiries at `rate`/s for `seconds` (open loop). Latency = answer time − scheduled
    send time, so a slow answer delays nothing but is counted in full, with any queueing it caused.

    When the server cannot keep up, the backlog (and every later latency) grows without bound: once an
    answer comes OVERLOAD_S after its scheduled time, no new request is started and the run is reported
    as overloaded, with the rate the server did sustain."""
    n = int(rate * seconds)
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    todo: queue.Queue[int] = queue.Queue()
    for i in range(n):
        todo.put(i)
    latency: list[float | None] = [None] * n
    service: list[float | None] = [None] * n
    errors: list[str] = []
    unassigned = 0
    lock = threading.Lock()
    overloaded = threading.Event()
    last_answer = 0.0
    start = time.perf_counter() + 0.2

    def worker() -> None:
        nonlocal unassigned, last_answer
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while not overloaded.is_set():
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                due = start + i / rate
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                body = json.dumps(
                    {
                        "full_name": f"Khách API {i}",
                        "phone": f"+8494{phone_base + i:07d}",
                        "channel": "web",
                        "message": "Cho em hỏi giá khoá học",
                    }  # fmt: skip
                )
                sent = time.perf_counter()
                try:
                    conn.request("POST", "/api/v1/inquiries", body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                except (http.client.HTTPException, OSError) as exc:
                    conn.close()
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                done = time.perf_counter()
                latency[i], service[i] = done - due, done - sent
                with lock:
                    last_answer = max(last_answer, done)
                if done - due > OVERLOAD_S:
                    overloaded.set()
                if resp.status != 201:
                    with lock:
                        errors.append(f"{resp.status}: {data[:200]!r}")
                elif json.loads(data).get("owner_id") is None:
                    with lock:
                        unassigned += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat = [x for x in latency if x is not None]
    svc = [x for x in service if x is not None]
    return {
        "n": n,
        "answered": len(lat),
        "overloaded": overloaded.is_set(),
        "sustained_per_s": len(lat) / (last_answer - start) if last_answer > start else 0.0,
        "errors": errors[:10],
        "error_count": len(errors),
        "unassigned": unassigned,
        "p50_ms": percentile(lat, 50) * 1000,
        "p95_ms": percentile(lat, 95) * 1000,
        "p99_ms": percentile(lat, 99) * 1000,
        "max_ms": max(lat) * 1000 if lat else float("nan"),
        "service_p50_ms": percentile(svc, 50) * 1000,
        "service_p95_ms": percentile(svc, 95) * 1000,
    }


# --- the run -------------------------------------------------------------------------------------------


def prepare(url: str, leads: int, consultants: int) -> None:
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db_name(url)]).fetchone()
        if not exists:
            conn.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(db_name(url))))
    log(f"database {db_name(url)}: {'exists' if exists else 'created'}")
    env = django_env(url)
    t = time.perf_counter()
    run_cli(["manage", "migrate", "--no-input", "-v", "0"], env)
    log(f"migrate: {time.perf_counter() - t:.1f} s")
    with psycopg.connect(url) as conn:
        have = conn.execute(
            "SELECT (SELECT count(*) FROM sales_inquiry), (SELECT count(*) FROM sales_allocationmember m"
            " JOIN sales_allocationrule r ON r.id = m.rule_id WHERE r.name = %s),"
            " (SELECT count(*) FROM sales_inquiry WHERE status <> 'queued')",
            [RULE_NAME],
        ).fetchone()
    if have[0] and (have[0] != leads or have[1] != consultants or have[2]):
        log(
            f"the database holds {have[0]:,} inquiries / {have[1]} members: recreating it for {leads:,} / {consultants}"
        )
        drop_database(url)
        prepare(url, leads, consultants)
        return
    result = child("load", url, {"leads": leads, "consultants": consultants})
    if result["loaded"]:
        log(
            f"LOAD: {leads:,} leads (customers_bulk_insert {result['customers_s']:.1f} s, inquiries COPY) in"
            f" {result['total_s']:.1f} s"
        )
        with psycopg.connect(url, autocommit=True) as conn:
            t = time.perf_counter()
            conn.execute("VACUUM ANALYZE")
            log(f"VACUUM ANALYZE: {time.perf_counter() - t:.1f} s")
    else:
        log(f"data already loaded: {result['inquiries']:,} queued leads")


def ms(x: float) -> str:
    return f"{x * 1000:7.1f}" if x == x else "    n/a"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default=DEFAULT_DB, help="the loaded database (copies are made next to it)")
    ap.add_argument("--leads", type=int, default=200_000)
    ap.add_argument("--consultants", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=0, help="batch size for leads_allocate_queued (its default)")
    ap.add_argument("--rate", type=float, default=50.0, help="new leads per second (single-lead part)")
    ap.add_argument("--single", type=int, default=500, help="in-process single allocations per round")
    ap.add_argument("--http-seconds", type=float, default=30.0)
    ap.add_argument("--port", type=int, default=8797)
    ap.add_argument("--skip-single", action="store_true", help="only the queue run vs raw")
    ap.add_argument("--skip-queue", action="store_true", help="only the single-lead part")
    ap.add_argument(
        "--skip-raw",
        action="store_true",
        help="queue run: ours only (no raw baseline, no ratio) — e.g. for the single lead after it",
    )
    ap.add_argument("--profile", action="store_true", help="cProfile of ours on one copy, then stop")
    ap.add_argument(
        "--profile-single",
        action="store_true",
        help="cProfile of inquiry_receive (intake + allocation), then stop",
    )
    ap.add_argument(
        "--workers", type=int, default=2, help="granian workers (2: one per core, as `careline run`)"
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--child-params", help=argparse.SUPPRESS)
    ap.add_argument("--child-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child_main(args)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    base = args.db
    scratch = db_name(base) + "_run"
    server: Server | None = None
    result: dict[str, Any] = {
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "started": dt.datetime.now(dt.UTC).isoformat(),
        "leads": args.leads,
        "consultants": args.consultants,
        "rounds": [],
    }
    try:
        result["machine"] = server_facts(admin_url(base))
        log(f"machine: {result['machine']}")
        log(f"command: {result['command']}")
        prepare(base, args.leads, args.consultants)
        params = {"batch": args.batch} if args.batch else {}

        if args.profile_single:
            url = copy_database(base, scratch)
            checkpoint(url)
            out = child(
                "single",
                url,
                {"n": args.single, "rate": args.rate, "phone_base": 0, "mode": "receive", "profile": True},
            )
            log(out["profile"])
            log(f"inquiry_receive in-process: {fmt(summarise(out))}")
            drop_database(url)
            return 0

        if args.profile:
            url = copy_database(base, scratch)
            checkpoint(url)
            out = child("ours", url, {**params, "profile": True})
            log(out["profile"])
            log(f"ours under cProfile: {out['seconds']:.1f} s; profile in {out['profile_path']}")
            check_allocated(url, args.leads, args.consultants)
            drop_database(url)
            return 0

        for r in range(args.rounds):
            rnd: dict[str, Any] = {"round": r + 1}
            order: tuple[str, ...] = ("ours", "raw") if r % 2 == 0 else ("raw", "ours")
            if args.skip_queue:
                order = ()
            elif args.skip_raw:
                order = ("ours",)
            counts: dict[str, dict[int, int]] = {}
            for which in order:
                url = copy_database(base, scratch)
                checkpoint(url)
                out = child("ours", url, params) if which == "ours" else run_raw(url)
                if out["assigned"] != args.leads:
                    raise SystemExit(f"{which}: assigned {out['assigned']} of {args.leads}")
                counts[which] = check_allocated(url, args.leads, args.consultants)
                rnd[which] = {"seconds": out["seconds"], "rows_per_s": args.leads / out["seconds"]}
                cpu_note = ""
                if "python_cpu_s" in out:
                    rnd[which]["python_cpu_s"] = out["python_cpu_s"]
                    cpu_note = f", Python CPU {out['python_cpu_s']:.1f} s"
                log(
                    f"round {r + 1} {which:>4}: {out['seconds']:7.2f} s, {args.leads / out['seconds']:>9,.0f} leads/s"
                    f"{cpu_note} (checks passed)"
                )
                if which == "ours" and not args.skip_single:
                    # (a') one new lead with 200,000 open leads on the rule's members.
                    single = child(
                        "single", url, {"n": min(args.single, 200), "rate": args.rate, "phone_base": 0}
                    )
                    rnd["single_after_bulk"] = summarise(single)
                    log(f"round {r + 1} single after bulk (in-process): {fmt(rnd['single_after_bulk'])}")
                drop_database(url)
            if "ours" in rnd and "raw" in rnd:
                rnd["ratio"] = rnd["ours"]["rows_per_s"] / rnd["raw"]["rows_per_s"]
                rnd["max_count_diff"] = max(abs(counts["ours"][p] - counts["raw"][p]) for p in counts["ours"])
                log(
                    f"round {r + 1}: ours = {rnd['ratio']:.0%} of raw's rate; per-consultant counts differ by ≤ {rnd['max_count_diff']}"
                )

            if not args.skip_single:
                url = copy_database(base, scratch)
                checkpoint(url)
                single = child("single", url, {"n": args.single, "rate": args.rate, "phone_base": 0})
                rnd["single_in_process"] = summarise(single)
                log(
                    f"round {r + 1} inquiry_allocate (in-process, fresh copy): {fmt(rnd['single_in_process'])}"
                )
                single = child(
                    "single",
                    url,
                    {"n": args.single, "rate": args.rate, "phone_base": 1_000_000, "mode": "receive"},
                )
                rnd["receive_in_process"] = summarise(single)
                log(
                    f"round {r + 1} inquiry_receive (in-process, fresh copy): {fmt(rnd['receive_in_process'])}"
                )
                env = django_env(url)
                server = Server(
                    args.port,
                    env,
                    Path(tempfile.gettempdir()) / f"careline-bench-allocation-granian-{args.port}.log",
                    args.workers,
                    run_threads(),
                )
                server.start()
                token = (
                    run_cli(["token", ADMIN, "--name", "bench-allocation"], env, capture=True)
                    .strip()
                    .splitlines()[-1]
                )
                post_open_loop(args.port, token, args.rate, 2, phone_base=9_000_000)  # warm-up, not counted
                http_out = post_open_loop(args.port, token, args.rate, args.http_seconds, phone_base=0)
                server.stop()
                server = None
                rnd["http"] = http_out
                log(
                    f"round {r + 1} single (HTTP, {args.rate:g}/s open loop, {http_out['answered']}/{http_out['n']} answered,"
                    f" {'OVERLOADED, ' if http_out['overloaded'] else ''}sustained {http_out['sustained_per_s']:.1f}/s):"
                    f" p50 {http_out['p50_ms']:.1f} ms, p95 {http_out['p95_ms']:.1f} ms, p99 {http_out['p99_ms']:.1f} ms,"
                    f" max {http_out['max_ms']:.1f} ms; unassigned {http_out['unassigned']}, errors {http_out['error_count']}"
                )
                if http_out["error_count"]:
                    raise SystemExit(f"HTTP errors: {http_out['errors']}")
                drop_database(url)
            result["rounds"].append(rnd)

        report(result, args)
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"allocation-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        log(f"results: {path.relative_to(ROOT)}")
        return 0
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if server:
            server.stop()
        with contextlib.suppress(psycopg.Error):
            drop_database(with_dbname(base, scratch))


def summarise(out: dict[str, Any]) -> dict[str, Any]:
    """Wall time (what a caller waits: includes PostgreSQL and waiting for a core) and the Python process's
    CPU time per call (the web worker's own cost; much less sensitive to the machine's other work)."""
    times, cpu = out["times"], out.get("cpu", [])
    return {
        "n": len(times),
        "statements": out["statements"],
        "assigned": out["assigned"],
        "p50_ms": percentile(times, 50) * 1000,
        "p95_ms": percentile(times, 95) * 1000,
        "max_ms": max(times) * 1000 if times else math.nan,
        "cpu_p50_ms": percentile(cpu, 50) * 1000,
        "cpu_p95_ms": percentile(cpu, 95) * 1000,
    }


def fmt(s: dict[str, Any]) -> str:
    return (
        f"n {s['n']}, assigned {s['assigned']}, {s['statements']} SQL statements each, p50 {s['p50_ms']:.1f} ms,"
        f" p95 {s['p95_ms']:.1f} ms, max {s['max_ms']:.1f} ms; Python CPU p50 {s.get('cpu_p50_ms', math.nan):.1f}"
        f" ms, p95 {s.get('cpu_p95_ms', math.nan):.1f} ms"
    )


def report(result: dict[str, Any], args: argparse.Namespace) -> None:
    rounds = result["rounds"]

    def med(path: list[str]) -> float:
        values = []
        for r in rounds:
            v: Any = r
            for p in path:
                v = v.get(p) if isinstance(v, dict) else None
            if isinstance(v, int | float):
                values.append(float(v))
        return statistics.median(values) if values else math.nan

    summary = {
        "ours_s": med(["ours", "seconds"]),
        "raw_s": med(["raw", "seconds"]),
        "ours_rows_per_s": med(["ours", "rows_per_s"]),
        "raw_rows_per_s": med(["raw", "rows_per_s"]),
        "ratio": med(["ratio"]),
    }
    log("")
    log(f"{'':<34}{'round ' + ' / '.join(str(r['round']) for r in rounds):>28}{'median':>12}")

    def row(label: str, path: list[str], unit: str, scale: float = 1.0, digits: int = 1) -> None:
        vals = []
        for r in rounds:
            v: Any = r
            for p in path:
                v = v.get(p) if isinstance(v, dict) else None
            vals.append(f"{v * scale:,.{digits}f}" if isinstance(v, int | float) else "-")
        m = med(path)
        log(f"{label:<34}{' / '.join(vals):>28}{(f'{m * scale:,.{digits}f}' if m == m else '-'):>12} {unit}")

    row("queue run, ours", ["ours", "seconds"], "s", digits=2)
    row("queue run, raw (one CTE)", ["raw", "seconds"], "s", digits=2)
    row("queue run, ours: Python CPU", ["ours", "python_cpu_s"], "s")
    row("ours rate", ["ours", "rows_per_s"], "leads/s", digits=0)
    row("raw rate", ["raw", "rows_per_s"], "leads/s", digits=0)
    row("ours / raw", ["ratio"], "(goal ≥ 0.25)", digits=2)
    if not args.skip_single:
        row("one lead in-process p50", ["single_in_process", "p50_ms"], "ms")
        row("one lead in-process p95", ["single_in_process", "p95_ms"], "ms")
        row("intake + allocation in-process p50", ["receive_in_process", "p50_ms"], "ms")
        row("intake + allocation in-process p95", ["receive_in_process", "p95_ms"], "ms")
        row("one lead Python CPU p50", ["single_in_process", "cpu_p50_ms"], "ms")
        row("one lead Python CPU p95", ["single_in_process", "cpu_p95_ms"], "ms")
        row("intake + allocation Python CPU p50", ["receive_in_process", "cpu_p50_ms"], "ms")
        row("intake + allocation Python CPU p95", ["receive_in_process", "cpu_p95_ms"], "ms")
        row("SQL statements: one lead", ["single_in_process", "statements"], "", digits=0)
        row("SQL statements: intake + allocation", ["receive_in_process", "statements"], "", digits=0)
        row("one lead HTTP p50", ["http", "p50_ms"], "ms")
        row("one lead HTTP p95", ["http", "p95_ms"], "ms (goal ≤ 20)")
        row("one lead HTTP p99", ["http", "p99_ms"], "ms")
        row("one lead HTTP sustained rate", ["http", "sustained_per_s"], f"leads/s (sent at {args.rate:g}/s)")
        row("one lead HTTP server time p50", ["http", "service_p50_ms"], "ms")
        row("one lead HTTP server time p95", ["http", "service_p95_ms"], "ms")
        row("one lead after bulk p50", ["single_after_bulk", "p50_ms"], "ms")
        row("one lead after bulk p95", ["single_after_bulk", "p95_ms"], "ms")
        summary["http_p95_ms"] = med(["http", "p95_ms"])
        summary["in_process_p95_ms"] = med(["single_in_process", "p95_ms"])
        summary["after_bulk_p95_ms"] = med(["single_after_bulk", "p95_ms"])
    result["summary"] = summary
    if summary["ratio"] == summary["ratio"]:  # not NaN: both ours and raw ran
        log(
            f"\nqueue run: ours {summary['ours_rows_per_s']:,.0f} leads/s = {summary['ratio']:.0%} of raw's"
            f" {summary['raw_rows_per_s']:,.0f} leads/s (goal ≥ 25%): {'met' if summary['ratio'] >= 0.25 else 'MISSED'}"
        )
    if not args.skip_single:
        ok = summary["http_p95_ms"] <= 20 and not any(r["http"]["overloaded"] for r in rounds)
        log(
            f"one new lead over HTTP at {args.rate:g}/s: p95 {summary['http_p95_ms']:.1f} ms (goal ≤ 20 ms): {'met' if ok else 'MISSED'}"
        )


if __name__ == "__main__":
    sys.exit(main())
