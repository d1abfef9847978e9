"""A many-poster run on the real server, and a single poster answered while it runs.

    python -m benchmarks.many_posters [--posters 100] [--singles 10]

One `python app.py` on 127.0.0.1 (2 cores), the words read as served. First, the baseline: a one-poster `/predict`
alone, `--singles` times, median. Then `/classify_many` with `--posters` TMDB w500 posters (the shared data's, else
the examples over and over) in one thread, and meanwhile the same one-poster `/predict` calls one after another:
their median against the baseline's (the issue's bound: at most 2x). Also the run's time, its rate, and the
server's memory at rest, at its peak during the run (sampled every 0.2 s) and after it.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path

import psutil
from gradio_client import Client, handle_file

from benchmarks.appserver import REPO, AppServer, free_port
from train.data import data_dir_from_env


def posters(count: int) -> list[Path]:
    found = sorted((data_dir_from_env() / "posters").glob("*.jpg"))
    pool = found or sorted((REPO / "examples").glob("*.jpg"))
    return [pool[i % len(pool)] for i in range(count)]


def single_seconds(client: Client, poster: Path) -> float:
    start = time.perf_counter()
    client.predict(handle_file(str(poster)), api_name="/predict")
    return time.perf_counter() - start


def run(count: int, singles: int) -> dict:
    server = AppServer(REPO / "examples", free_port())
    process = psutil.Process(server.process.pid)
    try:
        client, batch_client = Client(server.url, verbose=False), Client(server.url, verbose=False)
        stack, single = posters(count), posters(count + 1)[-1]
        single_seconds(client, single)  # warm-up: the words engine loads
        alone = [single_seconds(client, single) for _ in range(singles)]
        resting, peak, result = process.memory_info().rss, [0], {}

        def batch() -> None:
            start = time.perf_counter()
            result["records"] = batch_client.predict([handle_file(str(p)) for p in stack], api_name="/classify_many")
            result["seconds"] = time.perf_counter() - start

        running = threading.Thread(target=batch)
        running.start()
        time.sleep(2)  # the run under way
        during = []
        while running.is_alive():
            peak[0] = max(peak[0], process.memory_info().rss)
            if len(during) < singles:
                during.append(single_seconds(client, single))
            else:
                time.sleep(0.2)
        running.join()
        after = process.memory_info().rss
    finally:
        server.stop()
    return {"posters": count, "batch_seconds": result["seconds"], "records": len(result["records"]),
            "alone_ms": 1000 * statistics.median(alone), "during_ms": 1000 * statistics.median(during),
            "singles_during": len(during), "memory_mb": (resting / 1e6, peak[0] / 1e6, after / 1e6)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posters", type=int, default=100)
    parser.add_argument("--singles", type=int, default=10)
    args = parser.parse_args()
    figures = run(args.posters, args.singles)
    print(f"/classify_many, {figures['posters']} posters: {figures['records']} records in "
          f"{figures['batch_seconds']:.1f} s ({figures['posters'] / figures['batch_seconds']:.1f} posters/s)")
    print(f"one-poster /predict alone (baseline): {figures['alone_ms']:.0f} ms median; during the run: "
          f"{figures['during_ms']:.0f} ms median of {figures['singles_during']} "
          f"({figures['during_ms'] / figures['alone_ms']:.2f}x)")
    resting, peak, after = figures["memory_mb"]
    print(f"server memory: {resting:.0f} MB at rest, {peak:.0f} MB at the run's peak, {after:.0f} MB after")


if __name__ == "__main__":
    main()
