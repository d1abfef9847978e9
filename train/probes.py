"""Linear probes on pooled features of the frozen network: stage 1 (the head's start), the learning curve (the
probe refitted on a quarter and a half of the training films), and out-of-fold probes of the training posters
(the poster's honest stand-in when the title and year fusion is fitted)."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import keras
import numpy as np

from poster_genre.rules import FIRST_GENRES
from train.backbones import BACKBONES
from train.config import TrainConfig
from train.data import Poster
from train.dataset import FOLDS, Data, folds_by_film
from train.features import Features, compute_features, member_views, pooled_features
from train.metrics import masked_map
from train.model import Head, best_epochs, fit, masked_binary_crossentropy, probe_model


@dataclass(frozen=True)
class ProbeResult:
    """Stage 1's linear probe: its validation probabilities and history, the learning curve, and out-of-fold
    probabilities of the training posters (for the title and year fusion)."""

    val_probs: np.ndarray
    history: dict
    learning_curve: list[dict]
    out_of_fold: np.ndarray


def stage_one(config: TrainConfig, data: Data, head: Head, top: keras.Model, x: Features, extras: bool = True
              ) -> ProbeResult:
    """The linear probe on pooled features of the frozen network (the head's own dense layer, so stage 2 starts
    from it); with `extras`, its learning curve and the out-of-fold probes too (the first member's)."""
    pooled = keras.Model(top.input, head.pool(top.output))
    f_train, f_val = pooled_features(pooled, x.train), pooled_features(pooled, x.val)
    y_views = np.tile(data.y_train, (config.views, 1))
    features = keras.Input(f_train.shape[1:])
    probe = keras.Model(features, head.dense(head.dropout(features)))
    history = fit(probe, f_train, y_views, f_val, data.y_val, config.head_lr, config.head_epochs, config, patience=8)
    probe_probs = probe.predict(f_val, verbose=0)
    if not extras:
        return ProbeResult(probe_probs, history, [], np.zeros(0, np.float32))
    curve = (learning_curve(config, data.train, f_train, y_views, f_val, data.y_val, data.val_imdb, probe_probs)
             if data.val_imdb.any() else [])
    oof = out_of_fold_from_features(config, data, f_train, best_epochs(history))
    return ProbeResult(probe_probs, history, curve, oof)


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
            probe = probe_model(f_train.shape[1], y_val.shape[1], config.dropout)
            fit(probe, f_train[keep], y_views[keep], f_val, y_val, config.head_lr, config.head_epochs, config, patience=8)
        probs = probe.predict(f_val[val_imdb], verbose=0) if share < 1 else probe_probs[val_imdb]
        rows.append({"share": share, "training_films": int(share * len(films) + 0.999),
                     "five_genre_mAP": round(masked_map(y_val[val_imdb][:, :len(FIRST_GENRES)], probs[:, :len(FIRST_GENRES)]), 4),
                     "all_genre_mAP": round(masked_map(y_val[val_imdb], probs), 4)})
        print(f"learning curve: {rows[-1]}", file=sys.stderr)
    return rows


def out_of_fold_from_features(config: TrainConfig, data: Data, f_train: np.ndarray, epochs: int) -> np.ndarray:
    """Out-of-fold probe probabilities of the training posters (their first view): per fold by film, a probe
    fitted for `epochs` epochs on the other folds' views, without looking at validation posters."""
    keras.utils.set_random_seed(config.seed)  # the same probes whether train.train or train.text runs them
    fold = folds_by_film(data.train, config.seed)
    views_fold, y_views = np.tile(fold, config.views), np.tile(data.y_train, (config.views, 1))
    out = np.zeros(data.y_train.shape, np.float32)
    for k in range(FOLDS):
        probe = probe_model(f_train.shape[1], len(data.labels), config.dropout)
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
    return out_of_fold_from_features(config, data, pooled_features(pooled, member_views(x.train, config, 0)), epochs)
