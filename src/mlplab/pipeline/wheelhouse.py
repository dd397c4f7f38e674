"""Wheels of the pinned environment, rebuilt offline from the installed packages.

The classroom kit's ``install/`` holds the mlplab wheel and ``requirements.txt`` (the pins of
requirements.lock for what the wheel needs: ``pins_for``). For a class without internet
access (or a test that must not download), ``python -m mlplab.pipeline.wheelhouse DEST``
writes one wheel per pinned package into ``DEST``, repacked from this environment's
installed files (what each package's ``RECORD`` lists), so that

    pip install --no-index --find-links DEST -r install/requirements.txt install/mlplab-*.whl

installs the same versions into a fresh virtual environment with no network. The wheels are
for this platform only (the lock's: Linux x86-64, CPython 3.11); each carries its original
tags. Console scripts are left to pip, which writes them from the entry points; other
scripts and data files (Jupyter's kernel specs) go into the wheel's ``.data`` folder. What
only the installer wrote (``INSTALLER_FILES``, compiled files, the interpreter's path in a
script's first line) is left out, so an environment installed by pip or by uv (``make env``)
gives the same wheels.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import sys
import zipfile
from importlib import metadata
from pathlib import Path

# Written by the installer, not part of a wheel (PEP 376/610, pip's own).
INSTALLER_FILES = ("INSTALLER", "REQUESTED", "RECORD", "direct_url.json")


class WheelhouseError(Exception):
    """A pinned package that cannot be repacked, said in one line."""


def pins(requirements: Path) -> list[tuple[str, str]]:
    """(name, version) of each ``name==version`` line (comments and markers aside)."""
    found = []
    for line in Path(requirements).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].split(";", 1)[0].strip()
        if m := re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*==\s*([^\s]+)", line):
            found.append((m[1], m[2]))
    return found


def _tags(wheel_file: str) -> str:
    """The compressed tag set of a WHEEL file's ``Tag:`` lines: 'cp311-cp311-a.b'."""
    tags = [line.split(":", 1)[1].strip() for line in wheel_file.splitlines()
            if line.startswith("Tag:")]
    if not tags:
        return "py3-none-any"
    parts = [list(dict.fromkeys(t.split("-")[i] for t in tags)) for i in range(3)]
    return "-".join(".".join(p) for p in parts)


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def repack(dist: metadata.Distribution, dest: Path) -> Path:
    """One installed distribution as a wheel in ``dest``: its files relative to
    site-packages, its scripts and data files under ``<name>-<version>.data/``."""
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    version = dist.version
    info = Path(dist._path).name  # type: ignore[attr-defined]  # the .dist-info folder
    # The two roots resolved once, each file's path only normalised (its ``..``): resolving
    # each of ~47,000 paths cost ~6 CPU-s of lstat calls.
    site = Path(os.path.realpath(dist.locate_file("")))
    prefix = Path(os.path.realpath(sys.prefix))
    wheel_file = dist.read_text("WHEEL") or ""
    entry_scripts = {ep.name for ep in dist.entry_points
                     if ep.group in ("console_scripts", "gui_scripts")}
    data_dir = f"{name}-{version}.data"
    target = dest / f"{name}-{version}-{_tags(wheel_file)}.whl"
    records = []
    tmp = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
        for rel in dist.files or []:
            path = Path(os.path.normpath(site / rel))
            parts = Path(rel).parts
            if "__pycache__" in parts or path.suffix == ".pyc" or not path.is_file():
                continue
            if parts[0] == info and parts[-1] in INSTALLER_FILES:
                continue
            if parts[0] != "..":
                arcname = Path(rel).as_posix()
                data = path.read_bytes()
            else:  # outside site-packages: relative to the environment's prefix
                try:
                    outside = path.relative_to(prefix)
                except ValueError:
                    raise WheelhouseError(f"{name} {version}: {rel} lies outside the "
                                          f"environment") from None
                if outside.parts[0] == "bin":
                    if outside.name in entry_scripts:
                        continue  # pip writes it from the entry point
                    data = path.read_bytes()
                    if data.startswith(b"#!") and b"python" in data.split(b"\n", 1)[0]:
                        data = b"#!python\n" + data.split(b"\n", 1)[1]  # pip rewrites it
                    arcname = f"{data_dir}/scripts/{outside.name}"
                else:
                    arcname = f"{data_dir}/data/{outside.as_posix()}"
                    data = path.read_bytes()
            z.writestr(arcname, data)
            records.append(_record_line(arcname, data))
        record = f"{info}/RECORD"
        z.writestr(record, "\n".join([*records, f"{record},,"]) + "\n")
    os.replace(tmp, target)
    return target


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def needed(requirements: list[str]) -> dict[str, str]:
    """Canonical name -> installed version of every package the requirement strings
    (``name``, ``name[extra]; marker``) need, directly or not, as pip would resolve them on
    this platform: markers evaluated, the extras asked for followed."""
    from packaging.requirements import Requirement

    found: dict[str, str] = {}
    done: set[tuple[str, frozenset[str]]] = set()
    # Each requirement with the extras of the package that asked for it ("" for none).
    todo = [(Requirement(r), frozenset({""})) for r in requirements]
    while todo:
        req, extras_of_parent = todo.pop()
        if req.marker is not None and not any(req.marker.evaluate({"extra": e})
                                              for e in extras_of_parent):
            continue
        name, extras = _canonical(req.name), frozenset(req.extras)
        if (name, extras) in done:
            continue
        done.add((name, extras))
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue
        found[name] = dist.version
        todo += [(Requirement(line), extras | {""}) for line in dist.requires or []]
    return found


