"""Search benchmark: GET /api/v1/customers?q=… against the same SQL sent raw, in one run, on PostgreSQL.

    .venv/bin/python bench/search.py                       # 1,000,000 customers, as admin
    .venv/bin/python bench/search.py --as tv.hanoi1        # the same as a consultant (own + team queue)
    .venv/bin/python bench/search.py --customers 20000 --db postgresql://postgres@127.0.0.1:5432/careline_bench_small --terms 50

Steps: create the database if missing, `careline manage migrate`, top the data up with `careline demo
--customers N` (COPY), VACUUM ANALYZE; draw the query terms from the table with a fixed seed; start the
real server (granian, 1 worker, DEBUG off); then for every term time, at c=1,

* API: the HTTP request end to end (persistent connection, Bearer token, `limit=25`);
* raw: the exact main-page SQL Django runs for that term (built in-process by the same selectors, checked
  against the SQL `customer_list` really sends), executed through a separate psycopg 3 connection with
  prepare_threshold=None (pitfall P1: no generic plans), timing execute + fetchall.

Goal (issue): API p95 ≤ 2 × raw p95 + 5 ms, per query kind and overall. Benchmarks are not tests: this
prints ours vs the raw baseline measured in the same run; it exits non-zero only on errors (non-200
answers, SQL that differs from what Django sends), not when the goal is missed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql as pgsql  # noqa: E402

from bench._server import Server  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
CARELINE = (
    [str(VENV_BIN / "careline")] if (VENV_BIN / "careline").exists() else [PYTHON, "-m", "careline.cli.main"]
)
LIMIT = 25
KINDS = {
    "name_accented": "full name, accents as stored",
    "name_folded": "same full names, no accents",
    "given_name": "given name only",
    "phone": "phone, first 4-7 digits",
    "email": "email local part",
}


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


# --- 1. database and data ----------------------------------------------------------------------------


def ensure_database(url: str) -> bool:
    name = db_name(url)
    with psycopg.connect(with_dbname(url, "postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        conn.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
        return True


def count_customers(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT to_regclass('customers_customer') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return 0
        return conn.execute("SELECT count(*) FROM customers_customer").fetchone()[0]


def prepare_data(url: str, customers: int, env: dict[str, str]) -> None:
    created = ensure_database(url)
    log(f"database {db_name(url)}: {'created' if created else 'exists'}")
    t = time.perf_counter()
    run_cli(["manage", "migrate", "--no-input", "-v", "0"], env)
    log(f"migrate: {time.perf_counter() - t:.1f} s")
    before = count_customers(url)
    t = time.perf_counter()
    run_cli(["demo", "--customers", str(customers)], env)
    load_s = time.perf_counter() - t
    after = count_customers(url)
    added = after - before
    rate = f", {added / load_s:,.0f} customers/s" if added else ""
    log(
        f"LOAD: careline demo --customers {customers}: {added:,} added in {load_s:.1f} s{rate} (table now {after:,})"
    )
    with psycopg.connect(url, autocommit=True) as conn:
        t = time.perf_counter()
        # The whole database, not just customers_customer: the tag and contact point tables were filled by
        # COPY too, and without statistics the tag prefetch gets a parallel plan (+9 ms per request).
        conn.execute("VACUUM ANALYZE")
        log(f"VACUUM ANALYZE (whole database): {time.perf_counter() - t:.1f} s")
        sizes = conn.execute(
            "SELECT pg_size_pretty(pg_table_size('customers_customer')),"
            " pg_size_pretty(pg_relation_size('customers_search_trgm_idx')),"
            " pg_size_pretty(pg_total_relation_size('customers_customer'))"
        ).fetchone()
        log(f"customers_customer: table {sizes[0]}, trigram index {sizes[1]}, total with indexes {sizes[2]}")


def server_facts(url: str) -> str:
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        settings = {
            k: conn.execute(pgsql.SQL("SHOW {}").format(pgsql.Identifier(k))).fetchone()[0]
            for k in ("shared_buffers", "work_mem", "jit", "max_parallel_workers_per_gather", "autovacuum")
        }
    cpus = os.cpu_count()
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, IndexError, ValueError):
        pass
    pg = ", ".join(f"{k} {v}" for k, v in settings.items())
    return f"{cpus} CPUs{mem}; PostgreSQL {version} ({pg}); Python {sys.version.split()[0]}"


# --- 2. terms ----------------------------------------------------------------------------------------


def _sample_rows(
    conn: psycopg.Connection, rng: random.Random, n: int, where: str = ""
) -> list[tuple[Any, ...]]:
    """n active customers picked by `rng` (deterministic for a given table), with first phone and email."""
    lo, hi = conn.execute("SELECT min(id), max(id) FROM customers_customer").fetchone()
    picked: list[tuple[Any, ...]] = []
    seen: set[int] = set()
    while len(picked) < n:
        ids = [rng.randint(lo, hi) for _ in range(n * 3)]
        ids = [i for i in ids if i not in seen]
        seen.update(ids)
        rows = conn.execute(
            f"""
            SELECT c.id, c.full_name, c.given_name,
                   (SELECT value FROM customers_contactpoint p
                     WHERE p.customer_id = c.id AND p.kind = 'phone' ORDER BY p.position, p.id LIMIT 1),
                   (SELECT value FROM customers_contactpoint p
                     WHERE p.customer_id = c.id AND p.kind = 'email' ORDER BY p.position, p.id LIMIT 1)
              FROM customers_customer c
             WHERE c.id = ANY(%s) AND c.archived_at IS NULL {where}
            """,
            [ids],
        ).fetchall()
        by_id = {r[0]: r for r in rows}
        picked.extend(by_id[i] for i in ids if i in by_id)
        if not rows and len(seen) >= hi - lo + 1:
            break
    return picked[:n]


def phone_fragment(e164: str, rng: random.Random) -> str:
    """What a person types to find +84912345678: the first 4-7 digits of 0912 345 678."""
    national = "0" + e164[3:] if e164.startswith("+84") else e164.lstrip("+")
    k = rng.randint(4, 7)
    return national[:4] if k == 4 else f"{national[:4]} {national[4:k]}"


def draw_terms(url: str, n: int, seed: int) -> dict[str, list[str]]:
    from careline.vn import fold

    terms: dict[str, list[str]] = {}
    with psycopg.connect(url) as conn:
        names = [r[1] for r in _sample_rows(conn, random.Random(f"{seed}:name"), n)]
        terms["name_accented"] = names
        terms["name_folded"] = [fold(x) for x in names]
        terms["given_name"] = [r[2] for r in _sample_rows(conn, random.Random(f"{seed}:given"), n)]
        rng = random.Random(f"{seed}:phone")
        phone_rows = _sample_rows(
            conn,
            rng,
            n,
            "AND EXISTS (SELECT 1 FROM customers_contactpoint p WHERE p.customer_id = c.id AND p.kind = 'phone')",
        )
        terms["phone"] = [phone_fragment(r[3], rng) for r in phone_rows]
        email_rows = _sample_rows(
            conn,
            random.Random(f"{seed}:email"),
            n,
            "AND EXISTS (SELECT 1 FROM customers_contactpoint p WHERE p.customer_id = c.id AND p.kind = 'email')",
        )
        terms["email"] = [r[4].split("@", 1)[0] for r in email_rows]
    return terms


# --- 3. the API client (the server: bench/_server.py) -------------------------------------------------


class Api:
    """GET requests over one persistent HTTP/1.1 connection."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def search(self, term: str) -> tuple[float, list[int]]:
        path = "/api/v1/customers?" + urllib.parse.urlencode({"q": term, "limit": LIMIT})
        for attempt in (1, 2):
            try:
                t = time.perf_counter()
                self.conn.request("GET", path, headers=self.headers)
                resp = self.conn.getresponse()
                body = resp.read()
                elapsed = time.perf_counter() - t
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt == 2:
                    raise
        if resp.status != 200:
            raise SystemExit(f"GET {path} answered {resp.status}: {body[:500]!r}")
        return elapsed, [item["id"] for item in json.loads(body)["items"]]

    def close(self) -> None:
        self.conn.close()


# --- 4. the raw baseline -----------------------------------------------------------------------------


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def main_query(user: Any, term: str) -> tuple[str, tuple[Any, ...]]:
    """SQL and params of the page query GET /api/v1/customers?q=term&limit=25 runs (customer_list)."""
    from careline.customers.selectors import SORTS, CustomerFilters, _with_related, customer_search_queryset

    qs, rank = customer_search_queryset(actor=user, filters=CustomerFilters(q=term))
    qs = _with_related(qs, ()).order_by(*rank, *SORTS["name"])[: LIMIT + 1]  # the API joins nothing
    sql, params = qs.query.sql_with_params()
    return sql, tuple(params)


def django_main_query(user: Any, term: str) -> tuple[str, tuple[Any, ...]]:
    """The page query customer_list really sends (captured), to check main_query() builds the same."""
    from django.db import connection

    from careline.customers.selectors import CustomerFilters, customer_list

    seen: list[tuple[str, tuple[Any, ...]]] = []

    def capture(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        customer_list(actor=user, filters=CustomerFilters(q=term), limit=LIMIT, related=())
    main = [s for s in seen if s[0].startswith('SELECT "customers_customer"."id"') and "LIMIT 26" in s[0]]
    if len(main) != 1:
        raise SystemExit(f"could not single out the page query among {len(seen)} queries for {term!r}")
    return main[0]


class Raw:
    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True, prepare_threshold=None)
        self.cur = self.conn.cursor()

    def run(self, sql: str, params: tuple[Any, ...]) -> tuple[float, list[int]]:
        t = time.perf_counter()
        self.cur.execute(sql, params)
        rows = self.cur.fetchall()
        elapsed = time.perf_counter() - t
        return elapsed, [r[0] for r in rows[:LIMIT]]

    def explain(self, sql: str, params: tuple[Any, ...]) -> str:
        self.cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(r[0] for r in self.cur.fetchall())

    def close(self) -> None:
        self.conn.close()


