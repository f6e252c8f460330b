"""A fork server for the kill -9 drills: it pays the children's imports once and forks each child from there.

Why: a drill starts twenty or more children, and each new interpreter would import pycardano and the
store first (about 2.5 s of CPU each, most of a drill's time). A forked child opens its stores and
connections itself, as a new interpreter would, and is killed with SIGKILL all the same.

Protocol, one line per request on the server's stdin (answers on its stdout):
- `start STDERR_PATH ARG...`: forks a child that runs `child(ARG...)` with its stderr in STDERR_PATH
  (the child says itself, on the shared stdout, when it has started: that line carries its pid);
- `kill PID`: answers `killed CODE` when the child was still running (then killed with SIGKILL, CODE its
  exit code: -9) or `exited CODE` when it had ended by itself.
It answers `ready` once, first. On end of input it kills the children still running and exits.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Callable


def serve(child: Callable[..., None]) -> None:
    running: set[int] = set()
    print("ready", flush=True)
    for line in sys.stdin:
        command, *arguments = line.split()
        if command == "start":
            stderr_path, *child_arguments = arguments
            pid = os.fork()
            if pid == 0:  # the child: never returns into this loop
                try:
                    os.dup2(os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
                    child(*child_arguments)
                except BaseException:
                    traceback.print_exc()
                finally:
                    os._exit(1)
            running.add(pid)
        elif command == "kill":
            pid = int(arguments[0])
            ended, status = os.waitpid(pid, os.WNOHANG)
            if not ended:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
            running.discard(pid)
            print(f"{'exited' if ended else 'killed'} {os.waitstatus_to_exitcode(status)}", flush=True)
    for pid in running:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
