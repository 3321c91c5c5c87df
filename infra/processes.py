"""One managed child process: started with a log file, waited on until ready, stopped cleanly.

Every child runs in its own session (and so its own process group): Ctrl-C in the terminal
reaches only the runner, which then stops services before the servers they depend on, and a
stop signal sent to the group also reaches any grandchildren.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ReadyCheck = Callable[["ManagedProcess"], bool]
"""Returns True once the process serves; exceptions count as 'not yet'."""


class ProcessFailed(RuntimeError):
    """A managed process exited or did not become ready; the message names it and shows its log."""


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, or a note that there is none."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


class ManagedProcess:
    """A child process with a name, a log file and a readiness predicate.

    ``ready`` is a parameter so each server or service says what 'ready' means for it (a ping,
    an HTTP 200, a line in its log) without subclassing.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        ready: ReadyCheck | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        ready_timeout: float = 60.0,
        stop_timeout: float = 15.0,
    ) -> None:
        self.name = name
        self.argv = [str(arg) for arg in argv]
        self.log_path = log_path
        self.ready = ready
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.popen: subprocess.Popen[bytes] | None = None
        self.log_offset = 0
        """Size of the log when this run started; log checks read only what came after."""

    @property
    def pid(self) -> int | None:
        return None if self.popen is None else self.popen.pid

    def is_running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def returncode(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def log_text(self) -> str:
        """What this run wrote to its log so far."""
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(self.log_offset)
                return handle.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log_path, lines)

    def start(self) -> ManagedProcess:
        """Spawn the process, appending its stdout and stderr to ``log_path``."""
        if self.is_running():
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.log_offset = log.tell()
            header = f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(self.argv)}\n"
            log.write(header.encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        return self

    def failure(self, reason: str) -> ProcessFailed:
        return ProcessFailed(
            f"{self.name} {reason}; last lines of {self.log_path}:\n{self.log_tail()}"
        )

    def check_alive(self) -> None:
        """Raise ProcessFailed if the process has exited."""
        code = self.returncode()
        if code is not None:
            raise self.failure(f"exited with code {code}")

    def poll_ready(self) -> bool:
        """One readiness check; raises ProcessFailed if the process is gone."""
        self.check_alive()
        if self.ready is None:
            return True
        try:
            return bool(self.ready(self))
        except Exception:  # noqa: BLE001 - any error just means 'not ready yet'
            return False

    def wait_ready(self, timeout: float | None = None) -> ManagedProcess:
        """Block until the readiness check passes; ProcessFailed on exit or timeout."""
        deadline = time.monotonic() + (self.ready_timeout if timeout is None else timeout)
        while not self.poll_ready():
            if time.monotonic() > deadline:
                raise self.failure(f"was not ready within {self.ready_timeout:.0f}s")
            time.sleep(0.2)
        return self

    def start_and_wait(self) -> ManagedProcess:
        return self.start().wait_ready()

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM the process group, SIGKILL it after ``timeout``; returns the exit code."""
        if self.popen is None:
            return None
        popen = self.popen
        if popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                popen.wait(self.stop_timeout if timeout is None else timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                popen.wait()
        # Anything the leader left behind in its group goes too.
        self._signal_group(signal.SIGKILL)
        return popen.returncode

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self.popen is not None
        try:
            os.killpg(self.popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    async def astart(self) -> ManagedProcess:
        """``start`` + ``wait_ready`` without blocking an event loop (for async fixtures)."""
        return await asyncio.to_thread(self.start_and_wait)

    async def astop(self) -> int | None:
        return await asyncio.to_thread(self.stop)

    def __repr__(self) -> str:
        return f"ManagedProcess({self.name!r}, pid={self.pid}, log={str(self.log_path)!r})"


def stop_leftovers(marker: str) -> list[int]:
    """SIGKILL every process whose command line mentions ``marker`` (and its group); returns
    their pids. Used after a test run for anything its teardown could not reach."""
    stopped: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in command:
            pid = int(entry.name)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            stopped.append(pid)
    return stopped
