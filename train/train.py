"""Fine-tune an ImageNet backbone into the 5-genre poster classifier.

    python -m train.train --data-dir ../shared/data --backbone efficientnet_lite2

1. Split the posters (stratified by genre, one film never on both sides) and preprocess them
   with the app's own `poster_genre.preprocess`.
2. Run the frozen bottom of the backbone once over several augmented views of every training
   poster and cache the result: no epoch recomputes it.
3. Stage 1, the linear probe: train dropout + softmax on pooled features of the frozen network.
4. Stage 2: unfreeze the top blocks (BatchNorm stays frozen) and fine-tune them with the head
   at a low learning rate on the cached views, early stopping on validation loss.
5. Evaluate the assembled model on the validation posters; write model.keras, the JSON report
   and the PNG plots.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from poster_genre.labels import GENRES
from poster_genre.preprocess import preprocess
from train import evaluate
from train.backbones import BACKBONES
from train.data import Poster, data_dir_from_env, read_posters, split
from train.lite2 import default_cache_dir

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env())
    parser.add_argument("--backbone", choices=sorted(BACKBONES), default="efficientnet_lite2")
    parser.add_argument("--weights", default="imagenet", help='"imagenet", a weights file, or "none"')
    parser.add_argument("--input-size", type=int, nargs=2, metavar=("HEIGHT", "WIDTH"),
                        help="defaults to the backbone's")
    parser.add_argument("--views", type=int, default=4, help="augmented views cached per training poster")
    parser.add_argument("--top-blocks", type=int, default=2, help="blocks unfrozen in stage 2")
    parser.add_argument("--head-epochs", type=int, default=80)
    parser.add_argument("--finetune-epochs", type=int, default=15)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--finetune-lr", type=float, default=1e-5)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--val-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=REPO / "artifacts", help="where model.keras goes")
    parser.add_argument("--reports-dir", type=Path, default=REPO / "reports")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    args = parser.parse_args(argv)
    args.weights = None if args.weights.lower() == "none" else args.weights
    args.input_size = tuple(args.input_size) if args.input_size else BACKBONES[args.backbone].input_size
    return args


def load_images(posters: list[Poster], size: tuple[int, int], desc: str) -> np.ndarray:
    """Preprocessed posters as a uint8 array (N, H, W, 3), with a progress bar."""
    return np.stack([preprocess(p.path, size).astype(np.uint8)
                     for p in tqdm(posters, desc=f"load {desc}", unit="poster", file=sys.stderr)])


def augmented_views(images: np.ndarray, views: int, seed: int) -> np.ndarray:
    """View 0 as is, view 1 mirrored, the rest random zoomed crops, mirrors and light colour jitter."""
    rng = np.random.default_rng(seed)
    out = [images, images[:, :, ::-1]]
    height, width = images.shape[1:3]
    for _ in range(views - 2):
        n = len(images)
        scale = np.sqrt(rng.uniform(0.7, 1.0, n))
        top, left = rng.uniform(0, 1 - scale), rng.uniform(0, 1 - scale)
        boxes = np.stack([top, left, top + scale, left + scale], axis=1).astype(np.float32)
        flip = rng.random(n) < 0.5
        boxes[flip] = boxes[flip][:, [0, 3, 2, 1]]  # x1 > x2 mirrors the crop
        crops = tf.image.crop_and_resize(images.astype(np.float32), boxes, np.arange(n), (height, width))
        gain = rng.uniform(0.85, 1.15, (n, 1, 1, 1))
        shift = rng.uniform(-15, 15, (n, 1, 1, 1))
        out.append(np.clip(crops.numpy() * gain + shift, 0, 255).astype(np.uint8))
    return np.concatenate(out[:views])


def run_bottom(bottom: keras.Model, images: np.ndarray, batch_size: int, desc: str) -> np.ndarray:
    """The frozen bottom's output for every image, float16, with a progress bar."""
    batches = range(0, len(images), batch_size)
    return np.concatenate([
        bottom(images[i:i + batch_size].astype(np.float32), training=False).numpy().astype(np.float16)
        for i in tqdm(batches, desc=f"features {desc}", unit="batch", file=sys.stderr)])


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


def class_weights(labels: np.ndarray) -> dict[int, float]:
    """Balanced weights: n / (k * count) per class."""
    counts = np.bincount(labels, minlength=len(GENRES))
    return {i: float(len(labels) / (len(GENRES) * max(c, 1))) for i, c in enumerate(counts)}


def fit(model: keras.Model, x, y, x_val, y_val, lr: float, epochs: int, args, patience: int) -> dict:
    """Adam + categorical cross-entropy with smoothing, class weights, early stopping on val loss."""
    model.compile(keras.optimizers.Adam(lr),
                  keras.losses.CategoricalCrossentropy(label_smoothing=args.label_smoothing),
                  metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping("val_loss", patience=patience, restore_best_weights=True)
    history = model.fit(x, keras.utils.to_categorical(y, len(GENRES)), batch_size=args.batch_size,
                        epochs=epochs, validation_data=(x_val, keras.utils.to_categorical(y_val, len(GENRES))),
                        class_weight=class_weights(y), callbacks=[stop], verbose=2, shuffle=True)
    return {k: [round(float(v), 5) for v in values] for k, values in history.history.items()}


def counts(posters: list[Poster]) -> dict[str, int]:
    tally = Counter(p.genre for p in posters)
    return {genre: tally[genre] for genre in GENRES}


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    started = time.time()

    posters = read_posters(args.data_dir)
    train_posters, val_posters = split(posters, args.val_fraction, args.seed)
    y_train = np.array([p.label for p in train_posters])
    y_val = np.array([p.label for p in val_posters])
    print(f"{len(train_posters)} training and {len(val_posters)} validation posters", file=sys.stderr)

    backbone = BACKBONES[args.backbone]
    network = backbone.create(args.weights, args.input_size)
    bottom, top = backbone.split(network, args.top_blocks)

    key = {"backbone": args.backbone, "weights": args.weights, "size": args.input_size, "seed": args.seed,
           "top_blocks": args.top_blocks, "files": [str(p.path) for p in posters], "val": args.val_fraction}
    x_train = cached(args.cache_dir, {**key, "views": args.views, "part": "train"}, lambda: run_bottom(
        bottom, augmented_views(load_images(train_posters, args.input_size, "train"), args.views, args.seed),
        args.batch_size, "train"))
    val_images = load_images(val_posters, args.input_size, "validation")
    x_val = cached(args.cache_dir, {**key, "part": "val"},
                   lambda: run_bottom(bottom, val_images, args.batch_size, "validation"))
    y_views = np.tile(y_train, args.views)

    pool = keras.layers.GlobalAveragePooling2D(name="pool")
    dropout = keras.layers.Dropout(args.dropout, name="dropout")
    head = keras.layers.Dense(len(GENRES), activation="softmax", name="genres")

    # Stage 1: the linear probe on pooled features of the frozen network.
    pooled = keras.Model(top.input, pool(top.output))
    f_train = pooled.predict(x_train.astype(np.float32), batch_size=64, verbose=0)
    f_val = pooled.predict(x_val.astype(np.float32), batch_size=64, verbose=0)
    features = keras.Input(f_train.shape[1:])
    probe = keras.Model(features, head(dropout(features)))
    history = {"stage 1 (head)": fit(probe, f_train, y_views, f_val, y_val, args.head_lr,
                                     args.head_epochs, args, patience=10)}
    probe_report = evaluate.metrics(y_val, probe.predict(f_val, verbose=0), GENRES)

    # Stage 2: unfreeze the top blocks, BatchNorm kept frozen, low learning rate.
    for layer in top.layers:
        layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
    finetune = keras.Model(top.input, head(dropout(pool(top.output))))
    history["stage 2 (top blocks)"] = fit(finetune, x_train, y_views, x_val, y_val, args.finetune_lr,
                                          args.finetune_epochs, args, patience=3)

    model = keras.Model(network.input, head(dropout(pool(network.output))), name=f"poster_genre_{args.backbone}")
    probs = model.predict(val_images.astype(np.float32), batch_size=args.batch_size, verbose=0)
    report = {
        "backbone": args.backbone,
        "weights": str(args.weights),
        "input_size": list(args.input_size),
        "labels": list(GENRES),
        "data": {"posters": len(posters), "train": len(train_posters), "val": len(val_posters),
                 "train_per_genre": counts(train_posters), "val_per_genre": counts(val_posters),
                 "seed": args.seed, "val_fraction": args.val_fraction},
        "settings": {k: getattr(args, k) for k in ("views", "top_blocks", "head_lr", "finetune_lr", "dropout",
                                                   "label_smoothing", "batch_size")},
        "probe": {k: probe_report[k] for k in ("accuracy", "macro_f1", "top2_accuracy")},
        "validation": evaluate.metrics(y_val, probs, GENRES),
        "history": history,
        "train_seconds": round(time.time() - started, 1),
    }
    write_outputs(model, report, args.out, args.reports_dir)
    return report


def write_outputs(model: keras.Model, report: dict, out: Path, reports_dir: Path) -> None:
    """model.keras in `out`; metrics.json and the PNG plots in `reports_dir`."""
    out.mkdir(parents=True, exist_ok=True)
    reports_dir.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    (reports_dir / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    validation = report["validation"]
    evaluate.plot_confusion(validation["confusion_matrix"], GENRES, reports_dir / "confusion_matrix.png")
    evaluate.plot_history(report["history"], reports_dir / "training_curves.png")
    evaluate.plot_selective(validation["selective"], reports_dir / "selective_accuracy.png")
    print(f"validation accuracy {validation['accuracy']:.3f}, macro-F1 {validation['macro_f1']:.3f} "
          f"(probe {report['probe']['accuracy']:.3f} / {report['probe']['macro_f1']:.3f}); "
          f"{report['train_seconds']:.0f} s; wrote {out / 'model.keras'} and {reports_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
