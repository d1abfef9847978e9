"""Is the served int8 model safe on a CPU without VNNI? The same posters on this CPU and on an emulated Haswell.

    python -m benchmarks.avx2 [--int8 artifacts/model.int8.onnx] [--fp32 model.onnx] [--count 16]

x86 CPUs without VNNI (AVX2 only, such as Haswell to Coffee Lake, or AMD Zen 1-3) multiply int8 with
VPMADDUBSW, whose u8 x s8 pair sums saturate at 16 bits; onnxruntime's session option
`session.x64quantprecision` makes it use U8U8 products on such CPUs, and the classifier sets it.
This runs the int8 model with the option on and off, natively and under `qemu-x86_64 -cpu Haswell`
(Debian's qemu-user: onnxruntime then sees AVX2 and no VNNI), on seeded validation posters, and
prints the largest probability difference of each run from fp32 and from the native run; and, on
this CPU, int8's speed with the option against without it (alternating blocks, one run).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort

from export.timing import median_seconds
from poster_genre.classifier import GenreClassifier
from train.data import data_dir_from_env, imdb_dir_from_env, split_posters

REPO = Path(__file__).resolve().parents[1]
PRECISION_OPTION = "session.x64quantprecision"


def session(model: Path, precise: bool) -> ort.InferenceSession:
    """onnxruntime on one thread, with or without the U8U8 option (everything else as the classifier)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    options.add_session_config_entry(PRECISION_OPTION, "1" if precise else "0")
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


def worker(model: Path, inputs: Path, output: Path) -> None:
    """Probabilities with the option on and off, for the inputs saved by the parent (run under qemu or not)."""
    batch = np.load(inputs).astype(np.float32)
    results = {}
    for precise in (True, False):
        run = session(model, precise)
        results["on" if precise else "off"] = np.concatenate(
            [run.run(["genres"], {run.get_inputs()[0].name: batch[i:i + 1]})[0] for i in range(len(batch))])
    np.savez(output, **results)


def run_worker(model: Path, inputs: Path, output: Path, emulate: str | None) -> dict[str, np.ndarray]:
    prefix = ["qemu-x86_64", "-cpu", emulate] if emulate else []
    command = [*prefix, sys.executable, "-m", "benchmarks.avx2", "--worker", str(model), str(inputs), str(output)]
    subprocess.run(command, cwd=REPO, check=True, stderr=subprocess.DEVNULL)
    return dict(np.load(output))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--int8", type=Path, default=REPO / "model.int8.onnx")
    parser.add_argument("--fp32", type=Path, default=REPO / "model.onnx")
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--cpu", default="Haswell", help="the qemu CPU model to emulate (default Haswell)")
    parser.add_argument("--worker", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    if not shutil.which("qemu-x86_64"):
        sys.exit("needs qemu-x86_64: apt-get install qemu-user")
    fp32 = GenreClassifier(args.fp32)
    _, _, val = split_posters(data_dir_from_env(), imdb_dir_from_env())
    posters = random.Random(0).sample(val, args.count)
    batch = fp32.prepare([p.path for p in posters])
    reference = fp32.probabilities(batch)
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "inputs.npy", batch.astype(np.uint8))
        native = run_worker(args.int8, Path(tmp) / "inputs.npy", Path(tmp) / "native.npz", None)
        emulated = run_worker(args.int8, Path(tmp) / "inputs.npy", Path(tmp) / "emulated.npz", args.cpu)
    rows = {}
    for where, results in (("this CPU", native), (f"emulated {args.cpu}", emulated)):
        for option, probs in results.items():
            rows[f"{where}, {PRECISION_OPTION}={option}"] = {
                "max_abs_vs_fp32": round(float(np.abs(probs - reference).max()), 4),
                "max_abs_vs_this_cpu_with_option": round(float(np.abs(probs - native["on"]).max()), 4),
                "top_genre_agrees_with_fp32": int((probs.argmax(1) == reference.argmax(1)).sum())}
    one = batch[:1]
    timed = {name: session(args.int8, precise) for name, precise in (("on", True), ("off", False))}
    seconds = median_seconds({name: (lambda s=s: s.run(["genres"], {s.get_inputs()[0].name: one}))
                              for name, s in timed.items()})
    print(json.dumps({"posters": args.count, "cpu_flags_vnni": "vnni" in Path("/proc/cpuinfo").read_text(),
                      "runs": rows, "this_cpu_speed_option_on_vs_off": round(seconds["off"] / seconds["on"], 3)},
                     indent=2))


if __name__ == "__main__":
    main()