# --- 5. measuring and reporting ----------------------------------------------------------------------


@dataclass
class KindResult:
    kind: str
    raw: list[float] = field(default_factory=list)
    api: list[float] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    empty: int = 0


def measure_kind(kind: str, terms: list[str], user: Any, raw: Raw, api: Api) -> tuple[KindResult, str]:
    res = KindResult(kind)
    queries = [main_query(user, t) for t in terms]
    # Check once per kind that the SQL we time is byte for byte what customer_list sends.
    if django_main_query(user, terms[0]) != queries[0]:
        raise SystemExit(f"{kind}: built SQL differs from the SQL customer_list sends for {terms[0]!r}")
    # Untimed pass: the same pages in cache for both sides.
    warm = [raw.run(sql, params)[0] for sql, params in queries]
    # Timed passes, alternating which side goes first so neither always finds the other's cache state.
    for i, (term, (sql, params)) in enumerate(zip(terms, queries, strict=True)):
        if i % 2 == 0:
            r_t, r_ids = raw.run(sql, params)
            a_t, a_ids = api.search(term)
        else:
            a_t, a_ids = api.search(term)
            r_t, r_ids = raw.run(sql, params)
        res.raw.append(r_t)
        res.api.append(a_t)
        if a_ids != r_ids:
            res.mismatches.append(term)
        if not r_ids:
            res.empty += 1
    # EXPLAIN the term whose warm-up time sits at the raw p95 (the tail the goal is about).
    p95 = percentile(warm, 95)
    idx = min(range(len(warm)), key=lambda j: abs(warm[j] - p95))
    plan = raw.explain(*queries[idx])
    return res, f"--- EXPLAIN (ANALYZE, BUFFERS), {kind}, term {terms[idx]!r} (raw p95 term)\n{plan}\n"


def ms(x: float) -> str:
    return f"{x * 1000:.2f}"


