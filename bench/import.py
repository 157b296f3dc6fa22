"""Import/export benchmark: Careline's import and export against raw baselines measured in the same run.

    .venv/bin/python bench/import.py --scenario gen     --rows 1000000   # write the CSV (and its expected counts)
    .venv/bin/python bench/import.py --scenario csv-pg  --rows 1000000   # ours vs COPY + set-based merge
    .venv/bin/python bench/import.py --scenario xlsx    --rows 100000    # ours vs python-calamine parse-only
    .venv/bin/python bench/import.py --scenario sqlite  --rows 1000000   # ours vs raw executemany
    .venv/bin/python bench/import.py --scenario export                   # ours vs raw xlsxwriter (needs csv-pg)
    .venv/bin/python bench/import.py --scenario csv-pg  --rows 100000 --phases   # where the time goes
    .venv/bin/python bench/import.py --scenario csv-pg  --rows 100000 --profile  # cProfile, cumulative
    .venv/bin/python bench/import.py --scenario export --profile                 # cProfile, one province
    .venv/bin/python bench/import.py --scenario pg-floor          # our schema's cost in PostgreSQL alone

Ours always runs in a child process (`careline` settings from the environment, DEBUG off) so that its
peak RSS is the child's own VmHWM (not ru_maxrss, which a vfork+exec child inherits from its parent).
Raw baselines run in this process through psycopg 3 (prepare_threshold=None), sqlite3, python-calamine
and xlsxwriter.

Goals (issue): csv-pg ours ≥ 50% of the raw rows/s and peak RSS ≤ 1 GiB, raw = COPY into an unlogged staging
table + one set-based INSERT … SELECT DISTINCT ON … ON CONFLICT DO NOTHING into Careline's own customers table
(its real indexes) with the contact points filled by a data-modifying CTE (the earlier one-table baselines are
printed too, as references); xlsx ours read + everything the import does to a row before the database
(file → staged rows: read_table + stage_rows with the staging write left out) ≥ 60% of calamine's parse-only
rows/s (read + parse_rows, the preview's work, and end to end printed too; wall and CPU time); sqlite ours ≥ 50% of a raw executemany of the same rows
into our customers and contact-points tables (the one-table reference printed too); export ours ≤ 2 × raw
xlsxwriter time.
Benchmarks are not tests: the script exits non-zero on errors (a failed job, wrong counts), not when a
goal is missed.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql as pgsql  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
CARELINE = (
    [str(VENV_BIN / "careline")] if (VENV_BIN / "careline").exists() else [PYTHON, "-m", "careline.cli.main"]
)
DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/careline_bench_import"
DEFAULT_VAR = ROOT / "var" / "bench-import"
RESULTS_DIR = ROOT / "bench" / "results"
USER, PASSWORD = "bench", "x-long-pass-1"
HEADERS = ["Họ và tên", "SĐT", "Email", "Ngày sinh", "Tỉnh/TP"]
DUP_SHARE = 0.02
EXTRA_PHONE_BASE = 150_000_000  # phone index of the new number an email-duplicate row brings (> any row)
DEFAULT_ROWS = {
    "gen": 1_000_000,
    "csv-pg": 1_000_000,
    "xlsx": 100_000,
    "sqlite": 1_000_000,
    "export": 0,
    "pg-floor": 0,
}
GOALS = {
    "csv-pg": "ours rows/s >= 0.50 x raw (COPY + set-based merge into our customers + contact points); "
    "peak RSS <= 1 GiB",
    "xlsx": "ours file -> staged rows (everything the import run does before the DB) rows/s >= 0.60 x calamine "
    "parse-only",
    "sqlite": "ours rows/s >= 0.50 x raw executemany into our customers + contact points",
    "export": "ours seconds <= 2 x raw xlsxwriter write",
}


# --- helpers -----------------------------------------------------------------------------------------


def log(msg: str = "") -> None:
    print(msg, flush=True)


def with_dbname(url: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + dbname))


def db_name(url: str) -> str:
    return urllib.parse.urlsplit(url).path.lstrip("/")


def mib(kib: float) -> str:
    return f"{kib / 1024:,.0f} MiB"


def rss_kib() -> int:
    """Current resident set size of this process, KiB."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError, IndexError):
        return 0


def maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def hwm_kib() -> int:
    """Peak RSS of this process image (VmHWM). Unlike ru_maxrss it starts afresh at exec: a child started by
    subprocess (vfork + exec) otherwise inherits the parent's peak, e.g. the 1M rows the export baseline holds."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return maxrss_kib()


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True))
    )
    log(line)
    log("-" * len(line))
    for r in cells:
        log(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )


def machine_facts(pg_url: str | None) -> str:
    cpus = os.cpu_count()
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, IndexError, ValueError):
        pass
    load = ", load avg {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    facts = f"{cpus} CPUs (shared with other work){mem}{load}; Python {sys.version.split()[0]}; SQLite {sqlite3.sqlite_version}"
    if pg_url:
        try:
            with psycopg.connect(with_dbname(pg_url, "postgres")) as conn:
                version = conn.execute("SHOW server_version").fetchone()[0]
                keys = (
                    "shared_buffers",
                    "work_mem",
                    "maintenance_work_mem",
                    "max_wal_size",
                    "jit",
                    "autovacuum",
                )
                settings = {
                    k: conn.execute(pgsql.SQL("SHOW {}").format(pgsql.Identifier(k))).fetchone()[0]
                    for k in keys
                }
            facts += f"; PostgreSQL {version} (" + ", ".join(f"{k} {v}" for k, v in settings.items()) + ")"
        except psycopg.Error as exc:
            facts += f"; PostgreSQL unreachable ({exc})"
    return facts


def base_env(var_dir: Path, db_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "careline.config.settings",
        "CARELINE_DATABASE_URL": db_url,
        "CARELINE_VAR_DIR": str(var_dir),
        "CARELINE_DEBUG": "0",
        "CARELINE_ALLOWED_HOSTS": "127.0.0.1",
        "CARELINE_IMPORT_MAX_MB": "1024",  # the 1M-row CSV is ~70 MB, a 1M-row XLSX more
        "CARELINE_IMPORT_MAX_ROWS": "2000000",
    }


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def run_cli(args: list[str], env: dict[str, str]) -> None:
    subprocess.run([*CARELINE, *args], cwd=ROOT, env=env, check=True)


def prepare_careline_db(env: dict[str, str]) -> None:
    """`careline manage migrate` and the user to import as (the database/file must be fresh or absent)."""
    t = time.perf_counter()
    run_cli(["manage", "migrate", "--no-input", "-v", "0"], env)
    run_cli(["createuser", USER, "--role", "admin", "--superuser", "--password", PASSWORD], env)
    log(f"migrate + createuser {USER}: {time.perf_counter() - t:.1f} s")


def recreate_pg_database(url: str) -> None:
    name = db_name(url)
    with psycopg.connect(with_dbname(url, "postgres"), autocommit=True) as conn:
        conn.execute(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name)))
        conn.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
    log(f"database {name}: dropped and created")


def drop_pg_database(url: str) -> None:
    name = db_name(url)
    with psycopg.connect(with_dbname(url, "postgres"), autocommit=True) as conn:
        conn.execute(pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name)))


def save_result(scenario: str, result: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"import-{scenario}-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return path


# --- 1. the generator --------------------------------------------------------------------------------


def _province_names() -> list[str]:
    """New (2025) names, pre-2025 names and everyday short forms; each checked with find_province."""
    from careline.vn import find_province
    from careline.vn.provinces import _LEGACY_NAMES, PROVINCES

    names = sorted({p.name for p in PROVINCES} | set(_LEGACY_NAMES))
    names += ["TP.HCM", "HCM", "Sài Gòn", "HN", "TP Hà Nội", "Tp. Đà Nẵng", "Huế"]
    bad = [n for n in names if find_province(n) is None]
    if bad:
        raise SystemExit(f"generator: find_province does not know {bad!r}")
    return names


def _mobile_prefixes() -> list[str]:
    """careline.cli.demo's mobile prefixes, minus 089: phonenumbers 9.0 only knows part of the 089 range, so
    normalize_phone reads most 089 numbers as TP HCM landlines (+84 28…) and the expected counts would
    depend on that quirk."""
    from careline.cli.demo import MOBILE_PREFIXES

    return [p for p in MOBILE_PREFIXES if p != "089"]


PREFIXES: list[str] = []


def _national(k: int, seed: int) -> str:
    """A unique Vietnamese mobile for index k (a bijection per prefix), e.g. 0912345678."""
    prefix = PREFIXES[k % len(PREFIXES)]
    subscriber = (k * 104729 + seed * 7919) % 10_000_000  # 29 x 104729 is prime to 10^7: unique per prefix
    return f"{prefix}{subscriber:07d}"


def format_phone_as_typed(national: str, style: int) -> str:
    """The six ways of the issue: 0912 345 678, 0912.345.678, +84 912 345 678, 84912345678, 912345678, 0912-345-678."""
    n = national
    return (
        f"{n[:4]} {n[4:7]} {n[7:]}",
        f"{n[:4]}.{n[4:7]}.{n[7:]}",
        f"+84 {n[1:4]} {n[4:7]} {n[7:]}",
        "84" + n[1:],
        n[1:],
        f"{n[:4]}-{n[4:7]}-{n[7:]}",
    )[style]


def generate_rows(rows: int, seed: int) -> Iterator[dict[str, Any]]:
    """Row i depends only on (seed, i) and earlier rows, so N rows are a prefix of any larger N.

    Yields dicts with the CSV cells and what they mean: `national` (the phone as 0xxxxxxxxx), `email`
    (lower case), `style`, `dup` ("phone" / "email" / None) and `of` (the row it repeats).
    """
    from careline.cli.demo import EMAIL_DOMAINS, GIVEN_F, GIVEN_M, MIDDLE_F, MIDDLE_M, SURNAMES
    from careline.vn import fold

    provinces = _province_names()
    PREFIXES[:] = _mobile_prefixes()
    surnames = [s for s, _w in SURNAMES]
    weights = [w for _s, w in SURNAMES]
    base_phone: list[tuple[str, int]] = []  # (national, style) of every row
    base_email: list[str | None] = []
    base_name: list[str] = []
    originals: list[int] = []  # rows that are not duplicates (a duplicate repeats one of these)
    for i in range(rows):
        rng = random.Random(seed * 1_000_003 + i)
        female = rng.random() < 0.55
        surname = rng.choices(surnames, weights)[0]
        given = rng.choice(GIVEN_F if female else GIVEN_M)
        if rng.random() < 0.93:
            name = f"{surname} {rng.choice(MIDDLE_F if female else MIDDLE_M)} {given}"
        else:
            name = f"{surname} {given}"
        dup = None
        of = None
        if i >= 100 and rng.random() < DUP_SHARE:
            of = originals[rng.randrange(len(originals))]
            dup = "email" if rng.random() < 0.5 else "phone"
            for _try in range(10):  # an email duplicate needs an original that has an email
                if dup == "phone" or base_email[of]:
                    break
                of = originals[rng.randrange(len(originals))]
            else:
                dup = "phone"
        style = rng.randrange(6)
        email: str | None = None
        if dup is None:
            national = _national(i, seed)
            if rng.random() < 0.6:
                email = f"{fold(name).replace(' ', '.')}{i}@{rng.choice(EMAIL_DOMAINS)}"
            email_cell = email
        elif dup == "phone":  # the same person again: same phone typed differently, maybe a new email
            name = base_name[of]
            national, first_style = base_phone[of]
            style = (first_style + 1 + rng.randrange(5)) % 6
            if rng.random() < 0.5:
                email = f"{fold(name).replace(' ', '.')}{i}@{rng.choice(EMAIL_DOMAINS)}"
            email_cell = email
        else:  # the same email typed differently, with a second phone
            name = base_name[of]
            national = _national(EXTRA_PHONE_BASE + i, seed)
            email = base_email[of]
            assert email is not None
            local, domain = email.split("@")
            email_cell = rng.choice(
                [email.upper(), f"{local.capitalize()}@{domain.capitalize()}", f"{local}@{domain.upper()}"]
            )
        shown_name = name
        r = rng.random()
        if r < 0.02:
            shown_name = name.upper()
        elif r < 0.03:
            shown_name = name.lower()
        birthday = ""
        if rng.random() < 0.7:
            birthday = f"{rng.randrange(1, 29):02d}/{rng.randrange(1, 13):02d}/{rng.randrange(1960, 2011)}"
        province = rng.choice(provinces) if rng.random() < 0.85 else ""
        base_phone.append((national, style))
        base_email.append(email)
        base_name.append(name)
        if dup is None:
            originals.append(i)
        yield {
            "name": name,
            "cells": [
                shown_name,
                format_phone_as_typed(national, style),
                email_cell or "",
                birthday,
                province,
            ],
            "national": national,
            "email": email,
            "dup": dup,
            "of": of,
        }


def csv_path(var_dir: Path, rows: int, seed: int) -> Path:
    return var_dir / f"contacts-{rows}-s{seed}.csv"


def generate_csv(var_dir: Path, rows: int, seed: int) -> dict[str, Any]:
    """Write the CSV (UTF-8 BOM) and a JSON of the expected counts next to it; reuse both when present."""
    path = csv_path(var_dir, rows, seed)
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        log(f"generator: reusing {path} ({path.stat().st_size / 1e6:.1f} MB)")
        return meta
    from careline.vn import normalize_phone

    var_dir.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    by_key: dict[
        str, int
    ] = {}  # services._dedupe's rule: a row sharing a phone or email with a kept row merges
    kept = merged = dup_phone = dup_email = 0
    phones: set[str] = set()
    emails: set[str] = set()
    raw_phone_texts: set[str] = set()
    example_names: list[str] = []
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS)
        for i, row in enumerate(generate_rows(rows, seed)):
            writer.writerow(row["cells"])
            e164 = normalize_phone(row["cells"][1])
            if e164 != "+84" + row["national"][1:]:
                raise SystemExit(
                    f"generator: {row['cells'][1]!r} normalises to {e164}, not {row['national']}"
                )
            email = row["cells"][2].strip().lower() or None
            keys = ["p:" + e164] + (["e:" + email] if email else [])
            if any(k in by_key for k in keys):
                merged += 1
            else:
                kept += 1
            for k in keys:
                by_key.setdefault(k, i)
            phones.add(e164)
            if email:
                emails.add(email)
            raw_phone_texts.add(row["cells"][1])
            dup_phone += row["dup"] == "phone"
            dup_email += row["dup"] == "email"
            if (
                row["dup"] is None
                and row["cells"][0] == row["name"]
                and len(example_names) < 5
                and i % 997 == 13
            ):
                example_names.append(row["cells"][0])
    tmp.replace(path)
    meta = {
        "rows": rows,
        "seed": seed,
        "file": str(path),
        "bytes": path.stat().st_size,
        "dup_rows_phone": dup_phone,
        "dup_rows_email": dup_email,
        "expected_customers": kept,  # ours: deduplicated on normalised phone or lower-case email
        "expected_merged_rows": merged,
        "expected_phones": len(phones),
        "expected_emails": len(emails),
        "distinct_phone_texts": len(raw_phone_texts),  # what DISTINCT ON (phone) over raw text keeps
        "distinct_e164": len(phones),
        "search_names": example_names,
    }
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    log(
        f"generator: {rows:,} rows -> {path} ({meta['bytes'] / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s; "
        f"duplicates: {dup_phone:,} by phone + {dup_email:,} by email; expected customers {kept:,}"
    )
    return meta


def write_xlsx(var_dir: Path, rows: int, seed: int) -> Path:
    """The same rows as an XLSX: phones typed without the 0 become numbers (as Excel stores them), birthdays
    are date cells."""
    import xlsxwriter

    path = var_dir / f"contacts-{rows}-s{seed}.xlsx"
    if path.exists():
        log(f"xlsx: reusing {path} ({path.stat().st_size / 1e6:.1f} MB)")
        return path
    t = time.perf_counter()
    tmp = path.with_suffix(".tmp.xlsx")
    workbook = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_numbers": False})
    sheet = workbook.add_worksheet("Khách hàng")
    date_fmt = workbook.add_format({"num_format": "dd/mm/yyyy"})
    for col, h in enumerate(HEADERS):
        sheet.write_string(0, col, h)
    for r, row in enumerate(generate_rows(rows, seed), start=1):
        name, phone, email, birthday, province = row["cells"]
        sheet.write_string(r, 0, name)
        if phone.isdigit() and len(phone) == 9:
            sheet.write_number(r, 1, int(phone))
        else:
            sheet.write_string(r, 1, phone)
        if email:
            sheet.write_string(r, 2, email)
        if birthday:
            d, m, y = (int(x) for x in birthday.split("/"))
            sheet.write_datetime(r, 3, dt.datetime(y, m, d), date_fmt)
        if province:
            sheet.write_string(r, 4, province)
    workbook.close()
    tmp.replace(path)
    log(
        f"xlsx: {rows:,} rows -> {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s"
    )
    return path


# --- 2. ours, in a child process ---------------------------------------------------------------------


def run_child(task: str, params: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Run `task` in a fresh interpreter; return its JSON result plus its peak RSS (wait4)."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as fh:
        out = Path(fh.name)
    cmd = [
        PYTHON,
        str(Path(__file__).resolve()),
        "--child",
        task,
        "--child-params",
        json.dumps(params),
        "--child-out",
        str(out),
    ]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    try:
        result = json.loads(out.read_text()) if out.stat().st_size else {}
    finally:
        out.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise SystemExit(f"child {task} exited with {proc.returncode}: {result}")
    result["wait4_maxrss_kib"] = usage.ru_maxrss  # includes the parent's peak (see hwm_kib)
    result["child_maxrss_kib"] = result.get("hwm_kib", usage.ru_maxrss)
    result["child_wall_s"] = wall
    result["child_cpu_s"] = usage.ru_utime + usage.ru_stime
    return result


def child_main(task: str, params: dict[str, Any], out: Path) -> None:
    import django

    django.setup()
    result: dict[str, Any] = {"rss_after_setup_kib": rss_kib()}
    if task == "import":
        result.update(_child_import(params))
    elif task == "phases":
        result.update(_child_phases(params))
    elif task == "export":
        result.update(_child_export(params))
    else:
        raise SystemExit(f"unknown child task {task}")
    result["hwm_kib"] = hwm_kib()
    out.write_text(json.dumps(result, default=str), encoding="utf-8")


def _bench_user() -> Any:
    from careline.accounts.models import User

    return User.objects.get(username=USER)


def _verify(user: Any, names: list[str]) -> dict[str, Any]:
    """Counts in the tables, and a search for imported names (the first search after the load is timed)."""
    from careline.customers.models import ContactPoint, Customer
    from careline.customers.selectors import CustomerFilters, customer_list

    found = 0
    search_s: list[float] = []
    for name in names:
        t = time.perf_counter()
        page, _cursor = customer_list(actor=user, filters=CustomerFilters(q=name), limit=25)
        search_s.append(time.perf_counter() - t)
        found += any(c.full_name == name for c in page)
    return {
        "customers": Customer.objects.count(),
        "phones": ContactPoint.objects.filter(kind="phone").count(),
        "emails": ContactPoint.objects.filter(kind="email").count(),
        "search_found": found,
        "search_tried": len(names),
        "search_s": search_s,
    }


def _child_import(params: dict[str, Any]) -> dict[str, Any]:
    from careline.imports.services import import_start

    user = _bench_user()
    data = Path(params["file"]).read_bytes()
    res: dict[str, Any] = {"rss_before_kib": rss_kib(), "hwm_before_kib": hwm_kib()}
    t = time.perf_counter()
    if params.get("profile"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        job = profiler.runcall(
            import_start, actor=user, data=data, filename=Path(params["file"]).name, mode="create",
            all_or_nothing=True, run_now=True,
        )  # fmt: skip
        res["seconds"] = time.perf_counter() - t
        prof_path = Path(params["file"]).with_suffix(".prof")
        profiler.dump_stats(str(prof_path))
        buf = io.StringIO()
        stats = pstats.Stats(profiler, stream=buf).strip_dirs().sort_stats("cumulative")
        stats.print_stats(45)
        stats.sort_stats("tottime").print_stats(25)
        res["profile"] = buf.getvalue()
        res["profile_file"] = str(prof_path)
    else:
        job = import_start(
            actor=user,
            data=data,
            filename=Path(params["file"]).name,
            mode="create",
            all_or_nothing=True,
            run_now=True,
        )
        res["seconds"] = time.perf_counter() - t
    res["job"] = {
        "status": job.status,
        "total": job.total,
        "processed": job.processed,
        "created": job.created,
        "failed": job.failed,
        "merged_rows": job.options.get("merged_rows"),
        "message": job.message,
        "errors": job.errors[:5],
    }
    res.update(_verify(user, params.get("search_names", [])))
    return res


def _child_phases(params: dict[str, Any]) -> dict[str, Any]:
    """The steps of services._run one by one (the same functions, same order), each timed, with the RSS
    after it. Differences from import_start: the file is read once here (import_start reads it twice: upload
    and run) and there is no job row / progress cache."""
    from django.db import transaction
    from django.utils import timezone

    from careline.customers.bulk import customers_analyze
    from careline.imports import services as s
    from careline.imports.parsing import parse_rows
    from careline.imports.staging import Stage, record_from_row

    user = _bench_user()
    data = Path(params["file"]).read_bytes()
    phases: list[tuple[str, float, int]] = []
    parts: dict[str, float] = {}

    def mark(name: str, t0: float) -> float:
        now = time.perf_counter()
        phases.append((name, now - t0, rss_kib()))
        return time.perf_counter()

    t = time.perf_counter()
    table = s._read(data, filename=Path(params["file"]).name, encoding=None, sheet=None)
    del data
    t = mark("read_table", t)
    mapping = s._mapping(table.headers, None)
    stage = Stage()
    stage.create()
    by_key: dict[str, int] = {}
    also: dict[str, set[int]] = {}
    groups: dict[int, int] = {}
    errors = 0
    parse_s = stage_s = 0.0
    rows_iter = parse_rows(table, mapping)
    while True:
        t0 = time.perf_counter()
        item = next(rows_iter, None)
        t1 = time.perf_counter()
        parse_s += t1 - t0
        if item is None:
            break
        rownum, row_data, row_errors = item
        if row_errors:
            errors += 1
            continue
        rec = record_from_row(rownum, row_data)
        keys = list(rec.dedup_keys())
        leader = next((by_key[k] for k in keys if k in by_key), rownum)
        if leader != rownum:
            groups[leader] = groups.get(leader, 0) + 1
        for k in keys:
            if by_key.setdefault(k, leader) != leader:
                also.setdefault(k, set()).add(leader)
        stage.add(rec, leader)
        stage_s += time.perf_counter() - t1
    stage.index()
    parts["parse_rows"] = parse_s
    parts["keys + staging rows + COPY/executemany"] = stage_s
    t = mark("parse + stage (one pass)", t)
    stage.merge_groups(set(groups))
    t = mark(f"merge the file's duplicates ({sum(groups.values()):,} rows into {len(groups):,})", t)
    matches = s._match_existing(user, stage, by_key, also)
    del by_key
    t = mark("_match_existing", t)
    with transaction.atomic():
        t_w = time.perf_counter()
        stage.set_matches(matches)
        s._tag_ids(stage.tag_names())
        created = stage.write(owner=user, now=timezone.now())
        parts["INSERT … SELECT (customers, contact points, tags)"] = time.perf_counter() - t_w
        t_commit = time.perf_counter()
    parts["COMMIT"] = time.perf_counter() - t_commit
    t = mark("write + COMMIT", t)
    customers_analyze()
    t = mark("ANALYZE (the import does it after commit)", t)
    stage.drop()
    return {
        "rows": len(table.rows),
        "row_errors": errors,
        "customers_written": created,
        "phases": phases,
        "write_parts": {k: round(v, 3) for k, v in parts.items()},
        **_verify(user, params.get("search_names", [])),
    }


def _child_export(params: dict[str, Any]) -> dict[str, Any]:
    from careline.customers.selectors import CustomerFilters
    from careline.imports.services import export_start, job_dir

    user = _bench_user()
    filters = CustomerFilters(**params.get("filters", {}))
    res: dict[str, Any] = {}
    t = time.perf_counter()
    if params.get("profile"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        job = profiler.runcall(export_start, actor=user, filters=filters, fmt="xlsx", run_now=True)
        buf = io.StringIO()
        stats = pstats.Stats(profiler, stream=buf).strip_dirs().sort_stats("cumulative")
        stats.print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
        res["profile"] = buf.getvalue()
    else:
        job = export_start(actor=user, filters=filters, fmt="xlsx", run_now=True)
    seconds = time.perf_counter() - t
    path = job_dir(job.pk) / job.result_name
    return {
        **res,
        "seconds": seconds,
        "status": job.status,
        "rows": job.processed,
        "file": str(path),
        "bytes": path.stat().st_size if path.exists() else 0,
    }


# --- 3. scenarios ------------------------------------------------------------------------------------


def scenario_gen(args: argparse.Namespace) -> dict[str, Any]:
    return generate_csv(args.var_dir, args.rows, args.seed)


def _raw_pg(url: str, body: bytes, table: str, normalise: bool) -> dict[str, Any]:
    """COPY into an unlogged staging table + one set-based INSERT … SELECT DISTINCT ON … ON CONFLICT DO NOTHING
    into an indexed table (UNIQUE phone, btree email, GIN trigram search_text); COPY + INSERT timed together."""
    phone = "phone"
    email = "email"
    if normalise:  # the same dedup keys as ours, computed in SQL: E.164 phone, lower-case email
        digits = "regexp_replace(phone, '[^0-9]', '', 'g')"
        phone = (
            f"CASE WHEN phone LIKE '+%' THEN '+' || {digits} "
            f"WHEN {digits} LIKE '84%' AND length({digits}) = 11 THEN '+' || {digits} "
            f"WHEN {digits} LIKE '0%' THEN '+84' || substr({digits}, 2) ELSE '+84' || {digits} END"
        )
        email = "lower(trim(email))"
    staging = f"{table}_staging"
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        conn.execute(f"DROP TABLE IF EXISTS {table}, {staging}")
        conn.execute(
            f"CREATE TABLE {table} (id bigserial PRIMARY KEY, full_name text, phone text, email text, "
            "birthday text, province text, search_text text)"
        )
        conn.execute(f"CREATE UNIQUE INDEX {table}_phone ON {table} (phone)")
        conn.execute(f"CREATE INDEX {table}_email ON {table} (email)")
        conn.execute(f"CREATE INDEX {table}_trgm ON {table} USING gin (search_text gin_trgm_ops)")
        conn.execute("CHECKPOINT")
        conn.autocommit = False
        t = time.perf_counter()
        with conn.transaction():
            conn.execute(
                f"CREATE UNLOGGED TABLE {staging} (full_name text, phone text, email text, birthday text, province text)"
            )
            t_copy = time.perf_counter()
            with conn.cursor().copy(f"COPY {staging} FROM STDIN WITH (FORMAT csv)") as copy:
                view = memoryview(body)
                for i in range(0, len(view), 1 << 20):
                    copy.write(view[i : i + (1 << 20)])
            copy_s = time.perf_counter() - t_copy
            t_ins = time.perf_counter()
            inserted = conn.execute(
                f"INSERT INTO {table} (full_name, phone, email, birthday, province, search_text) "
                f"SELECT DISTINCT ON (p) full_name, p, e, birthday, province, lower(full_name) "
                f"FROM (SELECT full_name, {phone} AS p, {email} AS e, birthday, province FROM {staging}) s "
                "ORDER BY p ON CONFLICT (phone) DO NOTHING"
            ).rowcount
            insert_s = time.perf_counter() - t_ins
        seconds = time.perf_counter() - t
        conn.autocommit = True
        conn.execute(f"DROP TABLE {staging}")
        count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return {"seconds": seconds, "copy_s": copy_s, "insert_s": insert_s, "inserted": inserted, "count": count}


PHONE_E164_SQL = (  # the same dedup key as ours, computed in SQL (E.164); % doubled: used with parameters
    "CASE WHEN phone LIKE '+%%' THEN '+' || {d} WHEN {d} LIKE '84%%' AND length({d}) = 11 THEN '+' || {d} "
    "WHEN {d} LIKE '0%%' THEN '+84' || substr({d}, 2) ELSE '+84' || {d} END"
).format(d="regexp_replace(phone, '[^0-9]', '', 'g')")


def _province_codes() -> list[tuple[str, str]]:
    from careline.vn import find_province

    out = []
    for name in _province_names():
        province = find_province(name)
        assert province is not None
        out.append((name, province.code))
    return out


def _raw_pg_same(url: str, body: bytes) -> dict[str, Any]:
    """The issue's raw baseline into Careline's own tables: COPY into an unlogged staging table, then one
    set-based statement — INSERT … SELECT DISTINCT ON (E.164 phone) … ON CONFLICT DO NOTHING into
    customers_customer (its real indexes, FKs and trigram index), with a data-modifying CTE that fills
    customers_contactpoint (phone + email) in the same transaction. Names are lower-cased (not folded),
    provinces looked up in a 60-row table, birthdays parsed with to_date; no other Python or SQL work.
    The rows it writes are left for the caller to TRUNCATE."""
    staging = "bench_raw_same_staging"
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        user = conn.execute(
            "SELECT id, team_id, branch_id FROM accounts_user WHERE username = %s", [USER]
        ).fetchone()
        conn.execute(f"DROP TABLE IF EXISTS {staging}, bench_raw_province")
        conn.execute("CREATE TABLE bench_raw_province (name text PRIMARY KEY, code text)")
        with conn.cursor().copy("COPY bench_raw_province FROM STDIN") as copy:
            for row in dict(_province_codes()).items():
                copy.write_row(row)
        conn.execute("CHECKPOINT")
        conn.autocommit = False
        t = time.perf_counter()
        with conn.transaction():
            conn.execute(
                f"CREATE UNLOGGED TABLE {staging} (full_name text, phone text, email text, birthday text, province text)"
            )
            t_copy = time.perf_counter()
            with conn.cursor().copy(f"COPY {staging} FROM STDIN WITH (FORMAT csv)") as copy:
                view = memoryview(body)
                for i in range(0, len(view), 1 << 20):
                    copy.write(view[i : i + (1 << 20)])
            copy_s = time.perf_counter() - t_copy
            t_ins = time.perf_counter()
            inserted = conn.execute(
                f"""
                WITH d AS MATERIALIZED (
                    SELECT nextval(pg_get_serial_sequence('customers_customer', 'id')) AS id, x.*
                    FROM (SELECT DISTINCT ON (p) full_name, p, e, birthday, province FROM (
                            SELECT full_name, {PHONE_E164_SQL} AS p, nullif(lower(trim(email)), '') AS e,
                                   birthday, province FROM {staging}) s
                          ORDER BY p) x),
                c AS (
                    INSERT INTO customers_customer (id, kind, full_name, given_name, salutation, job_title, birthday,
                        lunar_birthday, tax_code, province, ward, street, legacy_address, tier, stage, source,
                        owner_id, team_id, branch_id, contract_terms, price_type, receivable_amount, external_ref,
                        version, created_by_id, name_folded, given_folded, search_text, created_at, updated_at)
                    SELECT d.id, 'person', d.full_name, regexp_replace(d.full_name, '^.* ', ''), '', '',
                        CASE WHEN d.birthday <> '' THEN to_date(d.birthday, 'DD/MM/YYYY') END, false, '',
                        coalesce(pr.code, ''), '', '', '', '', 'lead', 'import', %s, %s, %s, '', '', 0, '', 1, %s,
                        lower(d.full_name), lower(regexp_replace(d.full_name, '^.* ', '')),
                        ' ' || lower(d.full_name) || ' ' || substr(d.p, 2) || ' ' || coalesce(d.e, '') || ' ',
                        now(), now()
                    FROM d LEFT JOIN bench_raw_province pr ON pr.name = d.province
                    ON CONFLICT DO NOTHING RETURNING 1)
                INSERT INTO customers_contactpoint (customer_id, kind, value, label, position)
                SELECT id, 'phone', p, 'mobile', 0 FROM d
                UNION ALL SELECT id, 'email', e, 'other', 0 FROM d WHERE e IS NOT NULL
                ON CONFLICT DO NOTHING
                """,
                [user[0], user[1], user[2], user[0]],
            ).rowcount
            insert_s = time.perf_counter() - t_ins
        seconds = time.perf_counter() - t  # includes COMMIT (the deferred FK checks)
        commit_s = seconds - copy_s - insert_s
        conn.autocommit = True
        conn.execute(f"DROP TABLE {staging}, bench_raw_province")
        count = conn.execute("SELECT count(*) FROM customers_customer").fetchone()[0]
        points = conn.execute("SELECT count(*) FROM customers_contactpoint").fetchone()[0]
    return {"seconds": seconds, "copy_s": copy_s, "insert_s": insert_s, "commit_s": commit_s,
            "contact_points": points, "inserted_points": inserted, "count": count}  # fmt: skip


def _truncate_customers(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE customers_customer, customers_contactpoint, customers_customer_tags, "
            "customers_historicalcustomer CASCADE"
        )
        conn.execute("VACUUM ANALYZE customers_customer")
        conn.execute("VACUUM ANALYZE customers_contactpoint")
        conn.execute("CHECKPOINT")


def scenario_csv_pg(args: argparse.Namespace) -> dict[str, Any]:
    meta = generate_csv(args.var_dir, args.rows, args.seed)
    path = Path(meta["file"])
    db = args.db
    if args.phases or args.profile:  # scratch database: the figures of interest are the breakdown
        db = with_dbname(args.db, db_name(args.db) + "_scratch")
    env = base_env(args.var_dir, db)
    recreate_pg_database(db)
    prepare_careline_db(env)
    rows = meta["rows"]
    search_names = meta["search_names"][:3]
    result: dict[str, Any] = {"meta": meta, "db": db}
    if args.phases or args.profile:
        task = "phases" if args.phases else "import"
        ours = run_child(
            task, {"file": str(path), "search_names": search_names, "profile": args.profile}, env
        )
        result["ours"] = ours
        _print_breakdown(ours, rows)
        drop_pg_database(db)
        log(f"scratch database {db_name(db)} dropped")
        return result

    body = path.read_bytes()
    body = body[body.index(b"\n") + 1 :]  # skip the BOM and the header line
    log("raw: COPY into unlogged staging + INSERT … SELECT DISTINCT ON (phone) … ON CONFLICT DO NOTHING")
    raw = _raw_pg(db, body, "bench_raw_customer", normalise=False)
    log(
        f"  {raw['seconds']:.1f} s (COPY {raw['copy_s']:.1f} s, INSERT {raw['insert_s']:.1f} s), {raw['count']:,} rows"
    )
    log("raw, phones normalised to E.164 and emails lower-cased in SQL (same dedup keys as ours)")
    raw_norm = _raw_pg(db, body, "bench_raw_customer_norm", normalise=True)
    log(
        f"  {raw_norm['seconds']:.1f} s (COPY {raw_norm['copy_s']:.1f} s, INSERT {raw_norm['insert_s']:.1f} s), "
        f"{raw_norm['count']:,} rows"
    )
    log("raw, the issue's baseline: COPY into unlogged staging + one INSERT … SELECT DISTINCT ON (E.164 phone) "
        "… ON CONFLICT DO NOTHING into Careline's customers table, contact points by a data-modifying CTE")  # fmt: skip
    raw_same = _raw_pg_same(db, body)
    log(
        f"  {raw_same['seconds']:.1f} s (COPY {raw_same['copy_s']:.1f} s, INSERT {raw_same['insert_s']:.1f} s, "
        f"COMMIT {raw_same['commit_s']:.1f} s), {raw_same['count']:,} customers, "
        f"{raw_same['contact_points']:,} contact points"
    )
    del body
    _truncate_customers(db)
    log("ours: import_start(mode='create', all_or_nothing=True, run_now=True) in a child process")
    ours = run_child("import", {"file": str(path), "search_names": search_names}, env)
    result.update(raw=raw, raw_norm=raw_norm, raw_same=raw_same, ours=ours)
    _check_import(ours, meta)

    ours_rate = rows / ours["seconds"]
    raw_rate = rows / raw["seconds"]
    norm_rate = rows / raw_norm["seconds"]
    same_rate = rows / raw_same["seconds"]
    peak = ours["child_maxrss_kib"]
    log(
        f"\nImport {rows:,}-row CSV into PostgreSQL (file {meta['bytes'] / 1e6:.1f} MB); goal: {GOALS['csv-pg']}"
    )
    print_table(
        ["variant", "rows in", "table rows", "seconds", "rows/s", "ours/this", "peak RSS"],
        [
            ["raw (goal baseline): COPY staging + DISTINCT ON (E.164) merge into our customers + contact points",
             f"{rows:,}", f"{raw_same['count']:,}", f"{raw_same['seconds']:.1f}", f"{same_rate:,.0f}",
             f"{ours_rate / same_rate:.2f}", "-"],
            ["raw (reference): one-table COPY staging + DISTINCT ON (phone text) merge", f"{rows:,}",
             f"{raw['count']:,}", f"{raw['seconds']:.1f}", f"{raw_rate:,.0f}", f"{ours_rate / raw_rate:.2f}", "-"],
            ["raw (reference): same, phone/email normalised in SQL", f"{rows:,}", f"{raw_norm['count']:,}",
             f"{raw_norm['seconds']:.1f}", f"{norm_rate:,.0f}", f"{ours_rate / norm_rate:.2f}", "-"],
            ["ours: import_start (child process)", f"{rows:,}", f"{ours['customers']:,}",
             f"{ours['seconds']:.1f}", f"{ours_rate:,.0f}", "1.00", mib(peak)],
        ],
    )  # fmt: skip
    ratio = ours_rate / same_rate
    log(
        f"ratio ours/raw (same tables) = {ratio:.3f} (goal >= 0.50): {'yes' if ratio >= 0.5 else 'NO'}; "
        f"vs the one-table reference {ours_rate / raw_rate:.3f}; "
        f"peak RSS {mib(peak)} (goal <= 1024 MiB): {'yes' if peak <= 1024 * 1024 else 'NO'}"
    )
    log(
        f"ours: RSS after django.setup {mib(ours['rss_after_setup_kib'])}, with the file read {mib(ours['rss_before_kib'])}; "
        f"job {ours['job']['status']}, created {ours['job']['created']:,}, merged rows {ours['job']['merged_rows']:,}; "
        f"search after load found {ours['search_found']}/{ours['search_tried']} "
        f"({', '.join(f'{x * 1000:.0f} ms' for x in ours['search_s'])}; the import ANALYZEs after a big load)"
    )
    result["summary"] = {"ours_rows_s": ours_rate, "raw_same_rows_s": same_rate, "raw_rows_s": raw_rate,
                         "raw_norm_rows_s": norm_rate, "ratio": ratio, "ratio_one_table": ours_rate / raw_rate,
                         "ratio_norm": ours_rate / norm_rate, "peak_rss_mib": peak / 1024}  # fmt: skip
    return result


def _check_import(ours: dict[str, Any], meta: dict[str, Any]) -> None:
    problems = []
    if ours["job"]["status"] != "succeeded":
        problems.append(f"job {ours['job']['status']}: {ours['job']['message']} {ours['job']['errors']}")
    for key, expected in (
        ("customers", meta["expected_customers"]),
        ("phones", meta["expected_phones"]),
        ("emails", meta["expected_emails"]),
    ):
        if ours[key] != expected:
            problems.append(f"{key}: {ours[key]:,} in the database, expected {expected:,}")
    if ours["search_found"] != ours["search_tried"]:
        problems.append(f"search found {ours['search_found']} of {ours['search_tried']} imported names")
    if problems:
        raise SystemExit("import check failed: " + "; ".join(problems))
    log(
        f"check: job succeeded; customers {ours['customers']:,} = expected (dedup on phone or email), "
        f"phones {ours['phones']:,}, emails {ours['emails']:,}; search finds the imported names"
    )


def _print_breakdown(ours: dict[str, Any], rows: int) -> None:
    if "phases" in ours:
        log(f"\nPhases of the import ({rows:,} rows; child peak RSS {mib(ours['child_maxrss_kib'])})")
        total = sum(p[1] for p in ours["phases"])
        print_table(
            ["phase", "seconds", "share", "µs/row", "RSS after"],
            [
                [name, f"{s:.2f}", f"{s / total:.0%}", f"{s / rows * 1e6:.1f}", mib(r)]
                for name, s, r in ours["phases"]
            ],
        )
        log(f"total {total:.2f} s = {rows / total:,.0f} rows/s")
        log("inside the write phase:")
        print_table(
            ["part", "seconds", "µs/row"],
            [[k, f"{v:.2f}", f"{v / rows * 1e6:.1f}"] for k, v in ours["write_parts"].items()],
        )
    if "profile" in ours:
        log(f"\ncProfile of import_start ({rows:,} rows, {ours['seconds']:.1f} s under the profiler); "
            f"stats file {ours['profile_file']}")  # fmt: skip
        log(ours["profile"])


def scenario_xlsx(args: argparse.Namespace) -> dict[str, Any]:
    from python_calamine import CalamineWorkbook

    from careline.imports import columnar
    from careline.imports.mapping import Mapping, auto_map
    from careline.imports.parsing import parse_rows
    from careline.imports.readers import read_outline, read_table
    from careline.imports.services import stage_rows
    from careline.imports.staging import Stage

    class UnwrittenStage(Stage):
        """The import's stage with its database write left out: each batch of staged rows is built (the
        values exactly as COPY / executemany would get them, or the column lane's frame) and then dropped."""

        def flush(self) -> None:
            self.staged += len(self._batch)
            self._batch = []

        def add_frame(self, frame: Any) -> None:
            self.flush()
            self.staged += frame.height

    meta = generate_csv(args.var_dir, args.rows, args.seed)
    rows = meta["rows"]
    xlsx = write_xlsx(args.var_dir, rows, args.seed)
    data = xlsx.read_bytes()
    limits = {"max_bytes": 1 << 30, "max_rows": 2_000_000}

    def calamine() -> int:
        return len(CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python())

    def ours_outline() -> int:
        """The upload's read: headers and row count (stored in the job; the run starts from them)."""
        return read_outline(data, filename=xlsx.name, **limits).rows

    outline = read_outline(data, filename=xlsx.name, **limits)
    mapping = Mapping(columns=auto_map(outline.headers))

    def ours_lane() -> int:
        """Everything services._run does to the file before the database, as it does it for an XLSX: the
        column lane (read, parse, check, dedup keys and leaders, the staged rows with folded names and search
        text) given the headers and mapping the upload stored."""
        stage = UnwrittenStage()
        staged = columnar.stage_xlsx(
            data, sheet=None, headers=outline.headers, mapping=mapping, stage=stage,
            read_table=lambda: read_table(data, filename=xlsx.name, **limits),
        )  # fmt: skip
        if staged is None or staged.row_engine_rows:
            raise SystemExit("the column lane did not take the whole benchmark file")
        stage.flush()
        return stage.staged + len(staged.checked.failed_rows)

    def ours_parse() -> int:
        table = read_table(data, filename=xlsx.name, **limits)
        return sum(1 for _ in parse_rows(table, Mapping(columns=auto_map(table.headers))))

    def ours_rows() -> int:
        """The row engine (what _run did for every file until 2026-11-23, and still does for the files the
        lane leaves): read_table + stage_rows, no DB write."""
        table = read_table(data, filename=xlsx.name, **limits)
        stage = UnwrittenStage()
        checked = stage_rows(table, Mapping(columns=auto_map(table.headers)), stage)
        stage.flush()
        return stage.staged + len(checked.failed_rows)

    steps = (
        ("calamine", calamine),
        ("lane", ours_lane),
        ("outline", ours_outline),
        ("rows", ours_rows),
        ("rows_parse", ours_parse),
    )
    timings: dict[str, list[float]] = {k: [] for k, _f in steps}
    cpu: dict[str, list[float]] = {k: [] for k in timings}
    ours_lane()  # warm the process-wide caches (phone prefixes, ward keys) as a running server has them
    ours_rows()
    for _ in range(3):  # median of 3, interleaved
        for key, fn in steps:
            t, c = time.perf_counter(), time.process_time()
            n = fn()
            timings[key].append(time.perf_counter() - t)
            cpu[key].append(time.process_time() - c)
            if key != "calamine" and n != rows:
                raise SystemExit(f"{key}: {n} rows, expected {rows}")
    med = {k: sorted(v)[1] for k, v in timings.items()}
    med_cpu = {k: sorted(v)[1] for k, v in cpu.items()}

    with tempfile.TemporaryDirectory(prefix="careline-bench-xlsx-") as tmp:
        var_dir = Path(tmp)
        env = base_env(var_dir, f"sqlite:///{var_dir / 'careline.sqlite3'}")
        prepare_careline_db(env)
        log("ours: import_start of the XLSX into a fresh SQLite database, in a child process")
        ours = run_child("import", {"file": str(xlsx), "search_names": meta["search_names"][:3]}, env)
        _check_import(ours, meta)
        if args.phases:
            env2 = base_env(var_dir / "phases", f"sqlite:///{var_dir / 'phases.sqlite3'}")
            prepare_careline_db(env2)
            phases = run_child("phases", {"file": str(xlsx), "search_names": meta["search_names"][:1]}, env2)
            _print_breakdown(phases, rows)
    cal_rate = rows / med["calamine"]
    ours_rate = rows / ours["seconds"]
    log(
        f"\nXLSX, {rows:,} rows ({len(data) / 1e6:.1f} MB); goal: {GOALS['xlsx']}; parse times are medians of 3"
    )

    def line(label: str, key: str) -> list[str]:
        return [label, f"{med[key]:.2f}", f"{med_cpu[key]:.2f}", f"{rows / med[key]:,.0f}",
                f"{med['calamine'] / med[key]:.2f}", f"{med_cpu['calamine'] / med_cpu[key]:.2f}"]  # fmt: skip

    print_table(
        ["step", "seconds", "CPU s", "rows/s", "vs calamine", "CPU vs calamine"],
        [
            line("calamine parse-only (to_python)", "calamine"),
            line("ours: file -> staged rows, column lane, no DB write (goal line)", "lane"),
            line("ours: the upload's outline (headers, row count)", "outline"),
            line("row engine: read_table + stage_rows, no DB write", "rows"),
            line("row engine: read_table + parse_rows (the preview's work)", "rows_parse"),
            ["ours import_start end to end (upload + run, SQLite)", f"{ours['seconds']:.2f}", "",
             f"{ours_rate:,.0f}", f"{ours_rate / cal_rate:.2f}", ""],
        ],
    )  # fmt: skip
    # The goal compares like with like: calamine's parse-only (file -> Python cells) against ours from file to
    # the rows as they go to the database (everything the import run does to a row before its staging write).
    lane_rate = rows / med["lane"]
    ratio = lane_rate / cal_rate
    log(f"ratio ours (file -> staged rows) / calamine parse-only = {ratio:.3f} (goal >= 0.60): "
        f"{'yes' if ratio >= 0.6 else 'NO'}; CPU-time ratio {med_cpu['calamine'] / med_cpu['lane']:.3f}; "
        f"row engine {med['calamine'] / med['rows']:.3f}; end to end (upload + run with the SQLite write) "
        f"{ours_rate / cal_rate:.3f}; ours peak RSS {mib(ours['child_maxrss_kib'])}")  # fmt: skip
    return {"meta": meta, "xlsx": str(xlsx), "timings": timings, "cpu": cpu, "ours": ours,
            "summary": {"calamine_rows_s": cal_rate, "ours_lane_rows_s": lane_rate, "ours_rows_s": ours_rate,
                        "ratio": ratio, "ratio_row_engine": med["calamine"] / med["rows"],
                        "ratio_end_to_end": ours_rate / cal_rate}}  # fmt: skip


