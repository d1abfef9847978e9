"""Fine-tune an ImageNet backbone into the poster genre model: multi-label (v2) or single-label (v1).

    python -m train.train --data-dir ../shared/data --imdb-dir ../shared/data-imdb   # multi-label
    python -m train.train --data-dir ../shared/data --kind single-label --imdb-dir none

1. Read the posters and split them by film (train.data: version 1's TMDB validation posters stay
   in validation; at least 15% of the IMDb films are held out, stratified by genre set). Every
   poster goes through the app's own `poster_genre.preprocess` at the backbone's input size.
2. Run the frozen bottom of the backbone once over several augmented views of every training
   poster and cache the result. Large posters are down- and up-sampled at random, so sharpness
   does not tell the 500 px TMDB posters from the 182 px IMDb thumbnails.
3. Stage 1, the linear probe: dropout + dense head on pooled features of the frozen network.
4. Stage 2: unfreeze the top blocks (BatchNorm stays frozen) and fine-tune them with the head at
   a low learning rate on the cached views, early stopping on validation mAP (multi-label) or loss.
5. Choose per-genre thresholds on validation (multi-label), evaluate per source against the
   baseline model.onnx on the same posters, write model.keras, the JSON report and the PNG plots,
   and the validation probabilities of the model and the probe (val_probabilities.npz, for
   benchmarks/noise.py's paired comparisons).

Multi-label: one sigmoid per candidate genre (the five, and every other IMDb genre with at least
`--min-candidate-films` training films), binary cross-entropy with label smoothing (a missing IMDb
genre is weak evidence: lists are capped at three and two public copies disagree on 12% of films).
A TMDB poster carries only the genres it was collected under, so its genres beyond the five are
unknown: the loss of a poster is the mean over the genres whose label is known, and unknown ones
give no gradient. The served genres are the five and every candidate with at least
`--serve-min-films` training films whose IMDb validation AP is at least `--serve-min-lift` times
its base rate; the saved model's head keeps only those, and the report lists every candidate.
Single-label: softmax, categorical cross-entropy with label smoothing and class weights.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import keras
import numpy as np
import onnxruntime as ort
import tensorflow as tf
import tf2onnx
from PIL import Image
from tqdm import tqdm

from poster_genre.card import MULTI_LABEL, SINGLE_LABEL
from poster_genre.classifier import GenreClassifier
from poster_genre.labels import GENRES
from poster_genre.preprocess import preprocess
from train import evaluate, plots
from train.backbones import BACKBONES, HEAD_LAYER, POOL_LAYER
from train.data import Poster, data_dir_from_env, imdb_dir_from_env, split_for
from train.metrics import candidate_table, masked_map
from train.text import FOLDS, fit_text_and_fusion, folds_by_film
from train.text import save as save_text
from train.lite2 import default_cache_dir

REPO = Path(__file__).resolve().parents[1]
THUMBNAIL_WIDTHS = (160, 300)  # large posters are sometimes resampled through this width range


@dataclass(frozen=True)
class TrainConfig:
    """One training run's settings (`parse_args` makes one from the command line)."""

    data_dir: Path
    imdb_dir: Path | None
    kind: str
    backbone: str
    weights: str | None
    input_size: tuple[int, int]
    views: int
    top_blocks: int
    head_epochs: int
    finetune_epochs: int
    head_lr: float
    finetune_lr: float
    dropout: float
    label_smoothing: float
    batch_size: int
    seed: int
    min_candidate_films: int
    serve_min_films: int
    serve_min_lift: float
    baseline: Path
    out: Path
    reports_dir: Path
    cache_dir: Path


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env(), help="TMDB poster folder")
    parser.add_argument("--imdb-dir", default=str(imdb_dir_from_env()), help='IMDb poster folder, or "none"')
    parser.add_argument("--kind", choices=(MULTI_LABEL, SINGLE_LABEL), default=MULTI_LABEL)
    parser.add_argument("--backbone", choices=sorted(BACKBONES), default="efficientnet_lite2")
    parser.add_argument("--weights", default="imagenet", help='"imagenet", a weights file, or "none"')
    parser.add_argument("--input-size", type=int, nargs=2, metavar=("HEIGHT", "WIDTH"),
                        help="defaults to the backbone's")
    parser.add_argument("--views", type=int, default=2, help="augmented views cached per training poster")
    parser.add_argument("--top-blocks", type=int, default=2, help="blocks unfrozen in stage 2")
    parser.add_argument("--head-epochs", type=int, default=60)
    parser.add_argument("--finetune-epochs", type=int, default=3)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--finetune-lr", type=float, default=5e-5)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--min-candidate-films", type=int, default=100,
                        help="training films a genre beyond the five needs to be learned")
    parser.add_argument("--serve-min-films", type=int, default=300, help="training films a served extra genre needs")
    parser.add_argument("--serve-min-lift", type=float, default=3.0,
                        help="IMDb validation AP a served extra genre needs, as a multiple of its base rate")
    parser.add_argument("--baseline", type=Path, default=REPO / "model.onnx",
                        help="ONNX model measured on the same validation posters (default: the served one)")
    parser.add_argument("--out", type=Path, help="where model.keras goes (default: artifacts/<backbone>)")
    parser.add_argument("--reports-dir", type=Path, default=REPO / "reports")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    args = parser.parse_args(argv)
    args.weights = None if args.weights.lower() == "none" else args.weights
    args.imdb_dir = None if args.imdb_dir.lower() == "none" else Path(args.imdb_dir)
    args.input_size = tuple(args.input_size) if args.input_size else BACKBONES[args.backbone].input_size
    args.out = args.out or REPO / "artifacts" / args.backbone
    return TrainConfig(**vars(args))


