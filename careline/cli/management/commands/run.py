from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from careline.cli.demo import demo_logins


class Command(BaseCommand):
    help = "Serve Careline: the web server and a background worker (huey) in one command. Ctrl-C stops both."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--workers", type=int, default=2, help="Web worker processes (granian)")
        parser.add_argument(
            "--threads",
            type=int,
            default=int(os.environ.get("WEB_THREADS", "0")) or min(8, 2 * (os.cpu_count() or 1) + 1),
            help="Threads per web worker = requests at once = DB connections (default 2 x cores + 1, at most 8)",
        )
        parser.add_argument("--no-worker", action="store_true", help="Do not start the background worker")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        python = sys.executable
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "careline.config.settings"}
        if settings.DEBUG:
            web_cmd = [
                python,
                "-m",
                "careline.cli.main",
                "manage",
                "runserver",
                f"{host}:{port}",
                "--noreload",
            ]
        else:
            web_cmd = [
                python, "-m", "granian", "--interface", "wsgi", "careline.config.wsgi:application",
                "--host", host, "--port", str(port), "--workers", str(options["workers"]),
                # Threads per worker = requests served at once = database connections per worker (granian's
                # default of hundreds would exhaust PostgreSQL's max_connections under a burst).
                "--blocking-threads", str(options["threads"]),
            ]  # fmt: skip
        procs = [subprocess.Popen(web_cmd, env=env)]
        if not options["no_worker"]:
            procs.append(subprocess.Popen([python, "-m", "careline.cli.main", "manage", "run_huey"], env=env))
        mode = "Redis" if settings.REDIS_URL else "SQLite"
        self.stdout.write("")
        self.stdout.write(f"Careline is running at http://{host}:{port}/  (worker: huey, {mode} mode)")
        logins = demo_logins()
        if logins:
            self.stdout.write(f"Demo logins (password: {settings.CARELINE_DEMO_PASSWORD}):")
            for username, name, role in logins:
                self.stdout.write(f"  {username:<14} {role:<15} {name}")
        self.stdout.write("Press Ctrl-C to stop.")
        self.stdout.flush()
        try:
            while all(p.poll() is None for p in procs):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            for p in procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        code = max((p.returncode or 0) for p in procs)
        if code not in (0, -signal.SIGINT, 130):
            raise SystemExit(code)
