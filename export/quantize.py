"""The int8 copy of the exported model, and the report that decides whether it is served.

    python -m export.quantize [--fp32 model.onnx] [--int8 artifacts/model.int8.onnx] [--seeds 5]

writes the int8 copy and `reports/int8.json`; when the copy meets the rule it is also copied beside
the fp32 model as `model.int8.onnx` (what the app, the CLI, the wheel and the Space serve by
default), and removed from there when it does not.

Steps as in onnxruntime's quantization examples: pre-process (shape inference and graph
optimisation) -> calibrate on training posters -> quantize (static, per-channel QDQ) -> compare
with fp32. The recipe (`SERVED`) is the one `benchmarks/int8.py` chose among the variants it
measures:
- 512 calibration posters drawn, seeded, from the training films of both sources;
- 8-bit per-channel weights, min-max ranges for the activations;
- the head left in float: global pooling, the dense classifier and the `genre_maps` branch, so the
  activation maps still average to the logits.
CPUs without VNNI would saturate u8 x s8 pair sums in int16 (AVX2's VPMADDUBSW); the classifier
sets onnxruntime's `session.x64quantprecision`, which uses U8U8 products on exactly those CPUs. Those exact
products are slower, so int8's speed-up depends on the CPU: the report records the CPU it was measured on, and the
speed part of the rule is judged there.
The int8 model is served only if, on every one of `--seeds` calibration draws (the draw of seed 0
is the file written), it meets `poster_genre.rules.INT8_RULE` against fp32 on the validation films.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from export.timing import median_seconds
from poster_genre.analysis import model_input
from poster_genre.card import ModelCard
from poster_genre.classifier import GenreClassifier
from poster_genre.model import INT8_NAME, saturating_int8_cpu
from poster_genre.rules import INT8_RULE, int8_passes, int8_served, logit
from train.data import Poster, data_dir_from_env, imdb_dir_from_env, split_posters
from train.metrics import compare, five_genres

REPO = Path(__file__).resolve().parents[1]
METHODS = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
           "percentile": CalibrationMethod.Percentile}
CHUNK = 16  # calibration posters run at once: the histogram calibrators keep every activation of a chunk


@dataclass(frozen=True)
class Recipe:
    """How the int8 copy is made."""

    method: str = "minmax"  # calibration: minmax, entropy or percentile
    posters: int = 512  # calibration posters, drawn from the training films
    reduce_range: bool = False  # 7-bit weights (no u8 x s8 saturation even without the serving option)
    float_head: bool = True  # pooling, classifier and genre_maps stay float
    float_nodes: tuple[str, ...] = ()  # more nodes left in float (e.g. the worst ones by qdq_loss_debug)


SERVED = Recipe()


class PosterReader(CalibrationDataReader):
    """Calibration posters, preprocessed exactly as the app does, read in chunks by onnxruntime."""

    def __init__(self, classifier: GenreClassifier, posters: list[Poster]) -> None:
        self.classifier, self.posters = classifier, posters
        self.set_range(0, len(posters))

    def __len__(self) -> int:
        return len(self.posters)

    def set_range(self, start_index: int, end_index: int) -> None:
        self.batches = iter([p] for p in self.posters[start_index:end_index])

    def get_next(self) -> dict | None:
        batch = next(self.batches, None)
        return None if batch is None else {self.classifier.input_name: model_input(self.classifier, [p.path for p in batch])}


def calibration_posters(train: list[Poster], count: int, seed: int) -> list[Poster]:
    """A seeded draw of `count` training posters (both sources), rounded down to whole chunks."""
    count = max(CHUNK, min(count, len(train)) // CHUNK * CHUNK)
    return random.Random(seed).sample(train, min(count, len(train)))


def head_nodes(model: onnx.ModelProto) -> list[str]:
    """Every node after the last feature map: pooling, squeeze, classifier, sigmoid and the genre_maps branch."""
    pool = next(n for n in model.graph.node if n.op_type == "GlobalAveragePool")
    features = pool.input[0]
    downstream, names = {features}, []
    for node in model.graph.node:  # topologically sorted
        if set(node.input) & downstream:
            downstream.update(node.output)
            names.append(node.name)
    return names


def prepare(fp32: Path, folder: Path) -> Path:
    """onnxruntime's pre-processing (shape inference, graph optimisation) of `fp32`, into `folder`."""
    prepared = folder / "prepared.onnx"
    if not prepared.exists():
        quant_pre_process(str(fp32), str(prepared))
    return prepared