def unpinned_dependencies(names: list[str]) -> list[tuple[str, str]]:
    """(name, installed version) of what the named packages need, directly or not, that a
    freeze leaves out of the pins (``wheel``, ``setuptools``): offline, pip needs them too."""
    pinned = {_canonical(n) for n in names}
    return [(n, v) for n, v in needed(names).items() if n not in pinned]


def pins_for(wheel: Path, lock: Path) -> str:
    """The pins of ``lock`` for what ``wheel`` needs (its ``Requires-Dist``, without extras,
    and all they need): a student's install, without the report's and the kit's own tools
    (papermill, Dask, otter, Sphinx, Playwright...)."""
    import email

    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        requires = email.message_from_bytes(z.read(name)).get_all("Requires-Dist") or []
    keep = needed(requires)
    lines = [f"{n}=={v}" for n, v in pins(lock) if _canonical(n) in keep]
    return (f"# What {wheel.name} needs, at the versions of the project's {Path(lock).name}.\n"
            + "\n".join(lines) + "\n")


def build(requirements: Path, dest: Path, skip: tuple[str, ...] = ("mlplab",)) -> list[Path]:
    """A wheel per pin of ``requirements`` in ``dest``, each checked against the installed
    version, and of the unpinned packages they need; wheels already there are kept."""
    dest.mkdir(parents=True, exist_ok=True)
    wheels = []
    wanted = [(n, v) for n, v in pins(requirements) if n.lower() not in skip]
    for name, version in wanted + unpinned_dependencies([n for n, _ in wanted]):
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise WheelhouseError(f"{requirements}: {name} is pinned but not installed "
                                  f"here; run `make env`") from None
        if dist.version != version:
            raise WheelhouseError(f"{requirements}: {name}=={version} is pinned but "
                                  f"{dist.version} is installed; run `make env`")
        stem = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
        existing = sorted(dest.glob(f"{stem}-{version}-*.whl"))
        wheels.append(existing[0] if existing else repack(dist, dest))
    return wheels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlplab.pipeline.wheelhouse",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="folder for the wheels")
    parser.add_argument("--requirements", type=Path, default=Path("requirements.lock"))
    args = parser.parse_args(argv)
    try:
        wheels = build(args.requirements, args.dest)
    except (WheelhouseError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {len(wheels)} wheels to {args.dest}/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
