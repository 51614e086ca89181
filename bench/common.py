"""What every benchmark reports: named figures with their target and the anchor measured in the
same run. Figures are medians (or percentiles) of repeated runs, never a single timing."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Figure:
    """One row of the benchmark table.

    ``passed`` is None when the figure has no pass/miss rule (informational).
    ``ratio`` is value / anchor where an anchor was measured in the same run.
    """

    id: str
    name: str
    value: float
    unit: str
    target: str
    passed: bool | None
    anchor: str = ""
    anchor_value: float | None = None
    ratio: float | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile, p in 0..100."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no samples")
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls of ``fn`` (perf_counter)."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples
