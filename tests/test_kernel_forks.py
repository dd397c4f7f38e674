"""Kernels forked from a server that imported TensorFlow once (mlplab/lab/forkserver.py) start
as a new kernel would, take interrupts, and end with the process jupyter_client holds
(mlplab/pipeline/kernel_stub.py); the stub starts a plain kernel when no server can help, and
a server leaves once its socket is removed and its kernels have ended. (That a run in a
forked kernel gives the same page and record as in a new one is test_warm_kernel's: its warm
half forks.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from jupyter_core.utils import run_sync

from mlplab.params import NO_FIGURES_ENV
from mlplab.pipeline import kernels, processes

# What a kernel sees of itself right after it started.
PROBE = """
import json, os, signal, sys, tempfile, matplotlib
from ipykernel.kernelapp import IPKernelApp
umask = os.umask(0)
os.umask(umask)
print(json.dumps({
    "pid": os.getpid(), "parent": " ".join(__import__("psutil").Process().parent().cmdline()),
    "path": sys.path, "cwd": os.getcwd(), "launcher": sys.argv[0], "options": sys.argv[3:],
    "argv_file": sys.argv[1:3] == ["-f", os.path.join(os.environ["TMPDIR"], "kernel.json")],
    "environ": {k: v for k, v in os.environ.items()
                if k not in PER_KERNEL_ENV and not k.startswith(PER_KERNEL_PREFIX)},
    "tempdir_is_own": tempfile.gettempdir() == os.environ["TMPDIR"],
    "backend": matplotlib.get_backend(), "flags": list(sys.flags),
    "parent_handle": IPKernelApp.instance().parent_handle == int(os.environ["JPY_PARENT_PID"]),
    "session_leader": os.getsid(0) == os.getpid(),
    "signals": [str(signal.getsignal(s))
                for s in (signal.SIGINT, signal.SIGCHLD, signal.SIGPIPE)],
    "umask": umask,
}))
""".replace("PER_KERNEL_ENV", repr(kernels.PER_KERNEL_ENV)).replace(
    "PER_KERNEL_PREFIX", repr(kernels.PER_KERNEL_PREFIX))


def output_of(kernel: kernels.WarmKernel, code: str) -> str:
    client = kernel.manager.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        out: list[str] = []
        client.execute_interactive(code, timeout=60, output_hook=lambda msg: out.append(
            msg["content"].get("text", "")) if msg["msg_type"] == "stream" else None)
    finally:
        client.stop_channels()
    return "".join(out)


@pytest.fixture(scope="module")
def forks(tmp_path_factory) -> Path:
    """A folder of this module's own fork servers."""
    return tmp_path_factory.mktemp("forks")


def start(folder: str, parent: Path) -> kernels.WarmKernel:
    with processes.environ_set({kernels.FORKS_ENV: folder}):
        return kernels.WarmKernel("forks-test", "", parent)


@pytest.fixture(scope="module")
def plain_and_forked(forks, tmp_path_factory):
    parent = tmp_path_factory.mktemp("k")
    pair = [start("", parent), start(str(forks), parent)]
    yield pair
    for kernel in pair:
        kernel.close()


def test_a_forked_kernel_starts_as_a_new_kernel_would(plain_and_forked):
    plain, forked = (json.loads(output_of(k, PROBE)) for k in plain_and_forked)
    assert "forkserver.py" in forked.pop("parent") and "forkserver.py" not in plain.pop("parent")
    assert plain.pop("pid") != forked.pop("pid")
    assert plain["argv_file"] and plain["tempdir_is_own"] and plain["parent_handle"]
    assert forked == plain


def test_a_forked_kernel_takes_an_interrupt(plain_and_forked):
    client = plain_and_forked[1].manager.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        started = time.monotonic()
        msg_id = client.execute("import time; time.sleep(60)")
        time.sleep(1)
        run_sync(plain_and_forked[1].manager.interrupt_kernel)()
        reply = client.get_shell_msg(timeout=20)
    finally:
        client.stop_channels()
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert time.monotonic() - started < 20


def test_killing_the_stub_ends_the_kernel(forks, tmp_path, plain_and_forked):
    umask = os.umask(0o027)  # not the server's: the kernel takes its starter's
    try:
        kernel = start(str(forks), tmp_path)
    finally:
        os.umask(umask)
    probe = json.loads(output_of(kernel, PROBE))
    pid = probe["pid"]
    assert "forkserver.py" in " ".join(psutil.Process(pid).parent().cmdline())
    assert probe["umask"] == 0o027
    kernel.manager.provisioner.process.kill()  # SIGKILL: nothing of the stub runs
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the kernel outlived its stub"
        time.sleep(0.1)
    kernel.close()


