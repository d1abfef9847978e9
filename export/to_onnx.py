"""Export a trained Keras genre model to ONNX, with its model card in the metadata.

    python -m export.to_onnx --model artifacts/efficientnet_lite2/model.keras --report reports/metrics.json

The ONNX input is float32 NHWC raw RGB 0..255 with a dynamic batch; the output is the softmax.
Parity with Keras is checked on real posters (max abs difference below 1e-4) before the file is
kept. `--int8` also writes a statically quantized copy (see export/quantize.py).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import keras
import numpy as np
import onnx
import tensorflow as tf
import tf2onnx

from poster_genre.card import ModelCard
from poster_genre.classifier import GenreClassifier
from poster_genre.preprocess import RESIZE_POLICY, preprocess
from train.data import data_dir_from_env, read_posters, split

REPO = Path(__file__).resolve().parents[1]
PARITY_TOLERANCE = 1e-4
OPSET = 17


def card_from_report(report: dict, version: str) -> ModelCard:
    """The model card of a training report (reports/metrics.json)."""
    validation = report["validation"]
    return ModelCard(
        labels=tuple(report["labels"]), input_size=tuple(report["input_size"]), backbone=report["backbone"],
        version=version, resize_policy=RESIZE_POLICY, data=report["data"], probe=report["probe"],
        metrics={key: validation[key] for key in ("accuracy", "macro_f1", "top2_accuracy", "per_genre", "selective")},
    )


def convert(model: keras.Model, card: ModelCard, path: Path) -> None:
    """tf2onnx with an explicit NHWC signature, then the card written into metadata_props."""
    height, width = card.input_size
    signature = (tf.TensorSpec((None, height, width, 3), tf.float32, name="image"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=OPSET)
    for key, value in card.to_metadata().items():
        proto.metadata_props.add(key=key, value=value)
    proto.doc_string = f"poster-genre {card.version}: {card.backbone}, genres {', '.join(card.labels)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))


def parity(model: keras.Model, onnx_path: Path, images: list[Path]) -> float:
    """Max abs difference between Keras and onnxruntime probabilities on `images`."""
    classifier = GenreClassifier(onnx_path)
    batch = np.stack([preprocess(image, classifier.input_size) for image in images])
    expected = model.predict(batch, verbose=0)
    return float(np.abs(classifier.probabilities(batch) - expected).max())


def parity_images(data_dir: Path, report: dict, count: int) -> list[Path]:
    """The first `count` validation posters of the report's split."""
    posters = read_posters(data_dir)
    _, val = split(posters, report["data"]["val_fraction"], report["data"]["seed"])
    return [p.path for p in val[:count]]


def export(model_path: Path, report_path: Path, output: Path, data_dir: Path,
           version: str, parity_count: int = 16) -> float:
    """Convert, check parity on real posters, and return the max abs difference."""
    report = json.loads(report_path.read_text())
    model = keras.models.load_model(model_path)
    convert(model, card_from_report(report, version), output)
    difference = parity(model, output, parity_images(data_dir, report, parity_count))
    if difference >= PARITY_TOLERANCE:
        output.unlink()
        raise RuntimeError(f"ONNX and Keras disagree by {difference:.2e} (>= {PARITY_TOLERANCE}); nothing written.")
    print(f"wrote {output}; Keras/ONNX max abs difference {difference:.2e} on {parity_count} posters",
          file=sys.stderr)
    return difference


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=REPO / "artifacts" / "efficientnet_lite2" / "model.keras")
    parser.add_argument("--report", type=Path, default=REPO / "reports" / "metrics.json")
    parser.add_argument("--output", type=Path, default=REPO / "model.onnx")
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env())
    parser.add_argument("--version", default=datetime.date.today().isoformat())
    parser.add_argument("--parity-count", type=int, default=16)
    parser.add_argument("--int8", type=Path, help="also write an int8 model here and report it")
    args = parser.parse_args(argv)
    export(args.model, args.report, args.output, args.data_dir, args.version, args.parity_count)
    if args.int8:
        from export.quantize import quantize_and_report

        quantize_and_report(args.output, args.int8, args.data_dir, args.report.parent / "int8.json")


if __name__ == "__main__":
    main()