def candidate_labels(posters: list[Poster], kind: str, min_films: int) -> tuple[str, ...]:
    """The five genres, then (multi-label) every other IMDb genre that at least `min_films` of these
    posters' films carry, most films first."""
    if kind == SINGLE_LABEL:
        return GENRES
    tally = training_films(posters)
    return GENRES + tuple(g for g, n in tally.most_common() if g not in GENRES and n >= min_films)


def training_films(posters: list[Poster]) -> Counter:
    """Films per genre: the five as labelled, other genres from the IMDb lists."""
    genres_of: dict[str, set[str]] = {}
    for p in posters:
        genres_of.setdefault(p.film, set()).update(p.genres, p.imdb_genres if p.source == "imdb" else ())
    return Counter(g for genres in genres_of.values() for g in genres)


def targets(posters: list[Poster], kind: str, labels: tuple[str, ...]) -> np.ndarray:
    """(N, genres) float32: one-hot primary genre (single-label), or 1/0 per genre with -1 where unknown."""
    if kind == SINGLE_LABEL:
        return np.eye(len(GENRES), dtype=np.float32)[[p.label for p in posters]]
    return np.stack([p.label_vector(labels) for p in posters]) if posters else np.zeros((0, len(labels)), np.float32)


def masked_binary_crossentropy(smoothing: float):
    """Binary cross-entropy with label smoothing, averaged over each poster's known genres (y >= 0)."""
    def loss(y_true, y_pred):
        known = keras.ops.cast(y_true >= 0, y_pred.dtype)
        target = keras.ops.maximum(y_true, 0.0) * (1 - smoothing) + 0.5 * smoothing
        p = keras.ops.clip(y_pred, 1e-7, 1 - 1e-7)
        bce = -(target * keras.ops.log(p) + (1 - target) * keras.ops.log(1 - p))
        return keras.ops.sum(bce * known, axis=-1) / keras.ops.maximum(keras.ops.sum(known, axis=-1), 1.0)
    return loss


class MaskedValidation(keras.callbacks.Callback):
    """After each epoch, validation loss and mAP over the known labels, logged as val_loss and val_mAP."""

    def __init__(self, x: np.ndarray, y: np.ndarray, smoothing: float, batch_size: int):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.loss = masked_binary_crossentropy(smoothing)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        probs = self.model.predict(self.x, batch_size=self.batch_size, verbose=0)
        logs = logs if logs is not None else {}
        logs["val_loss"] = float(np.mean(keras.ops.convert_to_numpy(self.loss(self.y, probs))))
        logs["val_mAP"] = masked_map(self.y, probs)


