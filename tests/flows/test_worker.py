"""The background worker really runs queued jobs, in both modes `careline run` uses:
SQLite queue (default, no broker) and Redis (CARELINE_REDIS_URL). Each run is a separate Careline
installation in a temporary var/ with a file database, driven through the `careline` command."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

REDIS_URL = os.environ.get("CARELINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def careline(env: dict[str, str], *args: str, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "careline.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )


def stale_count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM customers_customer WHERE search_text = ''").fetchone()[0]


@pytest.mark.parametrize("mode", ["sqlite", "redis"])
def test_queued_job_is_run_by_the_worker(tmp_path: Path, mode: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELINE_")}
    env.update(
        {
            "CARELINE_VAR_DIR": str(tmp_path),
            "CARELINE_TESTING": "0",
            "CARELINE_DATABASE_URL": f"sqlite:///{tmp_path / 'careline.sqlite3'}",
            "DJANGO_SETTINGS_MODULE": "careline.config.settings",
        }
    )
    if mode == "redis":
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        client.flushdb()
        env["CARELINE_REDIS_URL"] = REDIS_URL
    careline(env, "manage", "migrate", "--verbosity", "0")
    careline(env, "demo", "--customers", "30")
    db = tmp_path / "careline.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE customers_customer SET search_text = ''")
        total = conn.execute("SELECT count(*) FROM customers_customer").fetchone()[0]
    assert total >= 30  # the demo's customers, plus those its leads and tickets brought in
    assert stale_count(db) == total

    queued = careline(env, "manage", "reindex_customers")
    assert "Queued 1 re-index jobs" in queued.stdout
    time.sleep(1)
    assert stale_count(db) == total  # nothing happens without a worker

    worker = subprocess.Popen(
        [sys.executable, "-m", "careline.cli.main", "manage", "run_huey"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while stale_count(db) and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    assert stale_count(db) == 0
    with sqlite3.connect(db) as conn:
        (text,) = conn.execute(
            "SELECT search_text FROM customers_customer WHERE external_ref = 'demo-0'"
        ).fetchone()
    assert " nguyen thi lan " in text and "0912345678" in text
