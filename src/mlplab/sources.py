"""Which of the package's source files a module's code depends on, read from its imports.

The cache's results key and the Makefile's bench rule both need "the code that trains";
a list kept by hand goes stale when a module is added or an import moves. This follows the
import statements (anywhere in a file, so lazy imports inside functions count) through the
package. Standard library only: the Makefile runs it with any python3, before the
environment exists (`python3 src/mlplab/sources.py lab/bench.py`).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent  # src/mlplab
PACKAGE = PACKAGE_DIR.name


def _module_file(name: str) -> str | None:
    """The package file a dotted module name stands for, relative to the package."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate.relative_to(PACKAGE_DIR).as_posix()
    return None


def _imported_names(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return names


def imported_closure(*entries: str) -> tuple[str, ...]:
    """``entries`` (paths relative to the package, e.g. 'lab/train.py') and every package
    file they import, directly or through each other, sorted."""
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        seen.add(rel)
        todo += [f for f in map(_module_file, _imported_names(PACKAGE_DIR / rel)) if f]
    return tuple(sorted(seen))


if __name__ == "__main__":
    print(" ".join(f"src/{PACKAGE}/{rel}" for rel in imported_closure(*sys.argv[1:])))