def report(results: list[KindResult], as_user: str) -> bool:
    head = (
        f"{'kind':<15} {'n':>5} {'raw p50':>8} {'raw p95':>8} {'API p50':>8} {'API p95':>8} "
        f"{'API-raw p95':>11} {'ratio p95':>9} {'bound':>8}  goal  mismatch  empty"
    )
    log(f"\nSearch as {as_user}, c=1, limit={LIMIT}; times in ms; goal: API p95 <= 2 x raw p95 + 5 ms")
    log(head)
    log("-" * len(head))
    overall = KindResult("overall")
    all_ok = True
    for r in [*results, overall]:
        if r is overall:
            for x in results:
                overall.raw += x.raw
                overall.api += x.api
                overall.mismatches += x.mismatches
                overall.empty += x.empty
            log("-" * len(head))
        rp50, rp95 = percentile(r.raw, 50), percentile(r.raw, 95)
        ap50, ap95 = percentile(r.api, 50), percentile(r.api, 95)
        bound = 2 * rp95 + 0.005
        ok = ap95 <= bound
        all_ok &= ok
        log(
            f"{r.kind:<15} {len(r.raw):>5} {ms(rp50):>8} {ms(rp95):>8} {ms(ap50):>8} {ms(ap95):>8} "
            f"{ms(ap95 - rp95):>11} {ap95 / rp95:>9.2f} {ms(bound):>8}  {'yes' if ok else 'NO':<4}  "
            f"{len(r.mismatches):>8}  {r.empty:>5}"
        )
    for r in results:
        if r.mismatches:
            log(f"  {r.kind}: API page differs from raw SQL for {r.mismatches[:5]!r}")
    log(
        f"(means, ms: raw {statistics.fmean(overall.raw) * 1000:.2f}, API {statistics.fmean(overall.api) * 1000:.2f})"
    )
    return all_ok


# --- main --------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/careline_bench")
    ap.add_argument("--terms", type=int, default=300, help="terms per kind")
    ap.add_argument("--port", type=int, default=8799)
    ap.add_argument("--as", dest="as_user", default="admin", help="demo user: admin, tv.hanoi1, …")
    ap.add_argument("--seed", type=int, default=42, help="seed for drawing the terms")
    ap.add_argument(
        "--skip-load", action="store_true", help="do not migrate / load / vacuum (data already there)"
    )
    args = ap.parse_args()

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "careline.config.settings",
        "CARELINE_DATABASE_URL": args.db,
        "CARELINE_DEBUG": "0",
        "CARELINE_ALLOWED_HOSTS": "127.0.0.1",
    }
    server = Server(
        args.port, env, Path(tempfile.gettempdir()) / f"careline-bench-search-granian-{args.port}.log"
    )
    # SIGTERM / SIGHUP end like Ctrl-C, so the finally below stops the server.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    raw: Raw | None = None
    api: Api | None = None
    try:
        log(f"machine: {server_facts(with_dbname(args.db, 'postgres'))}")
        log(f"command: {' '.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])}")
        if not args.skip_load:
            prepare_data(args.db, args.customers, env)
        setup_django(env)
        from careline.accounts.models import User

        user = User.objects.get(username=args.as_user)
        t = time.perf_counter()
        terms = draw_terms(args.db, args.terms, args.seed)
        log(f"terms: {args.terms} per kind, seed {args.seed} ({time.perf_counter() - t:.1f} s); examples:")
        for kind, values in terms.items():
            log(f"  {kind:<14} {values[:4]!r}")

        server.start()
        token = (
            run_cli(["token", args.as_user, "--name", "bench-search"], env, capture=True)
            .strip()
            .splitlines()[-1]
        )
        api = Api(args.port, token)
        raw = Raw(args.db)
        for term in ["lan", "0912 345", "Nguyễn Văn Anh", "tran.thi", "Minh", "hoa", "0988"]:
            api.search(term)
        log(
            f"server: granian wsgi, 1 worker, port {args.port}, pid {server.proc.pid if server.proc else '?'}"
        )

        results: list[KindResult] = []
        plans: list[str] = []
        for kind in KINDS:
            t = time.perf_counter()
            res, plan = measure_kind(kind, terms[kind], user, raw, api)
            results.append(res)
            plans.append(plan)
            log(f"measured {kind}: {time.perf_counter() - t:.1f} s")
        log("")
        for plan in plans:
            log(plan)
        report(results, args.as_user)
        return 0
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if api:
            api.close()
        if raw:
            raw.close()
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
