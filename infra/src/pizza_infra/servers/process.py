"""A server process started in the background, found again through its pid file.

The marker (a ``-Dpizza.infra=NAME`` argument) makes sure a pid file never points at
an unrelated process that happens to reuse the pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pizza_infra.config import HOST, InfraError


def connect(port: int, timeout_s: float, host: str = HOST) -> socket.socket | None:
    """A connection to a listening ``port``, or None.

    A port in the ephemeral range (tests shift ports up into it) that nobody listens on
    can be "connected" to itself, when the kernel picks that very port as the source:
    such a connection would hold the port and keep the server from binding it.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout_s)
    if sock.connect_ex((host, port)) != 0 or sock.getsockname() == sock.getpeername():
        sock.close()
        return None
    return sock


def port_open(port: int, host: str = HOST) -> bool:
    sock = connect(port, 0.5, host)
    if sock is None:
        return False
    sock.close()
    return True


def running_pid(pid_file: Path, is_ours: Callable[[list[str]], bool]) -> tuple[int | None, bool]:
    """The pid ``pid_file`` names, if its process's command line ``is_ours``; and whether
    the file names some other process (stale), as opposed to no pid at all."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None, False
    return (pid, False) if is_ours(_cmdline(pid)) else (None, True)


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


Settled = Literal["answers", "not running", "hung"]


@dataclass(frozen=True)
class ServerProcess:
    name: str
    run_dir: Path
    log_dir: Path

    @property
    def marker(self) -> str:
        return f"-Dpizza.infra={self.name}"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    @property
    def answered_file(self) -> Path:
        """Holds the pid once that process has answered: it is past starting."""
        return self.run_dir / f"{self.name}.answered"

    def pid(self) -> int | None:
        """The pid of the running server, or None (a stale pid file is removed)."""
        # The marker is a whole argument: kafka is not kafka-1.
        pid, stale = running_pid(self.pid_file, lambda args: self.marker in args)
        if stale:
            self.pid_file.unlink(missing_ok=True)
        return pid

    def start(self, argv: Sequence[str], *, env: dict[str, str], cwd: Path) -> int:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env={**os.environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives the command that started it
            )
        # Between fork and exec the child still shows our own command line: wait for exec.
        deadline = time.monotonic() + 10
        while self.marker not in _cmdline(proc.pid) and proc.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        self.pid_file.write_text(str(proc.pid))
        return proc.pid

    def started_at(self) -> float | None:
        """When it was started (the pid file's time), on the ``time.time`` clock."""
        try:
            return self.pid_file.stat().st_mtime
        except OSError:
            return None

    def _answered_before(self, pid: int) -> bool:
        try:
            return self.answered_file.read_text().strip() == str(pid)
        except OSError:
            return False

    def settle(
        self, ready: Callable[[], bool], *, start_timeout_s: float, answer_timeout_s: float
    ) -> Settled:
        """Wait for a running server to answer; one that stays silent past its bound is hung
        (a pid alive but stopped, deadlocked or out of heap) and is killed.

        The bound is ``answer_timeout_s``, or what is left of ``start_timeout_s`` for a
        server started moments ago that has not answered yet.
        """
        pid = self.pid()
        if pid is None:
            return "not running"
        still_starting = 0.0
        if not self._answered_before(pid):
            still_starting = (self.started_at() or 0.0) + start_timeout_s - time.time()
        deadline = time.monotonic() + max(answer_timeout_s, still_starting)
        while True:
            if self.pid() is None:
                return "not running"
            if ready():
                return "answers"
            if time.monotonic() > deadline:
                self.kill()
                return "hung"
            time.sleep(0.5)

    def wait_ready(self, ready: Callable[[], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pid = self.pid()
            if pid is None:
                raise InfraError(f"{self.name} exited while starting:\n{self.log_tail()}")
            if ready():
                self.answered_file.write_text(str(pid))
                return
            time.sleep(0.5)
        raise InfraError(f"{self.name} did not answer within {timeout_s:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout_s: float = 60.0) -> bool:
        """SIGTERM (a clean shutdown), then SIGKILL after ``timeout_s``. False if not running."""
        return bool(stop_all([self], timeout_s))

    def kill(self) -> bool:
        """SIGKILL, no shutdown at all (a crash, or a hung server). False if not running."""
        pid = self.pid()
        if pid is None:
            return False
        _signal(pid, signal.SIGKILL)
        self._wait_gone(pid)
        return True

    def _gone(self, pid: int) -> bool:
        """Exited with its ports closed (while it exits, its command line is empty before
        its files are closed), or the pid is some other program's by now."""
        args = _cmdline(pid)
        return _exited(pid) or (any(args) and self.marker not in args)

    def _wait_gone(self, pid: int) -> None:
        while not self._gone(pid):
            time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        self.answered_file.unlink(missing_ok=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def _exited(pid: int) -> bool:
    """Gone, or a zombie whose parent has not reaped it yet, with all its threads gone (the
    main thread of a JVM turns zombie first; the files close with the last thread)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        threads = len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X") and threads <= 1


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # gone meanwhile
        os.kill(pid, sig)


def stop_all(processes: Sequence[ServerProcess], timeout_s: float = 60.0) -> list[str]:
    """SIGTERM every running one at once, SIGKILL those left after ``timeout_s``.

    A stopped (SIGSTOP) process gets SIGCONT too: otherwise it cannot act on SIGTERM.
    Returns the names of those that ran.
    """
    running = [(process, pid) for process in processes if (pid := process.pid()) is not None]
    for _, pid in running:
        _signal(pid, signal.SIGTERM)
        _signal(pid, signal.SIGCONT)
    deadline = time.monotonic() + timeout_s
    while not all(p._gone(pid) for p, pid in running) and time.monotonic() < deadline:
        time.sleep(0.2)
    for process, pid in running:
        if process.pid() is not None:
            _signal(pid, signal.SIGKILL)
        process._wait_gone(pid)
    return [process.name for process, _ in running]
