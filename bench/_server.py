"""The real server for the HTTP parts of the benchmarks (bench/search.py, bench/allocation.py): granian
(WSGI) in its own process group, DEBUG off, as `careline run` serves in production; started, waited for
(`/health/`) and stopped the same way by every benchmark."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PYTHON = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable


def run_threads() -> int:
    """Threads per worker as `careline run` sets them by default: 2 × cores + 1, at most 8."""
    return min(8, 2 * (os.cpu_count() or 1) + 1)


@dataclass
class Server:
    """`granian --interface wsgi careline.config.wsgi:application` on 127.0.0.1:`port` with `workers`
    processes of `threads` threads each (None: granian's default; `careline run` uses
    `run_threads()`); its output goes to `log_path`. `env` carries the settings (CARELINE_DATABASE_URL, …)."""

    port: int
    env: dict[str, str]
    log_path: Path
    workers: int = 1
    threads: int | None = None
    proc: subprocess.Popen[bytes] | None = None
    _log: Any = None

    def start(self, timeout: float = 60.0) -> None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", self.port)) == 0:
                raise SystemExit(f"port {self.port} is already in use; pass --port")
        self._log = self.log_path.open("wb")
        cmd = [
            PYTHON, "-m", "granian", "--interface", "wsgi", "careline.config.wsgi:application",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers),
        ]  # fmt: skip
        if self.threads:
            cmd += ["--blocking-threads", str(self.threads)]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/health/")
                ok = conn.getresponse().status == 200
                conn.close()
                if ok:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"server did not answer /health/ within {timeout:g} s; see {self.log_path}")

    def stop(self) -> None:
        """SIGINT to the server's process group (granian and its workers), SIGKILL after 10 s."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None
