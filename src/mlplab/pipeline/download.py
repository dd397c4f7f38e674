"""Download a dataset file once, verify it, and never leave half a file under its name.

The transfer goes to ``<name>.part``; an interrupted download resumes from there with an
HTTP Range request; only a file whose sha256 matches is renamed to its final name.
"""

from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlplab.datafiles import sha256_files

CHUNK = 1 << 16


@dataclass(frozen=True)
class Remote:
    url: str
    sha256: str
    filename: str


KNOWN = {
    "mnist": Remote(
        url="https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
        sha256="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
        filename="mnist.npz",
    ),
}


class DownloadError(RuntimeError):
    """A download that did not produce a verified file; the message says what to do."""


def fetch(remote: Remote, dest_dir: Path, *, timeout: float = 30,
          progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Return ``dest_dir/filename`` with a verified checksum, downloading what is missing."""
    dest_dir = Path(dest_dir)
    final = dest_dir / remote.filename
    if final.exists() and sha256_files([final]) == remote.sha256:
        return final
    dest_dir.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".part")
    resumed = part.exists() and part.stat().st_size > 0
    if resumed and sha256_files([part]) == remote.sha256:  # finished but not yet renamed
        os.replace(part, final)
        return final
    _transfer(remote.url, part, timeout, progress)
    actual = sha256_files([part])
    if actual != remote.sha256 and resumed:  # a stale .part may not match: start over once
        part.unlink()
        _transfer(remote.url, part, timeout, progress)
        actual = sha256_files([part])
    if actual != remote.sha256:
        part.unlink()
        raise DownloadError(f"{remote.url}: checksum mismatch (expected sha256 "
                            f"{remote.sha256}, got {actual}); the file was discarded")
    os.replace(part, final)
    return final


def _transfer(url: str, part: Path, timeout: float,
              progress: Callable[[int, int | None], None] | None) -> None:
    """Append the missing bytes of ``url`` to ``part`` (resuming when the server allows)."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # nothing left to fetch, or a stale .part: restart
            part.unlink()
            return _transfer(url, part, timeout, progress)
        raise DownloadError(f"{url}: HTTP {err.code} {err.reason}") from None
    except http.client.HTTPException as err:  # not an HTTP server, or a garbled reply
        raise DownloadError(f"{url}: bad HTTP response ({err!r})") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise DownloadError(
            f"cannot reach {url} ({reason}): no network? Copy the file into "
            f"{part.parent}/{part.name.removesuffix('.part')} by hand, or try again later"
        ) from None
    with response:
        if have and response.status != 206:  # server ignored the Range: start from zero
            have = 0
        length = response.headers.get("Content-Length")
        expected = have + int(length) if length is not None else None
        written = have
        try:
            with open(part, "ab" if have else "wb") as fh:
                for block in iter(lambda: response.read(CHUNK), b""):
                    fh.write(block)
                    written += len(block)
                    if progress:
                        progress(written, expected)
        except (OSError, http.client.HTTPException) as err:
            raise DownloadError(f"{url}: download interrupted after {written:,} bytes "
                                f"({err}); run again to resume") from None
    if expected is not None and written < expected:
        raise DownloadError(f"{url}: download interrupted after {written:,} of {expected:,} "
                            "bytes; run again to resume")