def load_images(posters: list[Poster], size: tuple[int, int], desc: str) -> tuple[np.ndarray, np.ndarray]:
    """Preprocessed posters as uint8 (N, H, W, 3), and each poster's original width."""
    images = np.zeros((len(posters), *size, 3), dtype=np.uint8)
    widths = np.zeros(len(posters), dtype=np.int32)
    for i, poster in enumerate(tqdm(posters, desc=f"load {desc}", unit="poster", file=sys.stderr)):
        with Image.open(poster.path) as image:
            widths[i] = image.width
        images[i] = preprocess(poster.path, size).astype(np.uint8)
    return images, widths


def resample(image: np.ndarray, width: int) -> np.ndarray:
    """Down-sample an (H, W, 3) uint8 image to `width` (aspect kept) and back up, bilinear."""
    height = round(image.shape[0] * width / image.shape[1])
    small = Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(small.resize(image.shape[1::-1], Image.Resampling.BILINEAR))


def augmented_view(images: np.ndarray, widths: np.ndarray, view: int, seed: int) -> np.ndarray:
    """View 0 as is, view 1 mirrored, later views zoomed crops, mirrors and light colour jitter.

    In every view, posters wider than the thumbnails are resampled through a random thumbnail
    width half of the time. Each view has its own seeded generator, so views cache independently.
    """
    rng = np.random.default_rng([seed, view])
    n, height, width = images.shape[:3]
    out = images if view == 0 else images[:, :, ::-1]
    if view >= 2:
        out = np.empty_like(images)
        for i in range(n):
            scale = np.sqrt(rng.uniform(0.7, 1.0))
            h, w = round(height * scale), round(width * scale)
            top, left = rng.integers(0, height - h + 1), rng.integers(0, width - w + 1)
            crop = Image.fromarray(images[i, top:top + h, left:left + w]).resize((width, height),
                                                                                 Image.Resampling.BILINEAR)
            crop = np.asarray(crop)[:, ::-1] if rng.random() < 0.5 else np.asarray(crop)
            jittered = crop.astype(np.float32) * rng.uniform(0.85, 1.15) + rng.uniform(-15, 15)
            out[i] = np.clip(jittered, 0, 255).astype(np.uint8)
    out = np.array(out)
    for i in np.flatnonzero((widths > THUMBNAIL_WIDTHS[1]) & (rng.random(n) < 0.5)):
        out[i] = resample(out[i], int(rng.integers(*THUMBNAIL_WIDTHS)))
    return out


def onnx_bottom(bottom: keras.Model, size: tuple[int, int]) -> ort.InferenceSession:
    """The frozen bottom converted with tf2onnx: onnxruntime runs it about 4x faster than Keras here.

    Its output is checked against Keras on random inputs before it is used.
    """
    signature = (tf.TensorSpec((None, *size, 3), tf.float32, name="image"),)
    proto, _ = tf2onnx.convert.from_keras(bottom, input_signature=signature, opset=17)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    probe = np.random.default_rng(0).uniform(0, 255, (2, *size, 3)).astype(np.float32)
    difference = np.abs(session.run(None, {"image": probe})[0] - bottom.predict_on_batch(probe)).max()
    if difference > 1e-3:
        raise RuntimeError(f"The ONNX bottom disagrees with Keras by {difference:.2e}.")
    return session


def run_bottom(bottom: ort.InferenceSession, images: np.ndarray, batch_size: int, desc: str) -> np.ndarray:
    """The frozen bottom's output for every image, float16, with a progress bar."""
    batches = range(0, len(images), batch_size)
    return np.concatenate([
        bottom.run(None, {"image": images[i:i + batch_size].astype(np.float32)})[0].astype(np.float16)
        for i in tqdm(batches, desc=f"features {desc}", unit="batch", file=sys.stderr)])


def train_features(bottom: ort.InferenceSession, posters: list[Poster], config: TrainConfig,
                   key: dict) -> np.ndarray:
    """The bottom's output for every augmented view of the training posters, each view cached (the posters
    are loaded only when a view is not)."""
    files = [str(p.path) for p in posters]
    loaded = functools.cache(lambda: load_images(posters, config.input_size, "train"))

    def view_features(view: int) -> np.ndarray:
        images, widths = loaded()
        return run_bottom(bottom, augmented_view(images, widths, view, config.seed), config.batch_size,
                          f"train view {view + 1}/{config.views}")

    return np.concatenate([cached(config.cache_dir, {**key, "part": "train", "view": view, "files": files},
                                  partial(view_features, view)) for view in range(config.views)])


