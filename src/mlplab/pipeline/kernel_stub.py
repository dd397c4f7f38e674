"""The process jupyter_client starts for a kernel forked from a server (``lab/forkserver.py``).

Run as ``python kernel_stub.py SOCKET KEY PYTHON -m ipykernel_launcher ARGS...``. It asks the
server at SOCKET for a kernel with this process's environment, working folder and standard
streams, then stands in for it: signals sent to it (an interrupt, a shutdown) go on to the
kernel, it exits when the kernel exits, and the kernel exits when it dies. When the server
cannot help (no server, another key, an error) it becomes the kernel command itself (exec),
so a kernel always starts. A script of the standard library only: it starts in milliseconds.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2)


def forked_kernel(path: str, key: str, command: list[str]) -> tuple[socket.socket, int] | None:
    """Ask the server for a kernel; its connection and PID, or None."""
    try:
        launcher = command.index("ipykernel_launcher")
        import importlib.util

        spec = importlib.util.find_spec("ipykernel_launcher")
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        conn.settimeout(30)
        conn.connect(path)
        umask = os.umask(0)
        os.umask(umask)
        request = {"key": key, "argv": [spec.origin, *command[launcher + 1:]],
                   "env": dict(os.environ), "cwd": os.getcwd(), "umask": umask}
        socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
        pid = int(conn.recv(64) or b"0")
    except (OSError, ValueError, AttributeError):  # AttributeError: no ipykernel_launcher
        return None
    if not pid:
        conn.close()
        return None
    conn.settimeout(None)
    return conn, pid


def stand_in(conn: socket.socket, pid: int) -> None:
    """Until the kernel ends, or this process's parent does (as ipykernel, which watches its
    parent, would end)."""
    parent = os.getppid()
    for signum in FORWARDED:
        signal.signal(signum, lambda signum, frame: _send(pid, signum))
    try:
        ended = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    while not select.select([ended], [], [], 1.0)[0] and os.getppid() == parent:
        pass
    conn.close()  # the kernel ends with it


def _send(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def main(argv: list[str]) -> None:
    path, key, command = argv[0], argv[1], argv[2:]
    kernel = forked_kernel(path, key, command)
    if kernel is None:
        os.execvp(command[0], command)
    stand_in(*kernel)


if __name__ == "__main__":
    main(sys.argv[1:])
