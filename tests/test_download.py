"""The downloader against a local HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import hashlib
import http.server
import os
import socket
import threading
from pathlib import Path

import pytest

from mlplab.pipeline.download import DownloadError, Remote, fetch

PAYLOAD = os.urandom(300_000)
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    requests: list[dict] = []
    truncate_next = 0  # how many of the next requests are cut short

    def log_message(self, *args):
        pass

    def do_GET(self):
        Handler.requests.append({"path": self.path, "range": self.headers.get("Range")})
        if self.path == "/missing":
            self.send_error(404, "Not Found")
            return
        body = PAYLOAD if self.path != "/corrupt" else PAYLOAD[:-1] + b"x"
        start = 0
        ranged = self.headers.get("Range")
        if ranged and self.path == "/resumable":
            start = int(ranged.split("=")[1].rstrip("-"))
            if start >= len(body):
                self.send_error(416, "Range Not Satisfiable")
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if Handler.truncate_next:  # promise the full length, send half, hang up
            Handler.truncate_next -= 1
            self.wfile.write(body[start:start + (len(body) - start) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body[start:])


@pytest.fixture
def server():
    Handler.requests, Handler.truncate_next = [], 0
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def remote(base: str, path: str, sha: str = SHA) -> Remote:
    return Remote(url=base + path, sha256=sha, filename="file.bin")


def test_success_then_cached_without_request(server, tmp_path: Path):
    path = fetch(remote(server, "/good"), tmp_path, timeout=5)
    assert path == tmp_path / "file.bin" and path.read_bytes() == PAYLOAD
    assert not (tmp_path / "file.bin.part").exists()
    n = len(Handler.requests)
    assert fetch(remote(server, "/good"), tmp_path, timeout=5) == path
    assert len(Handler.requests) == n


def test_present_file_is_used_without_any_request(server, tmp_path: Path):
    (tmp_path / "file.bin").write_bytes(PAYLOAD)
    assert fetch(remote(server, "/good"), tmp_path, timeout=5) == tmp_path / "file.bin"
    assert Handler.requests == []


def test_present_file_with_wrong_checksum_is_replaced(server, tmp_path: Path):
    (tmp_path / "file.bin").write_bytes(b"stale")
    assert fetch(remote(server, "/good"), tmp_path, timeout=5).read_bytes() == PAYLOAD
    assert len(Handler.requests) == 1


def test_progress_reports_bytes_and_total(server, tmp_path: Path):
    calls: list[tuple[int, int | None]] = []
    fetch(remote(server, "/good"), tmp_path, timeout=5, progress=lambda n, t: calls.append((n, t)))
    assert calls[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert [n for n, _ in calls] == sorted(n for n, _ in calls)


def test_bad_checksum_leaves_nothing(server, tmp_path: Path):
    with pytest.raises(DownloadError, match="checksum mismatch") as err:
        fetch(remote(server, "/corrupt"), tmp_path, timeout=5)
    actual = hashlib.sha256(PAYLOAD[:-1] + b"x").hexdigest()
    assert SHA in str(err.value) and actual in str(err.value)
    assert list(tmp_path.iterdir()) == []
    assert len(Handler.requests) == 1  # a fresh download that fails is not retried


def test_truncated_transfer_keeps_part_and_resumes(server, tmp_path: Path):
    Handler.truncate_next = 1
    with pytest.raises(DownloadError, match="interrupted.*run again to resume"):
        fetch(remote(server, "/resumable"), tmp_path, timeout=5)
    assert not (tmp_path / "file.bin").exists()
    half = len(PAYLOAD) // 2
    assert (tmp_path / "file.bin.part").stat().st_size == half
    path = fetch(remote(server, "/resumable"), tmp_path, timeout=5)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA
    assert [r["range"] for r in Handler.requests] == [None, f"bytes={half}-"]
    assert not (tmp_path / "file.bin.part").exists()


def test_stale_part_failing_checksum_restarts_once_from_zero(server, tmp_path: Path):
    (tmp_path / "file.bin.part").write_bytes(b"not the start of the payload")
    path = fetch(remote(server, "/resumable"), tmp_path, timeout=5)
    assert path.read_bytes() == PAYLOAD
    assert [r["range"] for r in Handler.requests] == ["bytes=28-", None]


def test_416_discards_part_and_restarts(server, tmp_path: Path):
    (tmp_path / "file.bin.part").write_bytes(os.urandom(len(PAYLOAD) + 10))
    assert fetch(remote(server, "/resumable"), tmp_path, timeout=5).read_bytes() == PAYLOAD
    assert [r["range"] for r in Handler.requests] == [f"bytes={len(PAYLOAD) + 10}-", None]


def test_complete_part_is_renamed_without_request(server, tmp_path: Path):
    (tmp_path / "file.bin.part").write_bytes(PAYLOAD)
    assert fetch(remote(server, "/good"), tmp_path, timeout=5).read_bytes() == PAYLOAD
    assert Handler.requests == [] and not (tmp_path / "file.bin.part").exists()


def test_server_ignoring_range_restarts_from_zero(server, tmp_path: Path):
    Handler.truncate_next = 1
    with pytest.raises(DownloadError, match="interrupted"):
        fetch(remote(server, "/good"), tmp_path, timeout=5)
    assert fetch(remote(server, "/good"), tmp_path, timeout=5).read_bytes() == PAYLOAD
    assert Handler.requests[-1]["range"] == f"bytes={len(PAYLOAD) // 2}-"  # asked, got 200
    assert len(Handler.requests) == 2


def test_404_is_named(server, tmp_path: Path):
    with pytest.raises(DownloadError, match="HTTP 404") as err:
        fetch(remote(server, "/missing"), tmp_path, timeout=5)
    assert f"{server}/missing" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_no_network_says_so(tmp_path: Path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens here now
    with pytest.raises(DownloadError, match="cannot reach .*no network.*by hand") as err:
        fetch(remote(f"http://127.0.0.1:{port}", "/good"), tmp_path / "data", timeout=5)
    assert str(tmp_path / "data" / "file.bin") in str(err.value)
    assert not (tmp_path / "data" / "file.bin").exists()