def cached(cache_dir: Path, key: dict, compute) -> np.ndarray:
    """`compute()`'s array, stored under a hash of `key` so an identical rerun skips it."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = cache_dir / "features" / f"{digest}.npy"
    if path.exists():
        return np.load(path)
    array = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, array)
    return array


def pooled_features(pooled: keras.Model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The pooled top's output, float32, computed a batch at a time (the cached input stays float16)."""
    return np.concatenate([pooled.predict_on_batch(x[i:i + batch_size].astype(np.float32))
                           for i in range(0, len(x), batch_size)])


def class_weights(y: np.ndarray) -> dict[int, float]:
    """Balanced weights for one-hot targets: n / (k * count) per class."""
    counts = y.sum(axis=0)
    return {i: float(len(y) / (len(GENRES) * max(c, 1))) for i, c in enumerate(counts)}


def fit(model: keras.Model, x, y, x_val, y_val, lr: float, epochs: int, config: TrainConfig, patience: int,
        verbose: int = 2) -> dict:
    """Adam, cross-entropy with label smoothing, early stopping on validation loss (single-label) or
    validation mAP over the known labels (multi-label, masked loss).

    verbose=1 draws a progress bar within each epoch (for the long stage 2), 2 one line per epoch."""
    if config.kind == SINGLE_LABEL:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
        metric, weights = keras.metrics.CategoricalAccuracy(name="accuracy"), class_weights(y)
        stop = keras.callbacks.EarlyStopping("val_loss", patience=patience, restore_best_weights=True)
        model.compile(keras.optimizers.Adam(lr), loss, metrics=[metric])
        history = model.fit(x, y, batch_size=config.batch_size, epochs=epochs, validation_data=(x_val, y_val),
                            class_weight=weights, callbacks=[stop], verbose=verbose, shuffle=True)
    else:  # ranking is what tags rest on: the validation loss rises with confidence while mAP still improves
        model.compile(keras.optimizers.Adam(lr), masked_binary_crossentropy(config.label_smoothing))
        callbacks = [MaskedValidation(x_val, y_val, config.label_smoothing, 64),
                     keras.callbacks.EarlyStopping("val_mAP", mode="max", patience=patience, restore_best_weights=True)]
        history = model.fit(x, y, batch_size=config.batch_size, epochs=epochs, callbacks=callbacks, verbose=verbose,
                            shuffle=True)
    return {k: [round(float(v), 5) for v in values] for k, values in history.history.items()}


def counts(posters: list[Poster], labels: tuple[str, ...]) -> dict:
    """Posters per source and cohort, and per genre (a poster counts once for each of its genres)."""
    tally = Counter(g for p in posters for g in set(p.genres) | set(p.imdb_genres) if g in labels)
    return {"posters": len(posters), "by_source": dict(sorted(Counter(p.source for p in posters).items())),
            "by_cohort": dict(sorted(Counter(p.cohort for p in posters).items())),
            "per_genre": {genre: tally[genre] for genre in labels},
            "no_genre": sum(not p.genres for p in posters)}


@dataclass
class Features:
    """The cached bottom outputs: every view of the training posters, and the validation posters."""
    train: np.ndarray | None
    val: np.ndarray
    val_images: np.ndarray


def compute_features(config: TrainConfig, posters: list[Poster], train_posters: list[Poster],
                     val_posters: list[Poster], bottom: keras.Model) -> Features:
    fast_bottom = onnx_bottom(bottom, config.input_size)
    key = {"backbone": config.backbone, "weights": config.weights, "size": config.input_size, "seed": config.seed,
           "top_blocks": config.top_blocks, "files": [str(p.path) for p in posters], "kind": config.kind}
    x_train = train_features(fast_bottom, train_posters, config, key)
    val_images, _ = load_images(val_posters, config.input_size, "validation")
    x_val = cached(config.cache_dir, {**key, "part": "val", "files": [str(p.path) for p in val_posters]},
                   lambda: run_bottom(fast_bottom, val_images, config.batch_size, "validation"))
    return Features(x_train, x_val, val_images)


