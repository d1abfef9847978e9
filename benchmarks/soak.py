"""A day of traffic in minutes: 8 callers against one real app server on 127.0.0.1, mixed requests, bounded in time.

    python -m benchmarks.soak [--minutes 10] [--callers 8] [--cache-age 60] [--json FILE]

The server is `python app.py` as the README starts it, its Gradio cache and temporary folder in a fresh folder.
Each caller (its own `gradio_client.Client`) sends, in a seeded random mix: TMDB w500 posters and IMDb thumbnails
(the shared data's, else the examples), large smooth PNGs (5000 x 7500), text-document screenshots, broken files,
titles and years (some out of range), `/predict`, `/tags` and `/explain`. Refusals are expected only for the broken
files and the out-of-range years; any other error is a failure.

Baselines in the same run: each endpoint's median answer alone (one caller, before the soak), against its p50 and
p99 under load; the server's memory and temporary disk at rest (after one request of each kind), against their peak
during the soak and their level at the end (after a rest of one cache age, when the last files have expired).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import psutil
from gradio_client import Client, handle_file
from PIL import Image, ImageDraw, ImageFont

from benchmarks.appserver import REPO, AppServer, free_port
from train.data import data_dir_from_env, imdb_dir_from_env

# (weight, endpoint, poster kind, title, year, refusal expected)
MIX = [(30, "/predict", "poster", None, None, False), (15, "/tags", "thumbnail", "The Night Before", 1999, False),
       (15, "/explain", "poster", None, None, False), (4, "/predict", "large", None, None, False),
       (8, "/tags", "screenshot", None, None, False), (10, "/predict", "broken", None, None, True),
       (5, "/tags", "poster", "Too Late", 3000, True), (13, "/tags", "poster", "Kill Zone", 1993, False)]


def make_inputs(folder: Path) -> dict[str, list[Path]]:
    """Each kind of poster the callers send."""
    def real(directory: Path, count: int) -> list[Path]:
        found = sorted((directory / "posters").glob("*.jpg"))[:count] if (directory / "posters").is_dir() else []
        return found or sorted((REPO / "examples").glob("*.jpg"))

    rows, columns = np.linspace(0, 255, 7500)[:, None], np.linspace(0, 255, 5000)[None, :]
    large = folder / "large.png"
    Image.fromarray(np.stack(np.broadcast_arrays(rows, columns, (rows + columns) / 2), -1).astype(np.uint8)).save(large)
    screenshot = folder / "document.png"
    page = Image.new("RGB", (1400, 1800), "white")
    draw, font = ImageDraw.Draw(page), ImageFont.load_default(size=18)
    for line in range(70):
        draw.text((40, 20 + 25 * line), f"{line:02d} The quick brown fox jumps over the lazy dog, again and again.",
                  font=font, fill="black")
    page.save(screenshot)
    broken = folder / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not a whole jpeg")
    return {"poster": real(data_dir_from_env(), 50), "thumbnail": real(imdb_dir_from_env(), 50), "large": [large],
            "screenshot": [screenshot], "broken": [broken]}


def send(client: Client, endpoint: str, poster: Path, title: str | None, year: int | None) -> None:
    if endpoint == "/explain":
        client.predict(handle_file(str(poster)), None, api_name=endpoint)
    else:
        client.predict(handle_file(str(poster)), title=title, year=year, api_name=endpoint)


class Soak:
    """The callers' results and the server's resources over time."""

    def __init__(self, server: AppServer, scratch: list[Path], inputs: dict[str, list[Path]]) -> None:
        self.server, self.scratch, self.inputs = server, scratch, inputs
        self.process = psutil.Process(server.process.pid)
        self.times: dict[str, list[float]] = defaultdict(list)
        self.counts = {"served": 0, "refused": 0, "failed": 0}
        self.failures: list[str] = []
        self.samples: list[tuple[float, float, float]] = []  # (seconds, memory MB, temporary disk MB)
        self.lock = threading.Lock()

    def resources(self) -> tuple[float, float]:
        disk = sum(p.stat().st_size for folder in self.scratch for p in folder.rglob("*") if p.is_file())
        return self.process.memory_info().rss / 1e6, disk / 1e6

    def caller(self, seed: int, until: float) -> None:
        rng, client = random.Random(seed), Client(self.server.url, verbose=False)
        weights = [item[0] for item in MIX]
        while time.monotonic() < until:
            _, endpoint, kind, title, year, refusal = rng.choices(MIX, weights)[0]
            poster = rng.choice(self.inputs[kind])
            start = time.perf_counter()
            try:
                send(client, endpoint, poster, title, year)
                outcome = "failed" if refusal else "served"
            except Exception as error:  # noqa: BLE001 (gradio_client raises AppError, or others, for a refusal)
                outcome = "refused" if refusal else "failed"
                if not refusal:
                    self.failures.append(f"{endpoint} {kind}: {error}")
            with self.lock:
                self.counts[outcome] += 1
                if outcome == "served":
                    self.times[f"{endpoint} {kind}"].append(time.perf_counter() - start)

    def sampler(self, until: float, started: float) -> None:
        while time.monotonic() < until:
            self.samples.append((time.monotonic() - started, *self.resources()))
            time.sleep(2)


def alone(server: AppServer, inputs: dict[str, list[Path]], rounds: int = 5) -> dict[str, float]:
    """Each kind of answered request's median time with no other caller."""
    client, medians = Client(server.url, verbose=False), {}
    for _, endpoint, kind, title, year, refusal in MIX:
        if refusal or f"{endpoint} {kind}" in medians:
            continue
        seconds = []
        for index in range(rounds):
            start = time.perf_counter()
            send(client, endpoint, inputs[kind][index % len(inputs[kind])], title, year)
            seconds.append(time.perf_counter() - start)
        medians[f"{endpoint} {kind}"] = statistics.median(seconds)
    return medians


