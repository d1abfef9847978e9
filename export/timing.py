"""Timing for the benchmarks: medians in alternating blocks."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def median_seconds(runs: dict[str, Callable[[], object]], repeats: int = 30, block: int = 5,
                   warmup: int = 3) -> dict[str, float]:
    """Median seconds of each run, measured in alternating blocks of `block` runs (the order rotating
    each round), so that drift of a shared machine falls on every side of a ratio alike. Blocks,
    not single runs: onnxruntime's threads spin for a moment after a run and would slow the next
    candidate."""
    names = list(runs)
    times = {name: [] for name in names}
    for round_ in range(-(-repeats // block)):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            for index in range(warmup + block):
                start = time.perf_counter()
                runs[name]()
                if index >= warmup:
                    times[name].append(time.perf_counter() - start)
    return {name: float(np.median(seconds)) for name, seconds in times.items()}