def learning_curve(config: TrainConfig, train_posters: list[Poster], f_train: np.ndarray, y_views: np.ndarray,
                   f_val: np.ndarray, y_val: np.ndarray, val_imdb: np.ndarray, probe_probs: np.ndarray) -> list[dict]:
    """The linear probe refitted on a quarter and a half of the training films (seeded, by film), beside
    the probe of all of them: IMDb validation mAP over the five genres and over every candidate."""
    films = sorted({p.film for p in train_posters})
    order = {film: rank for rank, film in enumerate(np.random.default_rng(config.seed).permutation(films))}
    rank = np.tile([order[p.film] for p in train_posters], config.views)
    rows = []
    for share in (0.25, 0.5, 1.0):
        keep = rank < share * len(films)
        if share < 1:
            probe = keras.Sequential([keras.Input(f_train.shape[1:]), keras.layers.Dropout(config.dropout),
                                      keras.layers.Dense(y_val.shape[1], activation="sigmoid")])
            fit(probe, f_train[keep], y_views[keep], f_val, y_val, config.head_lr, config.head_epochs, config, patience=8)
        probs = probe.predict(f_val[val_imdb], verbose=0) if share < 1 else probe_probs[val_imdb]
        rows.append({"share": share, "training_films": int(share * len(films) + 0.999),
                     "five_genre_mAP": round(masked_map(y_val[val_imdb][:, :len(GENRES)], probs[:, :len(GENRES)]), 4),
                     "all_genre_mAP": round(masked_map(y_val[val_imdb], probs), 4)})
        print(f"learning curve: {rows[-1]}", file=sys.stderr)
    return rows


def best_epochs(history: dict) -> int:
    """How many epochs early stopping kept (the best validation mAP's)."""
    return int(np.argmax(history["val_mAP"])) + 1


def out_of_fold_from_features(config: TrainConfig, data: Data, f_train: np.ndarray, epochs: int) -> np.ndarray:
    """Out-of-fold probe probabilities of the training posters (their first view): per fold by film, a probe
    fitted for `epochs` epochs on the other folds' views, without looking at validation posters."""
    keras.utils.set_random_seed(config.seed)  # the same probes whether train.train or train.text runs them
    fold = folds_by_film(data.train, config.seed)
    views_fold, y_views = np.tile(fold, config.views), np.tile(data.y_train, (config.views, 1))
    out = np.zeros(data.y_train.shape, np.float32)
    for k in range(FOLDS):
        probe = keras.Sequential([keras.Input(f_train.shape[1:]), keras.layers.Dropout(config.dropout),
                                  keras.layers.Dense(len(data.labels), activation="sigmoid")])
        probe.compile(keras.optimizers.Adam(config.head_lr), masked_binary_crossentropy(config.label_smoothing))
        probe.fit(f_train[views_fold != k], y_views[views_fold != k], batch_size=config.batch_size, epochs=epochs,
                  verbose=0, shuffle=True)
        out[fold == k] = probe.predict(f_train[:len(data.train)][fold == k], verbose=0)
        print(f"out-of-fold probe: fold {k + 1}/{FOLDS}", file=sys.stderr)
    return out


def out_of_fold_probe(config: TrainConfig, data: Data, epochs: int) -> np.ndarray:
    """`out_of_fold_from_features` from the cached features of a finished run (for `python -m train.text`)."""
    backbone = BACKBONES[config.backbone]
    bottom, top = backbone.split(backbone.create(config.weights, config.input_size), config.top_blocks)
    x = compute_features(config, data.posters, data.train, data.val, bottom)
    pooled = keras.Model(top.input, keras.layers.GlobalAveragePooling2D()(top.output))
    return out_of_fold_from_features(config, data, pooled_features(pooled, x.train), epochs)


def served_head(head: keras.layers.Dense, keep: list[int]) -> keras.layers.Dense:
    """A copy of the head with only the output units in `keep` (a sigmoid per genre is independent)."""
    served = keras.layers.Dense(len(keep), activation=head.activation, name=head.name)
    served.build((None, head.kernel.shape[0]))
    kernel, bias = head.get_weights()
    served.set_weights([kernel[:, keep], bias[keep]])
    return served


