"""Processes for bench/load.py: `m2io serve` and `m2io index` in their own process groups, always stopped.

Every process starts in a new session (its own group) on 127.0.0.1, with its output in a log file, and is
stopped as a group: SIGTERM, then SIGKILL after a grace period, so that a server's workers go with it.
``stop_at_exit()`` stops whatever is still running at exit, and makes SIGTERM and SIGHUP unwind like Ctrl-C
(so every ``finally`` stops what it started). A ``Server`` is one `m2io serve` on a free port: launched,
waited for until /health is 200 (and ``ready``), stopped, and recorded for the JSON.

>>> import tempfile
>>> sleeper = popen_group(["sleep", "30"], Path(tempfile.mkdtemp()) / "sleep.log")
>>> stop_group(sleeper); sleeper.returncode, sleeper in _LIVE
(-15, False)
>>> s = Server("workers1", Path("index/openshot"), ["--workers", "1"], Path("/tmp/workers1.log"), port=8123)
>>> s.base, s.record()["args"]
('http://127.0.0.1:8123', ['--workers', '1'])
>>> 0 < free_port() < 65536
True
"""
from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- process groups -------------------------------------------------------------------------------------------

_LIVE: list[subprocess.Popen] = []


def stop_group(proc: subprocess.Popen, grace: float = 20.0) -> None:
    """SIGTERM to the process's group, SIGKILL after ``grace`` s if anyone in it is left; reap it."""
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = proc.pid
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            proc.poll()
            try:
                os.killpg(pgid, 0)  # anyone left in the group (workers included)?
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            continue
        break
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    if proc in _LIVE:
        _LIVE.remove(proc)


def stop_all() -> None:
    for proc in list(_LIVE):
        stop_group(proc, grace=10.0)


def _on_signal(signum, frame):  # SIGTERM/SIGHUP: unwind like Ctrl-C, so every finally stops what it started
    raise KeyboardInterrupt(f"signal {signum}")


def stop_at_exit() -> None:
    """Stop every group still running at exit; SIGTERM and SIGHUP raise KeyboardInterrupt."""
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)


def popen_group(cmd: list[str], log_path: Path) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=ROOT)
    _LIVE.append(proc)
    return proc


def m2io_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "m2io.cli", *args]


def run_m2io(args: list[str], log_path: Path, what: str) -> float:
    """Run an m2io command to the end in its own group (stopped on Ctrl-C); its wall seconds."""
    log(f"{what}: {' '.join(args)} (log {log_path})")
    t = time.perf_counter()
    proc = popen_group(m2io_cmd(*args), log_path)
    try:
        rc = proc.wait()
    finally:
        stop_group(proc, grace=5.0)
    if rc != 0:
        raise SystemExit(f"{what} failed (exit {rc}); see {log_path}:\n{log_path.read_text()[-3000:]}")
    return time.perf_counter() - t


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- servers --------------------------------------------------------------------------------------------------

@dataclass
class Server:
    label: str
    index: Path
    args: list[str]
    log_path: Path
    port: int = 0
    proc: subprocess.Popen | None = None
    startup_s: float | None = None
    health: dict = field(default_factory=dict)
    workers: int | None = None
    """--workers passed (None: --legacy-server, the flag was not passed, the server's own single process)."""
    workers_seen: list | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> None:
        self.port = free_port()
        cmd = m2io_cmd("serve", "--index", str(self.index), "--host", "127.0.0.1", "--port", str(self.port), *self.args)
        log(f"start {self.label}: {' '.join(cmd[3:])} (log {self.log_path})")
        self._t0 = time.perf_counter()
        self.proc = popen_group(cmd, self.log_path)

    def wait_ready(self, timeout: float) -> None:
        """Until /health is 200 (and ``ready`` where the server says so); startup_s counts from the launch."""
        t = self._t0
        deadline = t + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.label} exited ({self.proc.returncode}) before it was ready; "
                                 f"{self.log_path}:\n{self.log_path.read_text()[-3000:]}")
            try:
                r = httpx.get(self.base + "/health", timeout=2)
                body = r.json() if r.status_code == 200 else {}
                if r.status_code == 200 and body.get("ready", True):
                    self.startup_s = time.perf_counter() - t
                    self.health = body
                    log(f"{self.label} ready in {self.startup_s:.1f} s: {body}")
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.25)
        raise SystemExit(f"{self.label} not ready within {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)
            self.proc = None

    def record(self) -> dict:
        return {"label": self.label, "port": self.port, "args": self.args, "workers": self.workers, "startup_s": self.startup_s,
                "health": self.health, "workers_seen": self.workers_seen}


def workers_seen(base: str, tries: int = 12) -> list:
    """Worker pids that answer /health on fresh connections (the new server names its worker)."""
    pids = set()
    for _ in range(tries):
        try:
            with httpx.Client(timeout=5) as c:
                pids.add(c.get(base + "/health").json().get("worker"))
        except (httpx.HTTPError, ValueError):
            pass
    return sorted(p for p in pids if p is not None)


async def health(base: str) -> dict:
    """One GET /health: {"http": status, "body": ...}, or {"http": None, "error": ...}."""
    try:
        async with httpx.AsyncClient(timeout=5) as c:
            r = await c.get(base + "/health")
            return {"http": r.status_code, "body": r.json() if r.status_code == 200 else r.text[:200]}
    except (httpx.HTTPError, ValueError) as e:
        return {"http": None, "error": str(e)}