@pytest.mark.parametrize("server", ["none", "another key"])
def test_the_stub_runs_the_kernel_command_itself_when_no_server_helps(server, forks,
                                                                      plain_and_forked):
    socket = (str(forks / "none.sock") if server == "none"
              else str(next(forks.glob("*.sock"))))
    command = [sys.executable, "-c", "import sys; print(sys.argv[1:])", "ipykernel_launcher"]
    out = subprocess.run([sys.executable, str(kernels.KERNEL_STUB), socket, "not-its-key",
                          *command], capture_output=True, text=True, timeout=30)
    assert (out.returncode, out.stdout) == (0, "['ipykernel_launcher']\n"), out.stderr


def test_a_server_leaves_when_its_socket_is_removed_once_its_kernels_end(forks,
                                                                         plain_and_forked):
    plain, forked = plain_and_forked
    kernel_pid = json.loads(output_of(forked, PROBE))["pid"]
    server = psutil.Process(kernel_pid).parent()
    for socket in forks.glob("*.sock"):
        socket.unlink()
    time.sleep(3)
    assert server.status() != psutil.STATUS_ZOMBIE, "left while a kernel it forked still ran"
    forked.close()
    server.wait(timeout=10)


# A stand-in for the server: listens on its socket, as the real one does once its imports are
# done, until the socket is removed; exits at once where the environment says it fails.
STAND_IN_SERVER = """
import os, socket, sys, time
if os.environ.get("STAND_IN_FAILS"):
    sys.exit(1)
listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
listener.bind(sys.argv[1] + ".new")
listener.listen()
os.rename(sys.argv[1] + ".new", sys.argv[1])
while os.path.exists(sys.argv[1]):
    time.sleep(0.1)
"""


@pytest.fixture
def stand_in_servers(tmp_path, monkeypatch) -> list:
    script = tmp_path / "server.py"
    script.write_text(STAND_IN_SERVER)
    monkeypatch.setattr(kernels, "FORK_SERVER", script)
    monkeypatch.setattr(kernels, "_servers", [])
    monkeypatch.setattr(kernels, "_failed", set())
    monkeypatch.setenv(kernels.FORKS_ENV, str(tmp_path / "f"))
    yield kernels._servers
    for server in kernels._servers:
        server.kill()
        server.wait()


def test_one_server_an_environment_and_a_new_one_for_a_dead_ones_socket(stand_in_servers):
    env = {"A": "1", "TMPDIR": "/one"}
    address, key = kernels.fork_server(env)
    assert kernels._listening(address) and len(stand_in_servers) == 1
    # Kernels that differ in what each gets its own of share it; others get their own.
    assert kernels.fork_server({**env, "TMPDIR": "/two", processes.BUILD_ENV: "b",
                                NO_FIGURES_ENV: "1", "COLUMNS": "80",
                                "__DASK_PARENT_PID": "1"}) == (address, key)
    assert len(stand_in_servers) == 1
    # A test process that imported TensorFlow passes on what its import set; not another value.
    assert kernels.fork_server({**env, "TF2_BEHAVIOR": "1", "TPU_ML_PLATFORM_VERSION": "9"}
                               ) == (address, key)
    assert len(stand_in_servers) == 1
    assert kernels.fork_server({**env, "HDF5_PLUGIN_PATH": "/x"})[0] != address
    assert len(stand_in_servers) == 2
    other, _ = kernels.fork_server({**env, "A": "2"})
    assert other != address and len(stand_in_servers) == 3
    stand_in_servers[0].kill()
    stand_in_servers[0].wait()
    assert address.exists() and not kernels._listening(address)
    assert kernels.fork_server(env) == (address, key)
    assert kernels._listening(address) and len(stand_in_servers) == 4


def test_a_server_that_cannot_start_is_not_tried_again(stand_in_servers, monkeypatch):
    env = {"STAND_IN_FAILS": "1"}
    assert kernels.fork_server(env) is None
    assert kernels.fork_server(env) is None
    assert len(stand_in_servers) == 1
    monkeypatch.delenv(kernels.FORKS_ENV)
    assert kernels.fork_server({}) is None and len(stand_in_servers) == 1


def test_no_forks_where_the_stub_cannot_wait_for_its_kernel(stand_in_servers, monkeypatch):
    monkeypatch.delattr(os, "pidfd_open")  # macOS, Windows
    assert kernels.fork_server({}) is None and stand_in_servers == []
