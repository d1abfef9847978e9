"""Export a trained Keras genre model to ONNX, with its model card in the metadata.

    python -m export.to_onnx --model artifacts/efficientnet_lite2/model.keras --report reports/metrics.json

The ONNX input is float32 NHWC raw RGB 0..255 with a dynamic batch. The first output is the
probabilities (one sigmoid per served genre), the second
the per-genre activation maps (export/activation_maps.py). Parity with Keras, of both outputs, is
checked on real posters (below 1e-4: probabilities absolute, maps relative to their scale) before the file is kept.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

import keras
import numpy as np
import onnx
import tensorflow as tf
import tf2onnx

from export.activation_maps import add_activation_maps
from export.review import add_review, review_posters
from export.text_model import export_text_model
from poster_genre import __version__
from poster_genre.analysis import model_input
from poster_genre.card import ModelCard
from poster_genre.classifier import GenreClassifier
from poster_genre.preprocess import RESIZE_POLICY
from poster_genre.text import text_model_beside
from train.backbones import HEAD_LAYER, POOL_LAYER
from train.data import data_dir_from_env, imdb_dir_from_env, tmdb_split
from train.text import TEXT_ARTIFACT

REPO = Path(__file__).resolve().parents[1]
PARITY_TOLERANCE = 1e-4
OPSET = 17


def card_from_report(report: dict, version: str = __version__) -> ModelCard:
    """The model card of a training report (reports/metrics.json), dated today."""
    return ModelCard.from_report(report, version, datetime.date.today().isoformat(), RESIZE_POLICY)


def recard(source: Path, report: dict, output: Path, version: str = __version__) -> Path:
    """`source`'s model (its weights and review limits unchanged) with the card of `report`: for a run that refitted
    only the title, year and words models beside it (`export.ship --words-only`)."""
    proto = onnx.load(str(source))
    card = card_from_report(report, version).to_metadata()
    kept = [(entry.key, entry.value) for entry in proto.metadata_props if entry.key not in card]
    del proto.metadata_props[:]
    for key, value in [*kept, *card.items()]:
        proto.metadata_props.add(key=key, value=value)
    output.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(output))
    return output


def convert(model: keras.Model, card: ModelCard, path: Path) -> None:
    """tf2onnx with an explicit NHWC signature, then the card written into metadata_props."""
    height, width = card.input_size
    signature = (tf.TensorSpec((None, height, width, 3), tf.float32, name="image"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=OPSET)
    add_activation_maps(proto)
    for key, value in card.to_metadata().items():
        proto.metadata_props.add(key=key, value=value)
    proto.doc_string = f"poster-genre {card.version}: {card.backbone}, genres {', '.join(card.labels)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))


def parity(model: keras.Model, onnx_path: Path, images: list[Path]) -> float:
    """The larger of the max abs difference between Keras and onnxruntime in probabilities, and in activation
    maps relative to their largest magnitude (at least 1: maps reach about 20, where float32 summation order
    alone moves the last digits), on `images`."""
    classifier = GenreClassifier(onnx_path)
    batch = model_input(classifier, images)
    probs, maps = classifier.probabilities_and_maps(batch)
    features = keras.Model(model.input, model.get_layer(POOL_LAYER).input).predict(batch, verbose=0)
    expected_maps = features @ model.get_layer(HEAD_LAYER).get_weights()[0]
    scale = max(1.0, float(np.abs(expected_maps).max()))
    return float(max(np.abs(probs - model.predict(batch, verbose=0)).max(), np.abs(maps - expected_maps).max() / scale))


def parity_images(data_dir: Path, count: int) -> list[Path]:
    """The first `count` of version 1's TMDB validation posters."""
    return [p.path for p in tmdb_split(data_dir)[2][:count]]


def export(model_path: Path, report_path: Path, output: Path, data_dir: Path, imdb_dir: Path | None = None,
           version: str = __version__, parity_count: int = 16) -> float:
    """Convert, check parity on real posters, write the review limits (`export.review`, from the validation
    posters of `data_dir` and `imdb_dir`) and return the max abs difference. A run with a title and year model
    also gets `model.text.onnx` beside `output` (an older one is removed otherwise)."""
    report = json.loads(report_path.read_text())
    model = keras.models.load_model(model_path)
    candidate = output.with_name(f"{output.stem}.partial.onnx")
    convert(model, card_from_report(report, version), candidate)
    difference = parity(model, candidate, parity_images(data_dir, parity_count))
    if difference >= PARITY_TOLERANCE:
        candidate.unlink()
        raise RuntimeError(f"ONNX and Keras disagree by {difference:.2e} (>= {PARITY_TOLERANCE}); nothing written.")
    add_review(candidate, review_posters(data_dir, imdb_dir))
    os.replace(candidate, output)
    text_output = text_model_beside(output)
    if "text" in report and (model_path.parent / TEXT_ARTIFACT).exists():
        export_text_model(model_path.parent, report, text_output)
    elif text_output.exists():
        text_output.unlink()
    print(f"wrote {output}; Keras/ONNX max abs difference {difference:.2e} on {parity_count} posters",
          file=sys.stderr)
    return difference


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=REPO / "artifacts" / "efficientnet_lite2" / "model.keras")
    parser.add_argument("--report", type=Path, default=REPO / "reports" / "metrics.json")
    parser.add_argument("--output", type=Path, default=REPO / "model.onnx")
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env())
    parser.add_argument("--imdb-dir", default=str(imdb_dir_from_env()), help='IMDb poster folder, or "none"')
    parser.add_argument("--version", default=__version__, help="written into the model card")
    parser.add_argument("--parity-count", type=int, default=16)
    args = parser.parse_args(argv)
    imdb_dir = None if args.imdb_dir.lower() == "none" else Path(args.imdb_dir)
    export(args.model, args.report, args.output, args.data_dir, imdb_dir, args.version, args.parity_count)


if __name__ == "__main__":
    main()
