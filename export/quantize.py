"""Optional int8 copy of the exported model: static, per-channel QDQ, calibrated on training posters.

    python -m export.quantize --fp32 model.onnx --int8 artifacts/model.int8.onnx

Steps as in onnxruntime's quantization examples: pre-process (shape inference and graph
optimisation) -> quantize with a calibration reader -> compare with fp32. Only the data reader is
specific to this model: it feeds posters through the shared preprocessing function. EfficientNets
can lose accuracy under int8, so the report (mAP on the IMDb validation films, accuracy on
version 1's TMDB validation posters and latency, against fp32 on the same posters) decides whether
the int8 model is worth serving: only if it loses less than 0.005 mAP and less than 1 point of
TMDB accuracy.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from poster_genre.classifier import GenreClassifier
from train.data import Poster, data_dir_from_env, imdb_dir_from_env, split_for
from train.evaluate import classifier_metrics

MAX_MAP_LOSS, MAX_ACCURACY_LOSS = 0.005, 0.01

REPO = Path(__file__).resolve().parents[1]


class PosterReader(CalibrationDataReader):
    """Calibration batches of training posters, preprocessed exactly as the app does."""

    def __init__(self, classifier: GenreClassifier, posters: list[Poster], batch_size: int = 8) -> None:
        self.classifier, self.batch_size = classifier, batch_size
        self.paths = iter([posters[i:i + batch_size] for i in range(0, len(posters), batch_size)])

    def get_next(self) -> dict | None:
        batch = next(self.paths, None)
        if batch is None:
            return None
        return {self.classifier.input_name: self.classifier.prepare(p.path for p in batch)}


def quantize(fp32: Path, int8: Path, calibration: list[Poster]) -> None:
    """Pre-process, then statically quantize `fp32` into `int8` (QDQ, per-channel int8 weights)."""
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32), str(prepared))
        quantize_static(str(prepared), str(int8), PosterReader(GenreClassifier(fp32), calibration),
                        quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    _copy_metadata(fp32, int8)


def _copy_metadata(source: Path, target: Path) -> None:
    model = onnx.load(str(target))
    del model.metadata_props[:]
    model.metadata_props.extend(onnx.load(str(source), load_external_data=False).metadata_props)
    onnx.save(model, str(target))


def figures_and_latency(model: Path, posters: list[Poster], runs: int = 20) -> dict:
    """Validation figures, and median per-image latency at batch 1 over `runs` after warm-up."""
    classifier = GenreClassifier(model)
    figures = classifier_metrics(classifier, posters)
    one = classifier.prepare([posters[0].path])
    classifier.probabilities(one)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        classifier.probabilities(one)
        times.append(time.perf_counter() - start)
    return {"imdb_mAP": figures.get("imdb", {}).get("mAP"), "tmdb_accuracy": figures["tmdb_v1"]["accuracy"],
            "all_mAP": figures["all"]["mAP"], "latency_ms_batch1": round(1000 * float(np.median(times)), 2),
            "size_mb": round(model.stat().st_size / 1e6, 1)}


def quantize_and_report(fp32: Path, int8: Path, data_dir: Path, report_path: Path,
                        imdb_dir: Path | None = None, calibration_count: int = 128) -> dict:
    """Quantize on training posters, measure both models on validation posters, write the JSON."""
    _, train, val = split_for(GenreClassifier(fp32).card.kind, data_dir, imdb_dir or imdb_dir_from_env())
    calibration = random.Random(0).sample(train, min(calibration_count, len(train)))
    quantize(fp32, int8, calibration)
    report = {"fp32": figures_and_latency(fp32, val), "int8": figures_and_latency(int8, val),
              "calibration_posters": len(calibration), "validation_posters": len(val)}
    report["int8_speedup"] = round(report["fp32"]["latency_ms_batch1"] / report["int8"]["latency_ms_batch1"], 2)
    map_loss = (report["fp32"]["imdb_mAP"] or report["fp32"]["all_mAP"]) - (
        report["int8"]["imdb_mAP"] or report["int8"]["all_mAP"])
    accuracy_loss = report["fp32"]["tmdb_accuracy"] - report["int8"]["tmdb_accuracy"]
    report["serve_int8"] = bool(map_loss < MAX_MAP_LOSS and accuracy_loss < MAX_ACCURACY_LOSS)
    report["rule"] = (f"serve int8 only if it loses less than {MAX_MAP_LOSS} mAP and less than "
                      f"{MAX_ACCURACY_LOSS:.0%} TMDB accuracy")
    report_path.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2), file=sys.stderr)
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fp32", type=Path, default=REPO / "model.onnx")
    parser.add_argument("--int8", type=Path, default=REPO / "artifacts" / "model.int8.onnx")
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env())
    parser.add_argument("--imdb-dir", type=Path, default=imdb_dir_from_env())
    parser.add_argument("--report", type=Path, default=REPO / "reports" / "int8.json")
    args = parser.parse_args(argv)
    quantize_and_report(args.fp32, args.int8, args.data_dir, args.report, args.imdb_dir)


if __name__ == "__main__":
    main()
