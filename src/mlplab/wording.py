"""Small formatting rules shared by every generated sentence (run pages and index).

One place decides how a percentage, a difference in points, a count of things and a range
of values are written, so no page says "1 epochs", "−0.0 points" or "± 0.3%" for a spread.
A number that would round to zero, or a range whose ends would look equal, gets more
decimals (up to ``MAX_DECIMALS``): "+0.0 points to +0.4 points" for a true −0.014 to +0.4
would read as an interval that excludes zero.
"""

from __future__ import annotations

from collections.abc import Sequence


def layers_label(hidden_layers: Sequence[int], n_inputs: int, n_classes: int) -> str:
    """'784-50-50-10' for hidden layers [50, 50] on 784 inputs and 10 classes."""
    return "-".join(map(str, [n_inputs, *hidden_layers, n_classes]))


# More decimals than this would show float noise, not a measurement: 0.001 points is 1 image
# in 100,000. A value still rounding to zero here is written as an unsigned zero.
MAX_DECIMALS = 3


def decimals(values: Sequence[float], digits: int = 1) -> int:
    """Fewest decimals, from ``digits`` up to ``MAX_DECIMALS``, at which no nonzero value
    shows as zero and values that differ are shown differently."""
    distinct = len(set(values))
    tiny = 0.5 * 10.0 ** -MAX_DECIMALS  # zero at every precision shown: left as zero
    for d in range(digits, max(digits, MAX_DECIMALS) + 1):
        shown = [round(v, d) for v in values]
        if all(s != 0 for s, v in zip(shown, values, strict=True) if abs(v) >= tiny) \
                and len(set(shown)) == distinct:
            return d
    return max(digits, MAX_DECIMALS)


def number(value: float, digits: int = 1, signed: bool = False) -> str:
    """A number with a true sign ("−" for minus): extra decimals where it would round to
    zero, and never a signed zero ("0.0", not "+0.0" or "−0.0")."""
    return _number(value, decimals([value], digits), signed)


def _number(value: float, d: int, signed: bool) -> str:
    shown = round(value, d)
    if shown == 0:
        return f"{0:.{d}f}"
    text = f"{shown:+.{d}f}" if signed else f"{abs(shown):.{d}f}"
    return text.replace("-", "−")


def number_interval(low: float, high: float, digits: int = 1) -> str:
    """'−0.01 to +0.4': each end signed, with as many decimals as it needs to show its sign
    and to differ from the other end, so an interval that includes zero never reads as one
    that excludes it."""
    d_low, d_high = decimals([low], digits), decimals([high], digits)
    while low != high and _number(low, d_low, True) == _number(high, d_high, True) \
            and max(d_low, d_high) < MAX_DECIMALS:
        d_low, d_high = d_low + 1, d_high + 1
    return f"{_number(low, d_low, True)} to {_number(high, d_high, True)}"


def pct(fraction: float, digits: int = 1) -> str:
    """A fraction as a percentage: 0.9306 -> '93.1%'."""
    return f"{100 * fraction:.{digits}f}%"


def pct_span(values: Sequence[float], digits: int = 1) -> str:
    """'91.1%' when all values are equal, else 'lowest–highest' with enough decimals that
    the two ends differ: '91.08%–91.13%', never '91.1%–91.1%'."""
    lo, hi = 100 * min(values), 100 * max(values)
    d = decimals([lo, hi], digits)
    low, high = f"{lo:.{d}f}%", f"{hi:.{d}f}%"
    return f"{lo:.{digits}f}%" if low == high else f"{low}–{high}"


def points(fraction: float, digits: int = 1, signed: bool = False) -> str:
    """A difference of two accuracies in percentage points: '−0.04 points' where one
    decimal would show '0.0', never '−0.0 points' or '+0.0 points'."""
    return number(100 * fraction, digits, signed) + " points"


def seconds(values: float | Sequence[float]) -> str:
    """A duration, or the range of several, with two significant figures below 10 s
    ('0.12 s', '0.019 s', '0.3–0.4 s') and whole seconds above, so a total and its
    per-epoch share are written alike."""
    values = [values] if isinstance(values, int | float) else list(values)
    lo, hi = (f"{v:,.0f}" if v >= 10 else f"{float(f'{v:.2g}'):g}"
              for v in (min(values), max(values)))
    return f"{lo} s" if lo == hi else f"{lo}–{hi} s"


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