@dataclass(frozen=True)
class Data:
    """The posters of one run, split by film, with their targets over the candidate genres."""

    posters: list[Poster]
    train: list[Poster]
    val: list[Poster]
    labels: tuple[str, ...]
    y_train: np.ndarray
    y_val: np.ndarray

    @classmethod
    def load(cls, config: TrainConfig) -> "Data":
        posters, train, val = split_for(config.kind, config.data_dir, config.imdb_dir, config.seed)
        labels = candidate_labels(train, config.kind, config.min_candidate_films)
        return cls(posters, train, val, labels, targets(train, config.kind, labels), targets(val, config.kind, labels))

    @property
    def val_imdb(self) -> np.ndarray:
        return np.array([p.source == "imdb" for p in self.val])


@dataclass
class Head:
    """Pooling, dropout and the dense classifier: shared by the probe, the fine-tuned top and the whole model."""

    pool: keras.layers.Layer
    dropout: keras.layers.Layer
    dense: keras.layers.Dense

    @classmethod
    def create(cls, config: TrainConfig, genres: int) -> "Head":
        activation = "softmax" if config.kind == SINGLE_LABEL else "sigmoid"
        return cls(keras.layers.GlobalAveragePooling2D(name=POOL_LAYER),
                   keras.layers.Dropout(config.dropout, name="dropout"),
                   keras.layers.Dense(genres, activation=activation, name=HEAD_LAYER))

    def on(self, feature_map, dense: keras.layers.Dense | None = None):
        return (dense or self.dense)(self.dropout(self.pool(feature_map)))


def stage_one(config: TrainConfig, data: Data, head: Head, top: keras.Model, x: Features
              ) -> tuple[np.ndarray, dict, list[dict], np.ndarray | None]:
    """The linear probe on pooled features of the frozen network: its validation probabilities, history,
    learning curve, and out-of-fold probabilities of the training posters (multi-label, for the fusion)."""
    pooled = keras.Model(top.input, head.pool(top.output))
    f_train, f_val = pooled_features(pooled, x.train), pooled_features(pooled, x.val)
    y_views = np.tile(data.y_train, (config.views, 1))
    features = keras.Input(f_train.shape[1:])
    probe = keras.Model(features, head.dense(head.dropout(features)))
    history = fit(probe, f_train, y_views, f_val, data.y_val, config.head_lr, config.head_epochs, config, patience=8)
    probe_probs = probe.predict(f_val, verbose=0)
    multi = config.kind != SINGLE_LABEL
    curve = (learning_curve(config, data.train, f_train, y_views, f_val, data.y_val, data.val_imdb, probe_probs)
             if multi and data.val_imdb.any() else [])
    oof = out_of_fold_from_features(config, data, f_train, best_epochs(history)) if multi else None
    return probe_probs, history, curve, oof


def stage_two(config: TrainConfig, data: Data, head: Head, top: keras.Model, x: Features) -> dict:
    """Unfreeze the top blocks (BatchNorm kept frozen) and fine-tune them with the head, low learning rate."""
    for layer in top.layers:
        layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
    finetune = keras.Model(top.input, head.on(top.output))
    return fit(finetune, x.train, np.tile(data.y_train, (config.views, 1)), x.val, data.y_val, config.finetune_lr,
               config.finetune_epochs, config, patience=2, verbose=1)


def choose_served(config: TrainConfig, data: Data, probs: np.ndarray) -> tuple[list[int], list[dict]]:
    """The indices of the served genres among the candidates, and every candidate with the rule applied."""
    if len(data.labels) == len(GENRES):
        return list(range(len(data.labels))), []
    imdb = data.val_imdb
    candidates = candidate_table(data.labels, training_films(data.train), data.y_val[imdb], probs[imdb],
                                 config.serve_min_films, config.serve_min_lift)
    return [i for i, row in enumerate(candidates) if row["served"]], candidates