def percentile(values: list[float], share: float) -> float:
    return sorted(values)[min(len(values) - 1, int(share * len(values)))]


def run(minutes: float, callers: int, cache_age: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="poster-genre-soak-"))
    cache, scratch = work / "gradio-cache", work / "tmp"
    scratch.mkdir()
    inputs = make_inputs(work)
    server = AppServer(REPO / "examples", free_port(), "--cache-age", str(cache_age),
                       env={"GRADIO_TEMP_DIR": str(cache), "TMPDIR": str(scratch)})
    try:
        medians = alone(server, inputs)
        soak = Soak(server, [cache, scratch], inputs)
        resting = soak.resources()
        started = time.monotonic()
        until = started + 60 * minutes
        threads = [threading.Thread(target=soak.caller, args=(seed, until)) for seed in range(callers)]
        threads.append(threading.Thread(target=soak.sampler, args=(until, started)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(cache_age + 15)  # the last files expire; the server rests
        end = soak.resources()
        assert server.alive(), "the server died"
    finally:
        server.stop()
    return summary(soak, medians, resting, end, minutes, callers)


def summary(soak: Soak, medians: dict[str, float], resting: tuple[float, float], end: tuple[float, float],
            minutes: float, callers: int) -> dict:
    peak = (max(s[1] for s in soak.samples), max(s[2] for s in soak.samples))
    endpoints = {name: {"requests": len(times), "alone_ms": 1000 * medians[name],
                        "p50_ms": 1000 * percentile(times, 0.5), "p99_ms": 1000 * percentile(times, 0.99)}
                 for name, times in sorted(soak.times.items())}
    return {"minutes": minutes, "callers": callers, **soak.counts, "failures": soak.failures[:10],
            "endpoints": endpoints, "memory_mb": {"resting": resting[0], "peak": peak[0], "end": end[0]},
            "temporary_disk_mb": {"resting": resting[1], "peak": peak[1], "end": end[1]}}


def show(result: dict) -> None:
    print(f"{result['callers']} callers for {result['minutes']:g} min: {result['served']} served, "
          f"{result['refused']} refused (all expected), {result['failed']} failed")
    for failure in result["failures"]:
        print(f"  failure: {failure}")
    print(f"{'request':<22}{'count':>7}{'alone ms':>10}{'p50 ms':>9}{'p50/alone':>11}{'p99 ms':>9}{'p99/alone':>11}")
    for name, row in result["endpoints"].items():
        print(f"{name:<22}{row['requests']:>7}{row['alone_ms']:>10.0f}{row['p50_ms']:>9.0f}"
              f"{row['p50_ms'] / row['alone_ms']:>10.2f}x{row['p99_ms']:>9.0f}{row['p99_ms'] / row['alone_ms']:>10.2f}x")
    for name in ("memory_mb", "temporary_disk_mb"):
        row = result[name]
        print(f"{name.replace('_mb', '').replace('_', ' ')}: resting {row['resting']:.0f} MB, peak {row['peak']:.0f} "
              f"MB, end {row['end']:.0f} MB (end - resting: {row['end'] - row['resting']:+.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--callers", type=int, default=8)
    parser.add_argument("--cache-age", type=int, default=60, help="the server's --cache-age, seconds")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    result = run(args.minutes, args.callers, args.cache_age)
    show(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
