"""Concurrent gradio_client callers against the app: nothing fails. Latencies are printed, not asserted."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from gradio_client import Client, handle_file

from poster_genre import GenreClassifier
from tests.conftest import MODEL

pytestmark = pytest.mark.load

CALLERS, REQUESTS = 8, 8


def test_eight_callers_at_once_are_all_answered(app_server, sample_poster):
    def caller(_: int) -> list[float]:
        client = Client(app_server.url, verbose=False)
        latencies = []
        for _ in range(REQUESTS):
            start = time.perf_counter()
            result = client.predict(handle_file(str(sample_poster)), api_name="/predict")
            latencies.append(time.perf_counter() - start)
            assert set(result) == set(GenreClassifier(MODEL).labels)
        return latencies

    with ThreadPoolExecutor(CALLERS) as pool:
        latencies = np.concatenate(list(pool.map(caller, range(CALLERS))))
    assert len(latencies) == CALLERS * REQUESTS
    print(f"{len(latencies)} requests, 0 failed; p50 {np.percentile(latencies, 50) * 1000:.0f} ms, "
          f"p95 {np.percentile(latencies, 95) * 1000:.0f} ms")
