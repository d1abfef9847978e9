"""The frozen bottom of the backbone, run once over augmented views of the posters and cached.

The bottom runs through onnxruntime (converted with tf2onnx and checked against Keras), faster than Keras
(docs/benchmarks.md). Large posters are down- and up-sampled at random in every view, so sharpness does not tell the 500 px
TMDB posters from the 182 px IMDb thumbnails. Each view is cached under a hash of what made it, so an identical
rerun skips it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
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

from poster_genre.preprocess import preprocess
from train.config import TrainConfig
from train.data import Poster

THUMBNAIL_WIDTHS = (160, 300)  # large posters are sometimes resampled through this width range


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
    if view < 2:
        out = np.array(images if view == 0 else images[:, :, ::-1])
    else:  # one new array (25k posters at 390x260 are 7.6 GB: a second copy does not fit beside the cache)
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
    for i in np.flatnonzero((widths > THUMBNAIL_WIDTHS[1]) & (rng.random(n) < 0.5)):
        out[i] = resample(out[i], int(rng.integers(*THUMBNAIL_WIDTHS)))
    return out



def onnx_bottom(bottom: keras.Model, size: tuple[int, int]) -> ort.InferenceSession:
    """The frozen bottom converted with tf2onnx, which onnxruntime runs faster than Keras (docs/benchmarks.md).

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
                          f"train view {view + 1}/{cached_views(config)}")

    views = cached_views(config)
    return np.concatenate([cached(config.cache_dir, {**key, "part": "train", "view": view, "files": files},
                                  partial(view_features, view)) for view in range(views)])


def cached_views(config: TrainConfig) -> int:
    """Views cached per training poster: member i trains on views i..i+views-1."""
    return config.views + config.members - 1


def member_views(x_train: np.ndarray, config: TrainConfig, member: int) -> np.ndarray:
    """The cached features member `member` trains on (a slice, not a copy): its `config.views` views."""
    posters = len(x_train) // cached_views(config)
    return x_train[member * posters:(member + config.views) * posters]


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
           "top_blocks": config.top_blocks, "files": [str(p.path) for p in posters],
           "kind": "multi-label"}  # as version 3's runs keyed it, so their cached features stay valid
    x_train = train_features(fast_bottom, train_posters, config, key)
    val_images, _ = load_images(val_posters, config.input_size, "validation")
    x_val = cached(config.cache_dir, {**key, "part": "val", "files": [str(p.path) for p in val_posters]},
                   lambda: run_bottom(fast_bottom, val_images, config.batch_size, "validation"))
    return Features(x_train, x_val, val_images)
