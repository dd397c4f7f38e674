"""The downloader against a local HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import hashlib
import http.server
import os
import socket
import threading
from pathlib import Path

import pytest

from mlplab.download import DownloadError, Remote, fetch

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
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if Handler.truncate_next:
            Handler.truncate_next -= 1
            self.wfile.write(body[start:start + 100_000])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body[start:])


@pytest.fixture
def server():
    Handler.requests, Handler.truncate_next = [], 0
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
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


def test_bad_checksum_leaves_nothing(server, tmp_path: Path):
    with pytest.raises(DownloadError, match="checksum mismatch"):
        fetch(remote(server, "/corrupt"), tmp_path, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_truncated_transfer_keeps_part_and_resumes(server, tmp_path: Path):
    Handler.truncate_next = 1
    with pytest.raises(DownloadError, match="interrupted.*run again to resume"):
        fetch(remote(server, "/resumable"), tmp_path, timeout=5)
    assert not (tmp_path / "file.bin").exists()
    assert (tmp_path / "file.bin.part").stat().st_size == 100_000
    path = fetch(remote(server, "/resumable"), tmp_path, timeout=5)
    assert path.read_bytes() == PAYLOAD
    assert Handler.requests[-1]["range"] == "bytes=100000-"


def test_server_ignoring_range_restarts_from_zero(server, tmp_path: Path):
    Handler.truncate_next = 1
    with pytest.raises(DownloadError):
        fetch(remote(server, "/good"), tmp_path, timeout=5)
    assert fetch(remote(server, "/good"), tmp_path, timeout=5).read_bytes() == PAYLOAD


def test_404_is_named(server, tmp_path: Path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch(remote(server, "/missing"), tmp_path, timeout=5)
    assert not (tmp_path / "file.bin").exists()


def test_no_network_says_so(tmp_path: Path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens here now
    with pytest.raises(DownloadError, match="cannot reach .*no network"):
        fetch(remote(f"http://127.0.0.1:{port}", "/good"), tmp_path, timeout=5)
    assert not (tmp_path / "file.bin").exists()
