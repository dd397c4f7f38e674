"""Small formatting rules shared by every generated sentence (run pages and index).

One place decides how a percentage, a difference in points, a count of things and a range
of values are written, so no page says "1 epochs", "−0.0 points" or "± 0.3%" for a spread.
"""

from __future__ import annotations

from collections.abc import Sequence

from mlplab.datafiles import N_PIXELS


def layers_label(hidden_layers: Sequence[int], n_classes: int = 10) -> str:
    """'784-50-50-10' for hidden layers [50, 50]."""
    return "-".join(map(str, [N_PIXELS, *hidden_layers, n_classes]))


def pct(fraction: float, digits: int = 1) -> str:
    """A fraction as a percentage: 0.9306 -> '93.1%'."""
    return f"{100 * fraction:.{digits}f}%"


def points(fraction: float, digits: int = 1, signed: bool = False) -> str:
    """A difference of two accuracies in percentage points, never '-0.0'."""
    value = round(100 * fraction, digits)
    if value == 0:
        value = 0.0  # drops the sign of -0.0
    text = f"{value:+.{digits}f}" if signed else f"{abs(value):.{digits}f}"
    return text.replace("-", "−") + " points"


def plural(n: float, word: str, words: str | None = None) -> str:
    """'1 epoch', '2 epochs', '1.5 epochs'."""
    shown = f"{n:,}" if isinstance(n, int) else f"{n:g}"
    return f"{shown} {word if n == 1 else (words or word + 's')}"


def span(values: Sequence[float], pattern: str = "{}") -> str:
    """'3' when all values are equal, else '3–5' (lowest to highest)."""
    lo, hi = min(values), max(values)
    return pattern.format(lo) if pattern.format(lo) == pattern.format(hi) else \
        f"{pattern.format(lo)}–{pattern.format(hi)}"


def join(items: Sequence[str], last: str = "and") -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def seeds_phrase(seeds: Sequence[int]) -> str:
    """'seed 3' or 'seeds 0, 1 and 2'."""
    return ("seed " if len(seeds) == 1 else "seeds ") + join([str(s) for s in seeds])