def scenario_sqlite(args: argparse.Namespace) -> dict[str, Any]:
    meta = generate_csv(args.var_dir, args.rows, args.seed)
    rows = meta["rows"]
    path = Path(meta["file"])
    scratch = args.phases or args.profile  # a scratch directory, removed afterwards: keep the bench database
    sq_dir = args.var_dir / (f"sqlite-{rows}-scratch" if scratch else f"sqlite-{rows}")
    if sq_dir.exists():
        for f in sq_dir.glob("careline.sqlite3*"):
            f.unlink()
    sq_dir.mkdir(parents=True, exist_ok=True)
    db_file = sq_dir / "careline.sqlite3"
    env = base_env(sq_dir, f"sqlite:///{db_file}")
    prepare_careline_db(env)
    result: dict[str, Any] = {"meta": meta, "db": str(db_file)}
    if scratch:
        task = "phases" if args.phases else "import"
        ours = run_child(
            task, {"file": str(path), "search_names": meta["search_names"][:1], "profile": args.profile}, env
        )
        _print_breakdown(ours, rows)
        shutil.rmtree(sq_dir)
        return {**result, "ours": ours}

    raw_db = sq_dir / "raw.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{db_file}{suffix}").exists():
            shutil.copyfile(f"{db_file}{suffix}", f"{raw_db}{suffix}")
    log("ours: import_start of the CSV into the SQLite file, in a child process")
    ours = run_child("import", {"file": str(path), "search_names": meta["search_names"][:3]}, env)
    _check_import(ours, meta)

    # Raw (goal baseline): the same rows already split (csv.reader, no normalisation, no dedup) with
    # executemany into Careline's own customers and contact-points tables (all their indexes), in a copy of
    # the freshly migrated database file; same pragmas as Careline's connection.
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        values = [(n, p, e or None, b or None, pr or None, n.lower()) for n, p, e, b, pr in reader]
    provinces = dict(_province_codes())
    raw_same = _raw_sqlite_same(raw_db, values, provinces)

    # Raw (reference, the earlier baseline): a 6-column table with indexes on phone and email.
    conn = sqlite3.connect(db_file, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("DROP TABLE IF EXISTS bench_raw_customer")
    conn.execute(
        "CREATE TABLE bench_raw_customer (id integer PRIMARY KEY, full_name text, phone text, email text, "
        "birthday text, province text, search_text text)"
    )
    conn.execute("CREATE INDEX bench_raw_customer_phone ON bench_raw_customer (phone)")
    conn.execute("CREATE INDEX bench_raw_customer_email ON bench_raw_customer (email)")
    t = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO bench_raw_customer (full_name, phone, email, birthday, province, search_text) VALUES (?, ?, ?, ?, ?, ?)",
        values,
    )
    conn.execute("COMMIT")
    one_s = time.perf_counter() - t
    one_count = conn.execute("SELECT count(*) FROM bench_raw_customer").fetchone()[0]
    conn.close()
    raw_s = raw_same["seconds"]
    raw_count = raw_same["count"]
    raw_rate = rows / raw_s
    one_rate = rows / one_s
    ours_rate = rows / ours["seconds"]
    ratio = ours_rate / raw_rate
    log(
        f"\nImport {rows:,}-row CSV into SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL); goal: {GOALS['sqlite']}"
    )
    print_table(
        ["variant", "rows in", "table rows", "seconds", "rows/s", "ours/this", "peak RSS"],
        [
            ["raw (goal baseline): executemany into our customers + contact points", f"{rows:,}",
             f"{raw_count:,}", f"{raw_s:.1f}", f"{raw_rate:,.0f}", f"{ratio:.3f}", "-"],
            ["raw (reference): executemany, split values, 6-column table, 2 indexes", f"{rows:,}",
             f"{one_count:,}", f"{one_s:.1f}", f"{one_rate:,.0f}", f"{ours_rate / one_rate:.3f}", "-"],
            ["ours: import_start (child process)", f"{rows:,}", f"{ours['customers']:,}", f"{ours['seconds']:.1f}",
             f"{ours_rate:,.0f}", "1.000", mib(ours["child_maxrss_kib"])],
        ],
    )  # fmt: skip
    log(f"raw (same tables): customers {raw_same['customers_s']:.1f} s + contact points {raw_same['points_s']:.1f} s "
        f"+ COMMIT {raw_same['commit_s']:.1f} s; {raw_same['points']:,} contact points")  # fmt: skip
    log(f"ratio ours/raw (same tables) = {ratio:.3f} (goal >= 0.50): {'yes' if ratio >= 0.5 else 'NO'}; "
        f"vs the one-table reference {ours_rate / one_rate:.3f}; peak RSS {mib(ours['child_maxrss_kib'])}")  # fmt: skip
    return {**result, "ours": ours, "raw": raw_same, "raw_one_table": {"seconds": one_s, "count": one_count},
            "summary": {"ours_rows_s": ours_rate, "raw_rows_s": raw_rate, "raw_one_table_rows_s": one_rate,
                        "ratio": ratio, "ratio_one_table": ours_rate / one_rate}}  # fmt: skip