def quantize(fp32: Path, int8: Path, calibration: list[Poster], recipe: Recipe = SERVED,
             cache: Path | None = None) -> None:
    """Static per-channel QDQ int8 copy of `fp32` at `int8`, its card saying how it was made.

    `cache` keeps the calibrated tensor ranges (one file per method and draw) for reuse."""
    classifier = GenreClassifier(fp32)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = prepare(fp32, Path(tmp))
        float_nodes = list(recipe.float_nodes)
        if recipe.float_head:
            float_nodes += head_nodes(onnx.load(str(prepared)))
        quantize_static(str(prepared), str(int8), PosterReader(classifier, calibration),
                        quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=recipe.reduce_range,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=float_nodes, calibrate_method=METHODS[recipe.method],
                        calibration_cache_path=cache, extra_options={"CalibStridedMinMax": CHUNK})
    write_card(int8, classifier.card.with_precision("int8", {"recipe": asdict(recipe),
                                                             "calibration_posters": len(calibration)}))


def write_card(model_path: Path, card: ModelCard) -> None:
    """Replace the ONNX metadata of `model_path` by `card`."""
    model = onnx.load(str(model_path))
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, card.to_metadata())
    onnx.save(model, str(model_path))


@dataclass
class Validation:
    """The validation posters, decoded once, and fp32's answers on them."""

    posters: list[Poster]
    inputs: np.ndarray  # (N, H, W, 3) uint8: preprocessing gives whole numbers, so this is lossless
    fp32: "Answers"

    @classmethod
    def load(cls, fp32: Path, posters: list[Poster]) -> "Validation":
        classifier = GenreClassifier(fp32)
        inputs = np.stack([model_input(classifier, [p.path])[0].astype(np.uint8) for p in posters])
        return cls(posters, inputs, Answers.of(classifier, inputs))


@dataclass
class Answers:
    probabilities: np.ndarray
    identity_error: float  # max |mean of genre_maps + bias - logit| over the posters

    @classmethod
    def of(cls, classifier: GenreClassifier, inputs: np.ndarray, batch: int = 32) -> "Answers":
        rows = [classifier.probabilities_and_maps(inputs[i:i + batch].astype(np.float32))
                for i in range(0, len(inputs), batch)]
        probs = np.concatenate([p for p, _ in rows])
        maps_mean = np.concatenate([m.mean(axis=(1, 2)) for _, m in rows])
        offset = logit(probs) - maps_mean  # the head's bias, if the identity holds: the same for every poster
        return cls(probs, float(np.abs(offset - np.median(offset, axis=0)).max()))


def latency_ratio(fp32: Path, int8: Path, inputs: np.ndarray) -> dict:
    """Median ms per poster at batch 1 of both models, measured in alternating blocks in one run."""
    one = inputs[:1].astype(np.float32)
    models = {"fp32": GenreClassifier(fp32), "int8": GenreClassifier(int8)}
    seconds = median_seconds({name: (lambda c=c: c.probabilities_and_maps(one)) for name, c in models.items()})
    return {"fp32_ms": round(1000 * seconds["fp32"], 2), "int8_ms": round(1000 * seconds["int8"], 2),
            "speedup": round(seconds["fp32"] / seconds["int8"], 2)}


def cpu() -> dict:
    """The CPU the speed is measured on: int8's gain depends on it (VNNI sums u8 x s8 products exactly and fast;
    without it the classifier takes slower exact U8U8 products, `poster_genre.model.saturating_int8_cpu`)."""
    lines = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
                platform.processor() or platform.machine())
    return {"name": name, "cores": len(os.sched_getaffinity(0)), "vnni": not saturating_int8_cpu()}