def main(argv: list[str] | None = None) -> dict:
    config = parse_args(argv)
    keras.utils.set_random_seed(config.seed)
    started = time.time()
    data = Data.load(config)
    print(f"{config.kind}: {len(data.train)} training and {len(data.val)} validation posters, "
          f"genres {', '.join(data.labels)}", file=sys.stderr)

    backbone = BACKBONES[config.backbone]
    network = backbone.create(config.weights, config.input_size)
    bottom, top = backbone.split(network, config.top_blocks)
    x = compute_features(config, data.posters, data.train, data.val, bottom)
    print(f"features ready after {time.time() - started:.0f} s", file=sys.stderr)

    head = Head.create(config, len(data.labels))
    probe_probs, stage_1, curve, oof = stage_one(config, data, head, top, x)
    print(f"stage 1 done after {time.time() - started:.0f} s", file=sys.stderr)
    history = {"stage 1 (head)": stage_1, "stage 2 (top blocks)": stage_two(config, data, head, top, x)}
    x.train = None  # the cached views are no longer needed

    probs = keras.Model(network.input, head.on(network.output)).predict(
        x.val_images.astype(np.float32), batch_size=config.batch_size, verbose=0)
    keep, candidates = choose_served(config, data, probs)
    served = tuple(data.labels[i] for i in keep)
    model = keras.Model(network.input, head.on(network.output, served_head(head.dense, keep)),
                        name=f"poster_genre_{config.backbone}")
    baseline = GenreClassifier(config.baseline) if config.baseline.exists() else None
    report = {
        **run_description(config, served, data.posters, data.train, data.val),
        **evaluate.evaluate(config.kind, data.val, probs[:, keep], probe_probs[:, keep], baseline, served),
        "candidates": candidates, "learning_curve": curve, "history": history,
        "train_seconds": round(time.time() - started, 1),
    }
    if oof is not None:  # the title and year model and its fusion, for this image model
        text = fit_text_and_fusion(data.train, data.val, served, oof[:, keep], probs[:, keep], config.seed)
        report["text"] = text.report
    write_outputs(model, report, config.out, config.reports_dir)
    if oof is not None:
        save_text(text, config.out)
    np.savez(config.out / evaluate.PREDICTIONS, files=np.array([str(p.path) for p in data.val]),
             model=probs[:, keep], probe=probe_probs[:, keep])
    return report


def run_description(config: TrainConfig, labels: tuple[str, ...], posters: list[Poster],
                    train_posters: list[Poster], val_posters: list[Poster]) -> dict:
    """What the report says about the run: model, data counts, settings and the serving rule."""
    return {
        "kind": config.kind,
        "backbone": config.backbone,
        "weights": str(config.weights),
        "input_size": list(config.input_size),
        "labels": list(labels),
        "data": {"posters": len(posters), "train": len(train_posters), "val": len(val_posters),
                 "train_counts": counts(train_posters, labels), "val_counts": counts(val_posters, labels),
                 "seed": config.seed, "imdb_dir": Path(config.imdb_dir).name if config.imdb_dir else None},
        "settings": {k: getattr(config, k) for k in ("views", "top_blocks", "head_lr", "finetune_lr", "dropout",
                                                   "label_smoothing", "batch_size", "head_epochs", "finetune_epochs",
                                                   "min_candidate_films", "serve_min_films", "serve_min_lift")},
        "serving_rule": (f"the five genres always; another genre when at least {config.serve_min_films} training films "
                         f"carry it and its IMDb validation AP is at least {config.serve_min_lift:g} times its base rate"),
        "unknown_labels": ("a TMDB poster's genres beyond the five are unknown: each poster's loss is the mean over "
                           "its known genres, and metrics of those genres use the IMDb posters only"),
    }


def write_outputs(model: keras.Model, report: dict, out: Path, reports_dir: Path) -> None:
    """model.keras in `out`; metrics.json and the PNG plots in `reports_dir`."""
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    write_report(report, reports_dir)
    print(evaluate.summary(report), f"{report['train_seconds']:.0f} s; wrote {out / 'model.keras'} and {reports_dir}",
          file=sys.stderr)


def write_report(report: dict, reports_dir: Path) -> None:
    """metrics.json and every PNG plot of the report, replacing older plots."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    for stale in reports_dir.glob("*.png"):
        stale.unlink()
    (reports_dir / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    plots.plot_report(report, reports_dir)


if __name__ == "__main__":
    main()
