"""A process that imports TensorFlow once and forks kernels from it.

A new kernel spends most of its start on importing TensorFlow and Keras (7 CPU-s on a slow
2-core machine, in every kernel of a build and of the tests). This server imports them, and
IPython's kernel and its debugger, once; a kernel is then a fork of it that goes on as
``python -m ipykernel_launcher`` would: the client's arguments, environment, working folder
and standard streams, and the notebook's own imports run in the kernel itself. It imports no
mlplab module (it runs as a script), so kernels import mlplab's current code as a new kernel
does.
Nothing is forked after TensorFlow has run an op: its thread pools do not exist yet.

The client is ``mlplab/pipeline/kernel_stub.py``, which stands in the kernel's place for
jupyter_client: it forwards signals and ends when the kernel ends, and the kernel ends when
the stub does (killed included). A request is one message on a SOCK_SEQPACKET socket: JSON
``{"key", "argv", "env", "cwd", "umask"}`` with the stub's standard streams as three file
descriptors. The answer is the kernel's PID, or 0 when the key (the environment the server
imported under, see ``mlplab.pipeline.kernels``) is not the server's.

Run as ``python forkserver.py SOCKET KEY``. The server leaves once its socket is removed
(the folder it lies in is the build's or the test session's) or after an idle hour, and
waits for the kernels it forked to end first: an orphaned kernel stops (ipykernel watches
its parent).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time

PRELOAD = ("tensorflow", "keras")
# What a kernel imports as it starts (the debugger, with debugpy: ~0.5 CPU-s a kernel).
KERNEL_START = ("ipykernel.kernelapp", "ipykernel.debugger")
# What ipykernel sets before a notebook's imports, unless set: matplotlib reads it at import.
INLINE_BACKEND = ("MPLBACKEND", "module://matplotlib_inline.backend_inline")
IDLE_SECONDS = 3600
MAX_MESSAGE = 1 << 20


def serve(path: str, key: str) -> None:
    os.environ.setdefault(*INLINE_BACKEND)
    for module in PRELOAD:
        __import__(module)
    before = dict(os.environ)
    for module in KERNEL_START:
        __import__(module)
    # What those set in the environment (debugpy: PYDEVD_USE_FRAME_EVAL unless set), as a new
    # kernel's start would.
    started_env = {k: v for k, v in os.environ.items() if before.get(k) != v}
    import gc

    gc.freeze()  # the imports' objects stay shared with the kernels, not copied on write
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path + ".new")
    listener.listen(16)
    os.rename(path + ".new", path)  # clients see the socket only once the imports are done
    inode = os.stat(path).st_ino
    listener.settimeout(1.0)
    children: set[int] = set()
    last = time.monotonic()
    while _still_wanted(path, inode) and time.monotonic() - last < IDLE_SECONDS:
        _reap(children)
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        last = time.monotonic()
        with conn:
            conn.settimeout(10)
            try:
                message, fds, _, _ = socket.recv_fds(conn, MAX_MESSAGE, 3)
                request = json.loads(message)
            except (OSError, ValueError):
                continue
            if request.get("key") != key or len(fds) != 3:
                _close(fds)
                conn.sendall(b"0")
                continue
            pid = os.fork()
            if pid == 0:
                try:
                    _become_kernel(listener, conn, fds, request, started_env)
                finally:
                    os._exit(1)  # never back into the server's loop
            children.add(pid)
            _close(fds)
    listener.close()
    if _still_wanted(path, inode):
        os.unlink(path)
    while children:  # kernels end with their stubs; the server stays their parent till then
        _reap(children)
        time.sleep(0.5)


def _become_kernel(listener: socket.socket, conn: socket.socket, fds: list[int],
                   request: dict, started_env: dict[str, str]) -> None:
    listener.close()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()  # the stub, not the server's group, receives the signals meant for the kernel
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    _close([fd for fd in fds if fd > 2])
    os.environ.clear()
    os.environ.update(request["env"])
    for name, value in started_env.items():
        os.environ.setdefault(name, value)
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    if "tempfile" in sys.modules:
        sys.modules["tempfile"].tempdir = None  # found again from the kernel's TMPDIR
    del sys.path[0]  # this script's folder; ipykernel_launcher removes its own the same way
    sys.argv[:] = request["argv"]
    conn.settimeout(None)
    conn.sendall(str(os.getpid()).encode())
    threading.Thread(target=_end_with_stub, args=(conn,), daemon=True).start()
    from ipykernel import kernelapp

    # Its default was read from the environment when the server imported it: the client's now.
    kernelapp.IPKernelApp.instance().parent_handle = int(os.environ.get("JPY_PARENT_PID") or 0)

    code = 0
    try:
        kernelapp.launch_new_instance()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    _leave(code)


def _leave(code: int) -> None:
    """Exit without Python's finalization, which costs ~2 CPU-s once TensorFlow is imported
    (mlplab.pipeline.processes.exit_now, which this script cannot import)."""
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)


def _end_with_stub(conn: socket.socket) -> None:
    """The stub holds the other end: when it dies, killed or not, the kernel goes too."""
    try:
        while conn.recv(1):
            pass
    except OSError:
        pass
    os._exit(1)


def _still_wanted(path: str, inode: int) -> bool:
    try:
        return os.stat(path).st_ino == inode
    except OSError:
        return False


def _reap(children: set[int]) -> None:
    for pid in list(children):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            children.discard(pid)


def _close(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
    _leave(0)