def draw_report(int8: Path, validation: Validation) -> dict:
    """int8 against fp32 on the validation posters: paired bootstrap of each figure, and the maps identity."""
    classifier = GenreClassifier(int8)
    answers = Answers.of(classifier, validation.inputs)
    figures = compare(validation.posters, five_genres(answers.probabilities, classifier.labels),
                      five_genres(validation.fp32.probabilities, classifier.labels))
    passes = int8_passes(figures, answers.identity_error)
    return {"figures": figures, "identity_error": round(answers.identity_error, 5),
            "max_probability_change": round(float(np.abs(answers.probabilities - validation.fp32.probabilities).max()), 4),
            "size_mb": round(int8.stat().st_size / 1e6, 2), "passes": passes, "meets_rule": all(passes.values())}


def quantize_and_report(fp32: Path, int8: Path, data_dir: Path, report_path: Path, imdb_dir: Path | None = None,
                        recipe: Recipe = SERVED, seeds: int = 5) -> dict:
    """Quantize with `recipe` on `seeds` calibration draws, report each against fp32, keep seed 0's file."""
    _, train, val = split_posters(data_dir, imdb_dir or imdb_dir_from_env())
    validation = Validation.load(fp32, val)
    draws = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(seeds):
            target = int8 if seed == 0 else Path(tmp) / f"int8_{seed}.onnx"
            started = time.perf_counter()
            calibration = calibration_posters(train, recipe.posters, seed)
            quantize(fp32, target, calibration, recipe)
            names = "\n".join(p.path.name for p in calibration).encode()
            draws.append({"seed": seed, "quantize_seconds": round(time.perf_counter() - started),
                          "calibration_sha256": hashlib.sha256(names).hexdigest()[:16],
                          **draw_report(target, validation)})
            print(json.dumps(draws[-1]), file=sys.stderr)
    speed = latency_ratio(fp32, int8, validation.inputs)
    serve = int8_served([d["passes"] for d in draws], speed["speedup"])
    report = {"recipe": asdict(recipe), "rule": INT8_RULE, "validation_posters": len(val), "serve_int8": serve,
              "fp32_sha256": hashlib.sha256(fp32.read_bytes()).hexdigest(), "onnxruntime": ort.__version__,
              "speed": speed, "cpu": cpu(), "fp32_size_mb": round(fp32.stat().st_size / 1e6, 2), "draws": draws}
    report_path.write_text(json.dumps(report, indent=2) + "\n")
    card = GenreClassifier(int8).card
    write_card(int8, card.with_precision("int8", {**card.quantization, "served": serve, **summary(report)}))
    served = fp32.with_name(INT8_NAME)
    if serve:
        shutil.copyfile(int8, served)
    else:
        served.unlink(missing_ok=True)
    return report


def summary(report: dict) -> dict:
    """What int8 cost, for the card: the worst draw's differences against fp32, and the speed-up."""
    worst = {name: min(d["figures"][name]["difference"] for d in report["draws"])
             for name in ("imdb_mAP", "imdb_top1_in_genres", "tmdb_accuracy")}
    return {"worst_draw_vs_fp32": worst, "draws": len(report["draws"]), "speedup": report["speed"]["speedup"],
            "size_mb": report["draws"][0]["size_mb"], "fp32_size_mb": report["fp32_size_mb"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fp32", type=Path, default=REPO / "model.onnx")
    parser.add_argument("--int8", type=Path, default=REPO / "artifacts" / INT8_NAME,
                        help="where the int8 copy is written, served or not (default artifacts/model.int8.onnx)")
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env())
    parser.add_argument("--imdb-dir", type=Path, default=imdb_dir_from_env())
    parser.add_argument("--report", type=Path, default=REPO / "reports" / "int8.json")
    parser.add_argument("--seeds", type=int, default=5, help="calibration draws the rule must hold on (default 5)")
    args = parser.parse_args(argv)
    report = quantize_and_report(args.fp32, args.int8, args.data_dir, args.report, args.imdb_dir, seeds=args.seeds)
    print(json.dumps({k: report[k] for k in ("serve_int8", "speed")} | summary(report), indent=2))


if __name__ == "__main__":
    main()