def _raw_sqlite_same(
    db_file: Path, values: list[tuple[Any, ...]], provinces: dict[str, str]
) -> dict[str, Any]:
    """executemany of prepared tuples into customers_customer and customers_contactpoint (ids given)."""
    now = dt.datetime.now(dt.UTC).isoformat(sep=" ")
    conn = sqlite3.connect(db_file, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    user = conn.execute(
        "SELECT id, team_id, branch_id FROM accounts_user WHERE username = ?", [USER]
    ).fetchone()
    customers = []
    points = []
    for i, (name, phone, email, birthday, province, folded) in enumerate(values, start=1):
        given = name.rsplit(" ", 1)[-1]
        iso = f"{birthday[6:]}-{birthday[3:5]}-{birthday[:2]}" if birthday else None
        customers.append((
            i, "person", name, given, "", "", iso, 0, "", provinces.get(province or "", ""), "", "", "", "",
            "lead", "import", user[0], user[1], user[2], "", "", 0, "", 1, user[0], folded, given.lower(),
            f" {folded} {phone} {email or ''} ", now, now,
        ))  # fmt: skip
        points.append((i, "phone", phone, "mobile", 0))
        if email:
            points.append((i, "email", email, "other", 0))
    t = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO customers_customer (id, kind, full_name, given_name, salutation, job_title, birthday, "
        "lunar_birthday, tax_code, province, ward, street, legacy_address, tier, stage, source, owner_id, team_id, "
        "branch_id, contract_terms, price_type, receivable_amount, external_ref, version, created_by_id, "
        "name_folded, given_folded, search_text, created_at, updated_at) "
        f"VALUES ({', '.join(['?'] * 30)})",
        customers,
    )
    customers_s = time.perf_counter() - t
    t_p = time.perf_counter()
    conn.executemany(
        "INSERT INTO customers_contactpoint (customer_id, kind, value, label, position) VALUES (?, ?, ?, ?, ?)",
        points,
    )
    points_s = time.perf_counter() - t_p
    t_c = time.perf_counter()
    conn.execute("COMMIT")
    commit_s = time.perf_counter() - t_c
    seconds = time.perf_counter() - t
    count = conn.execute("SELECT count(*) FROM customers_customer").fetchone()[0]
    conn.close()
    return {"seconds": seconds, "customers_s": customers_s, "points_s": points_s, "commit_s": commit_s,
            "count": count, "points": len(points)}  # fmt: skip


RAW_EXPORT_SQL = """
SELECT c.id, c.full_name, c.kind, c.salutation,
       (SELECT string_agg(p.value, '; ' ORDER BY p.position) FROM customers_contactpoint p
         WHERE p.customer_id = c.id AND p.kind = 'phone'),
       (SELECT string_agg(p.value, '; ' ORDER BY p.position) FROM customers_contactpoint p
         WHERE p.customer_id = c.id AND p.kind = 'email'),
       to_char(c.birthday, 'DD/MM/YYYY'), c.tax_code, c.province, c.ward, c.street, c.legacy_address,
       c.stage, c.source, c.tier,
       (SELECT string_agg(t.name, ', ') FROM customers_customer_tags ct JOIN customers_tag t ON t.id = ct.tag_id
         WHERE ct.customer_id = c.id),
       coalesce(nullif(u.display_name, ''), u.username),
       to_char(c.created_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'DD/MM/YYYY HH24:MI')
  FROM customers_customer c LEFT JOIN accounts_user u ON u.id = c.owner_id
 ORDER BY c.given_folded, c.name_folded, c.id
"""


def scenario_export(args: argparse.Namespace) -> dict[str, Any]:
    import xlsxwriter

    db = args.db
    env = base_env(args.var_dir, db)
    with psycopg.connect(db) as conn:
        n = conn.execute("SELECT count(*) FROM customers_customer").fetchone()[0]
    if n == 0:
        raise SystemExit(f"{db_name(db)} has no customers: run --scenario csv-pg first")
    log(f"export: {n:,} customers in {db_name(db)}")
    if args.profile:  # cProfile of ours on the customers of one province (Cần Thơ, about 4% of the rows)
        ours = run_child("export", {"profile": True, "filters": {"province": "92"}}, env)
        log(f"\ncProfile of export_start, province 92: {ours['rows']:,} rows in {ours['seconds']:.1f} s "
            f"under the profiler")  # fmt: skip
        log(ours["profile"])
        return {"ours": ours}

    # Raw: read the 18 values once with a plain (server-side) cursor, then write them with xlsxwriter.
    t = time.perf_counter()
    with psycopg.connect(db, prepare_threshold=None) as conn, conn.cursor(name="bench_export") as cur:
        cur.itersize = 10_000
        cur.execute(RAW_EXPORT_SQL)
        values = cur.fetchall()
    read_s = time.perf_counter() - t
    log(f"raw read: {len(values):,} rows x {len(values[0])} columns in {read_s:.1f} s")
    out = args.var_dir / "raw-export.xlsx"
    args.var_dir.mkdir(parents=True, exist_ok=True)
    from careline.imports.services import EXPORT_COLUMNS

    t = time.perf_counter()
    workbook = xlsxwriter.Workbook(str(out), {"constant_memory": True, "strings_to_formulas": False})
    sheet = workbook.add_worksheet("Khách hàng")
    bold = workbook.add_format({"bold": True})
    for col, (_key, vi, _en) in enumerate(EXPORT_COLUMNS):
        sheet.write_string(0, col, vi, bold)
    write_string, write_number = sheet.write_string, sheet.write_number
    for r, row in enumerate(values, start=1):
        for col, v in enumerate(row):
            if v is None or v == "":
                continue
            if v.__class__ is int:
                write_number(r, col, v)
            else:
                write_string(r, col, v)
    workbook.close()
    write_s = time.perf_counter() - t
    raw_rows = len(values)
    del values
    log(
        f"raw write: {write_s:.1f} s -> {out} ({out.stat().st_size / 1e6:.1f} MB); parent peak RSS {mib(maxrss_kib())}"
    )

    log("ours: export_start(filters=CustomerFilters(), fmt='xlsx', run_now=True) in a child process")
    ours = run_child("export", {}, env)
    if ours["status"] != "succeeded" or ours["rows"] != raw_rows:
        raise SystemExit(f"export: job {ours['status']}, {ours['rows']} rows (raw {raw_rows})")
    ratio = ours["seconds"] / write_s
    ratio_rw = ours["seconds"] / (read_s + write_s)
    log(f"\nExport {raw_rows:,} customers to XLSX (PostgreSQL); goal: {GOALS['export']}")
    print_table(
        ["variant", "rows", "seconds", "rows/s", "ours/this", "file", "peak RSS"],
        [
            ["raw: xlsxwriter write only (constant_memory)", f"{raw_rows:,}", f"{write_s:.1f}",
             f"{raw_rows / write_s:,.0f}", f"{ratio:.2f}", f"{out.stat().st_size / 1e6:.0f} MB", "-"],
            ["raw: SQL read (18 cols, one cursor) + write", f"{raw_rows:,}", f"{read_s + write_s:.1f}",
             f"{raw_rows / (read_s + write_s):,.0f}", f"{ratio_rw:.2f}", "", "-"],
            ["ours: export_start (child process)", f"{ours['rows']:,}", f"{ours['seconds']:.1f}",
             f"{ours['rows'] / ours['seconds']:,.0f}", "1.00", f"{ours['bytes'] / 1e6:.0f} MB",
             mib(ours["child_maxrss_kib"])],
        ],
    )  # fmt: skip
    log(f"ratio ours/raw write = {ratio:.2f} (goal <= 2.0): {'yes' if ratio <= 2 else 'NO'}")
    return {"ours": ours, "raw": {"read_s": read_s, "write_s": write_s, "rows": raw_rows, "file": str(out)},
            "summary": {"ours_s": ours["seconds"], "raw_write_s": write_s, "ratio": ratio, "ratio_read_write": ratio_rw}}  # fmt: skip


REDUNDANT_INDEXES = (  # covered by a composite index, or on a column that is almost always NULL / low-cardinality
    "customers_customer_owner_id_",  # (owner_id, stage) leads with it
    "customers_customer_team_id_",  # (team_id, stage)
    "customers_customer_branch_id_",  # (branch_id, stage)
    "customers_customer_stage_",  # 4 values; plus its _like twin
    "customers_customer_tax_code_7e2494a8_like",
    "customers_customer_province_d970d620_like",
    "customers_customer_archived_at_",
    "customers_customer_organization_id_",
    "customers_customer_merged_into_id_",
    "customers_customer_created_by_id_",
    "customers_contactpoint_customer_id_",  # (customer_id, kind, value) unique leads with it
)


def scenario_pg_floor(args: argparse.Namespace) -> dict[str, Any]:
    """What our schema costs PostgreSQL alone: INSERT … SELECT of the imported rows (already computed, no Python)
    into clones of customers_customer / customers_contactpoint with none, all, or a lean set of their indexes,
    with and without their (deferred) foreign keys; COMMIT included."""
    db = args.db
    results: list[list[Any]] = []
    with psycopg.connect(db, autocommit=True, prepare_threshold=None) as conn:
        n = conn.execute("SELECT count(*) FROM customers_customer").fetchone()[0]
        if n == 0:
            raise SystemExit(f"{db_name(db)} has no customers: run --scenario csv-pg first")

        def indexes(table: str) -> list[tuple[str, str]]:
            return conn.execute(
                "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
                "WHERE indrelid = %s::regclass AND NOT indisprimary ORDER BY 1",
                [table],
            ).fetchall()

        def fks(table: str) -> list[str]:
            rows = conn.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
                [table],
            ).fetchall()
            return [r[0] for r in rows]

        def run(
            label: str, table: str, idx: list[tuple[str, str]], with_fks: bool, after: bool = False
        ) -> None:
            clone = "bench_floor"
            conn.execute(f"DROP TABLE IF EXISTS {clone}")
            conn.execute(f"CREATE TABLE {clone} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
            conn.execute(f"ALTER TABLE {clone} ADD PRIMARY KEY (id)")
            create = [  # CREATE [UNIQUE] INDEX name ON public.t USING …
                re.sub(r"INDEX \S+ ON \S+ ", f"INDEX {clone}_{k} ON {clone} ", definition, count=1)
                for k, (_name, definition) in enumerate(idx)
            ]
            for statement in [] if after else create:
                conn.execute(statement)
            if with_fks:
                for definition in fks(table):
                    conn.execute(f"ALTER TABLE {clone} ADD {definition}")
            count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            conn.execute("CHECKPOINT")
            t = time.perf_counter()
            with conn.transaction():
                conn.execute(f"INSERT INTO {clone} SELECT * FROM {table} ORDER BY id")
                for statement in create if after else []:  # the index built after the load, same transaction
                    conn.execute(statement)
                insert_s = time.perf_counter() - t
            total = time.perf_counter() - t
            conn.execute(f"DROP TABLE {clone}")
            results.append([label, f"{count:,}", len(idx), "yes" if with_fks else "no", f"{insert_s:.1f}",
                            f"{total - insert_s:.1f}", f"{total:.1f}", f"{total / count * 1e6:.1f}"])  # fmt: skip
            log(f"  {label}: {total:.1f} s")

        cust, points = indexes("customers_customer"), indexes("customers_contactpoint")
        lean_cust = [i for i in cust if not i[0].startswith(REDUNDANT_INDEXES)]
        lean_points = [i for i in points if not i[0].startswith(REDUNDANT_INDEXES)]
        trgm = [i for i in cust if "gin_trgm_ops" in i[1]]
        log("server-side floor of our schema (INSERT … SELECT from the imported tables into clones):")
        run("customers: heap only", "customers_customer", [], False)
        run("customers: all indexes + FKs (as ours)", "customers_customer", cust, True)
        run("customers: all indexes, no FKs", "customers_customer", cust, False)
        run("customers: trigram GIN only", "customers_customer", trgm, False)
        run("customers: trigram GIN built after the load", "customers_customer", trgm, False, after=True)
        run("customers: lean indexes + FKs", "customers_customer", lean_cust, True)
        run("contact points: all indexes + FK (as ours)", "customers_contactpoint", points, True)
        run("contact points: lean indexes + FK", "customers_contactpoint", lean_points, True)
    log(
        f"\nServer-side cost of our schema, PostgreSQL only (no Python, rows already computed); {n:,} customers"
    )
    print_table(["clone of", "rows", "indexes", "FKs", "INSERT s", "COMMIT s", "total s", "µs/row"], results)
    log(f"lean = without {len(cust) - len(lean_cust)} redundant customer indexes and "
        f"{len(points) - len(lean_points)} contact point index: {', '.join(REDUNDANT_INDEXES)}")  # fmt: skip
    return {"rows": results}


# --- main --------------------------------------------------------------------------------------------


SCENARIOS = {
    "gen": scenario_gen,
    "csv-pg": scenario_csv_pg,
    "xlsx": scenario_xlsx,
    "sqlite": scenario_sqlite,
    "export": scenario_export,
    "pg-floor": scenario_pg_floor,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", choices=list(SCENARIOS), help="what to run")
    ap.add_argument("--rows", type=int, help="rows in the file (default: 1M; xlsx 100k)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--db", default=DEFAULT_DB, help="PostgreSQL URL (csv-pg recreates it; export reads it)")
    ap.add_argument("--var-dir", type=Path, default=DEFAULT_VAR, help="files: CSV, XLSX, SQLite, job outputs")
    ap.add_argument("--phases", action="store_true", help="time ours step by step (scratch database)")
    ap.add_argument("--profile", action="store_true", help="cProfile ours (scratch database)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--child-params", help=argparse.SUPPRESS)
    ap.add_argument("--child-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_main(args.child, json.loads(args.child_params or "{}"), Path(args.child_out))
        return 0
    if not args.scenario:
        ap.error("--scenario is required")
    args.var_dir = args.var_dir.resolve()
    args.rows = args.rows or DEFAULT_ROWS[args.scenario]
    pg = args.db if args.scenario in ("csv-pg", "export", "pg-floor") else None
    log(f"machine: {machine_facts(pg)}")
    log(f"command: {' '.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])}")
    log(f"started: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M:%S UTC')}")
    # The benchmark process itself needs Django for the name lists, the mapping and the parse-only runs.
    setup_django(base_env(args.var_dir, pg or f"sqlite:///{args.var_dir / 'unused.sqlite3'}"))
    t = time.perf_counter()
    result = SCENARIOS[args.scenario](args)
    result.update(
        scenario=args.scenario, rows=args.rows, seed=args.seed, command=sys.argv, machine=machine_facts(pg),
        total_s=time.perf_counter() - t,
    )  # fmt: skip
    if args.scenario != "gen":
        log(
            f"\nresults saved to {save_result(args.scenario + ('-phases' if args.phases else '-profile' if args.profile else ''), result)}"
        )
    log(
        f"finished: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M:%S UTC')}, {time.perf_counter() - t:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
