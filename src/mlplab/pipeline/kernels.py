"""Warm kernels: each process that executes runs keeps its kernels between runs.

A new kernel costs a process start and TensorFlow's import (seconds) in every run; a warm
one pays them once per worker. ``borrow`` lends a kernel made fresh for the next run
(``mlplab.lab.fresh``: new namespace, execution count 1, Keras state cleared, ...) and takes
it back afterwards; a run that fails, times out or kills its kernel discards it, so the
next run starts a new one. Kernels belong to one build (its token): a kernel left from an
earlier build, which has that build's code imported, is never lent. ``close_all`` shuts a
process's kernels down; the runner calls it when a build ends, here and on every worker.
Kernels talk over Unix sockets (see ``ipc_kernel_manager``) in their own folder. Where
``$MLPLAB_KERNEL_FORKS`` names a folder (a build's, or the test session's), warm kernels
fork from a server there that imported TensorFlow once (``fork_server``).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlplab.pipeline.processes import child_environ

KERNEL_NAME = "python3"
START_TIMEOUT = 60.0  # seconds for a kernel to start, as papermill's default
# Code the runner sends: the kernel imports mlplab itself (the driver never imports lab).
WARM_UP = "__import__('mlplab.lab.fresh', fromlist=['warm_up']).warm_up({imports!r})"
FRESH_RUN = "__import__('mlplab.lab.fresh', fromlist=['fresh_run']).fresh_run({cwd!r}, {env!r})"
# A new kernel's IPython keeps no history file, as under papermill.
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]

FORKS_ENV = "MLPLAB_KERNEL_FORKS"  # the folder of the fork servers' sockets
FORK_SERVER = Path(__file__).parents[1] / "lab" / "forkserver.py"
KERNEL_STUB = Path(__file__).with_name("kernel_stub.py")
# Variables read only once a kernel runs, never by the server's imports (what jupyter_client
# adds, the terminal's size, the Dask cluster a worker belongs to, the test pytest runs and
# its worker), and mlplab's own (a build's token, its sockets' folder, no figures, ...: the
# server imports no mlplab module): kernels that differ in these alone fork from one server.
PER_KERNEL_ENV = ("TMPDIR", "JPY_PARENT_PID", "JPY_SESSION_NAME", "COLUMNS", "LINES",
                  "__DASK_PARENT_PID", "PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER")
PER_KERNEL_PREFIX = "MLPLAB_"
# What importing TensorFlow sets in the environment, which a process that imported it (a test
# process) passes on to its kernels: the server's own import sets the same. None: any value
# (TensorFlow overwrites it with its version).
TENSORFLOW_SETS = {"TF2_BEHAVIOR": "1", "ENABLE_RUNTIME_UPTIME_TELEMETRY": "1",
                   "TPU_ML_PLATFORM": "Tensorflow", "TPU_ML_PLATFORM_VERSION": None,
                   "HDF5_PLUGIN_PATH": "disable", "KMP_DUPLICATE_LIB_OK": "True",
                   "KMP_INIT_AT_FORK": "FALSE"}


class KernelSetupFailed(RuntimeError):
    """The kernel could not be started, warmed up or made fresh."""


class WarmKernel:
    """One started kernel and the folder of its sockets."""

    def __init__(self, build: str, imports: str, parent: Path | None) -> None:
        from jupyter_core.utils import run_sync

        self.build, self.imports = build, imports
        # Short path: a Unix socket's path is limited to about 100 characters.
        self.folder = Path(tempfile.mkdtemp(prefix="mlk", dir=parent))
        self.manager = ipc_kernel_manager(self.folder, forks=True)(kernel_name=KERNEL_NAME)
        try:
            run_sync(self.manager.start_kernel)(extra_arguments=KERNEL_ARGUMENTS)
            self.execute(WARM_UP.format(imports=imports), timeout=300)
        except BaseException:
            self.close()
            raise

    def execute(self, code: str, timeout: float) -> None:
        """Run ``code`` outside the notebook: no history, no execution count, output dropped."""
        client = self.manager.blocking_client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=START_TIMEOUT)
            reply = client.execute_interactive(code, store_history=False, allow_stdin=False,
                                               timeout=timeout, output_hook=lambda msg: None)
        except (RuntimeError, TimeoutError) as err:
            raise KernelSetupFailed(f"kernel set-up failed: {err}") from None
        finally:
            client.stop_channels()
        content = reply["content"]
        if content["status"] != "ok":
            raise KernelSetupFailed(f"kernel set-up failed: {content.get('ename')}: "
                                    f"{content.get('evalue')}")

    def fresh(self, cwd: str, env: dict[str, str]) -> None:
        """Make the kernel as a new one would be for the next run (``mlplab.lab.fresh``)."""
        self.execute(FRESH_RUN.format(cwd=str(cwd), env=dict(env)), timeout=60)

    def alive(self) -> bool:
        from jupyter_core.utils import run_sync

        try:
            return bool(run_sync(self.manager.is_alive)())
        except Exception:
            return False

    def release_clients(self) -> None:
        """Stop the channels of the clients nbclient made: it leaves them open when it does
        not own the kernel."""
        self.manager.release_clients()

    def close(self) -> None:
        from jupyter_core.utils import run_sync

        with contextlib.suppress(Exception):
            self.manager.release_clients()
        with contextlib.suppress(Exception):
            if self.manager.has_kernel:
                run_sync(self.manager.shutdown_kernel)(now=True)
        shutil.rmtree(self.folder, ignore_errors=True)


_lock = threading.Lock()
_idle: list[WarmKernel] = []  # started, fresh-able, lent to nobody


def notebook_imports(notebook_text: str) -> str:
    """The notebook's top-level import statements, one a line, in order: what a warm kernel
    imports before its first run."""
    import ast
    import json

    lines = []
    for cell in json.loads(notebook_text)["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        try:
            tree = ast.parse(source)
        except SyntaxError:  # IPython magics: not plain Python
            continue
        lines += [ast.unparse(node) for node in tree.body
                  if isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0)
                  and getattr(node, "module", None) != "__future__"]
    return "\n".join(lines)


@contextlib.contextmanager
def borrow(build: str, notebook_text: str, parent: Path | None, cwd: str,
           env: dict[str, str]) -> Iterator[WarmKernel]:
    """A warm kernel of build ``build`` for the notebook ``notebook_text``, made fresh for a
    run in ``cwd`` with ``env`` added to the kernel's environment. Returned after the run;
    discarded when the run raised (a failed cell, a timeout, a dead kernel) or the kernel
    died."""
    imports = notebook_imports(notebook_text)
    with _lock:
        fits = [k for k in _idle if (k.build, k.imports) == (build, imports)]
        # An earlier build's kernel for this notebook has that build's code imported; one
        # for another notebook may serve a build still going (the index's, prestarted).
        stale = [k for k in _idle if k.imports == imports and k.build != build]
        _idle[:] = [k for k in _idle if k not in stale]
        kernel = fits.pop() if fits else None
        if kernel is not None:
            _idle.remove(kernel)
    for old in stale:
        old.close()
    if kernel is not None and not kernel.alive():
        kernel.close()
        kernel = None
    if kernel is None:
        kernel = WarmKernel(build, imports, parent)
    try:
        kernel.fresh(cwd, env)
        yield kernel
    except BaseException:
        kernel.close()
        raise
    kernel.release_clients()
    if kernel.alive():
        with _lock:
            _idle.append(kernel)
    else:
        kernel.close()


def prestart(build: str, notebook_text: str, parent: Path | None) -> None:
    """Start a warm kernel for ``notebook_text`` now, to be lent by ``borrow`` later (the
    index's kernel, started while the runs go)."""
    kernel = WarmKernel(build, notebook_imports(notebook_text), parent)
    with _lock:
        _idle.append(kernel)


def close_all(build: str | None = None) -> int:
    """Shut down this process's idle kernels (of build ``build`` only, if given); return
    how many."""
    with _lock:
        kernels = [k for k in _idle if build is None or k.build == build]
        _idle[:] = [k for k in _idle if k not in kernels]
    for kernel in kernels:
        kernel.close()
    return len(kernels)


atexit.register(close_all)


def forks_environ(folder: Path) -> dict[str, str]:
    """The variable that makes a build's kernels fork from servers in ``folder``, unless
    one is set already (the test session's)."""
    return {} if os.environ.get(FORKS_ENV) else {FORKS_ENV: str(folder)}


def fork_server(env: dict[str, str]) -> tuple[Path, str] | None:
    """The socket and key of the fork server for kernels with environment ``env``, started
    now if none listens (one at a time: the others wait for it); None where forks are not
    set up (``$MLPLAB_KERNEL_FORKS`` unset, or not Linux) or the server could not start.

    The key covers what the server's imports may have read: the interpreter, the server's
    code and the environment but for ``PER_KERNEL_ENV`` and ``PER_KERNEL_PREFIX``, which each
    kernel gets its own of, and ``TENSORFLOW_SETS``, which the server's import sets alike.
    """
    import fcntl

    folder = os.environ.get(FORKS_ENV)
    if not folder or not hasattr(os, "pidfd_open"):  # Linux only: the stub waits on a pidfd
        return None
    server_env = {k: v for k, v in env.items()
                  if k not in PER_KERNEL_ENV and not k.startswith(PER_KERNEL_PREFIX)}
    read = {k: v for k, v in server_env.items()
            if k not in TENSORFLOW_SETS or TENSORFLOW_SETS[k] not in (None, v)}
    key = hashlib.sha256(json.dumps([sys.executable, FORK_SERVER.read_text(),
                                     sorted(read.items())]).encode()).hexdigest()
    address = Path(folder) / f"{key[:16]}.sock"
    if key in _failed:
        return None
    if _listening(address):
        return address, key
    address.parent.mkdir(parents=True, exist_ok=True)
    with open(address.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _listening(address):
            return address, key
        address.unlink(missing_ok=True)  # a server that died left it
        server = subprocess.Popen(
            [sys.executable, str(FORK_SERVER), str(address), key],
            env={**server_env, "TMPDIR": str(address.parent)}, cwd=address.parent,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        _servers.append(server)  # reaped once it leaves
        deadline = time.monotonic() + START_TIMEOUT * 2
        while not address.exists():
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                _failed.add(key)  # plain kernels from now on, not a failed start each time
                return None
            time.sleep(0.05)
    return address, key


def _listening(address: Path) -> bool:
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as probe:
        try:
            probe.connect(str(address))
        except OSError:
            return False
    return True


_servers: list[subprocess.Popen] = []
_failed: set[str] = set()


def ipc_kernel_manager(sockets: Path, forks: bool = False) -> type:
    """A kernel manager that talks over Unix sockets in the folder ``sockets``, not TCP.

    Kernels started at once each pick free TCP ports, and can race for the same one;
    sockets in a private folder cannot collide (and are not open to other users). The
    connection file goes there too, so removing the folder leaves nothing behind. The
    folder's path must be short: a socket path has a limit of about 100 characters. The
    folder is also the kernel's $TMPDIR: what the kernel leaves there (TensorFlow's
    autograph writes a module for every function it converts and removes them only when the
    kernel exits normally) goes with the folder, and the folder lies in the build's
    temporary one, which the driver removes even when the kernel was killed. It remembers
    the clients it makes, so a kernel kept for the next run can close them.
    """
    from jupyter_client.manager import AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(transport="ipc", ip=str(sockets / "s"),
                             connection_file=str(sockets / "kernel.json"), **kwargs)
            self.clients: list[Any] = []

        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            kw["env"] = {**child_environ(kw.get("env")), "TMPDIR": str(sockets)}
            command, kw = await super()._async_pre_start_kernel(**kw)
            server = fork_server(kw["env"]) if forks else None
            if server is not None:
                command = [sys.executable, str(KERNEL_STUB), str(server[0]), server[1],
                           *command]
            return command, kw

        def client(self, **kwargs: Any) -> Any:
            client = super().client(**kwargs)
            self.clients.append(client)
            return client

        def release_clients(self) -> None:
            clients, self.clients = self.clients, []
            for client in clients:
                with contextlib.suppress(Exception):
                    client.stop_channels()

    return IPCKernelManager
