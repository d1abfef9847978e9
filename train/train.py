"""Fine-tune an ImageNet backbone into the poster genre model, then fit the title and year model beside it.

    python -m train.train --data-dir ../shared/data --imdb-dir ../shared/data-imdb

The recipe, one job a module:
1. `train.dataset`: read the posters and split them by film (version 1's TMDB validation posters and version 2's
   IMDb ones stay in validation; 15% of the films added later are held out), and choose the candidate genres: the
   five, and every other IMDb genre with at least `--min-candidate-films` training films.
2. `train.features`: run the frozen bottom of the backbone once over augmented views of every training poster,
   through the app's own `poster_genre.preprocess`, and cache the result.
3. `train.probes`, stage 1: the linear probe on pooled features (the head's start), its learning curve, and
   out-of-fold probes of the training posters for the fusion.
4. Stage 2 (`stage_two` below, `train.model`): unfreeze the top blocks (BatchNorm stays frozen) and fine-tune them
   with the head at a low learning rate, early stopping on validation mAP.
5. `train.report`: apply the serving rule (`poster_genre.rules.served`), evaluate against the served model on the
   same posters (`train.evaluate`), keep only the served genres in the head, and write model.keras, the report
   and its plots, and the validation probabilities (for `benchmarks/noise.py`).
6. `train.text`: the title and year model and its fusion with this image model, saved beside it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import keras
import numpy as np

from poster_genre.classifier import GenreClassifier
from train import evaluate
from train.backbones import BACKBONES
from train.config import TrainConfig, parse_args
from train.dataset import Data
from train.features import Features, compute_features
from train.model import Head, fit, served_head
from train.probes import ProbeResult, stage_one
from train.report import STAGE_1, STAGE_2, choose_served, run_description, write_outputs
from train.text import fit_text_and_fusion
from train.text import save as save_text


def stage_two(config: TrainConfig, data: Data, head: Head, top: keras.Model, x: Features) -> dict:
    """Unfreeze the top blocks (BatchNorm kept frozen) and fine-tune them with the head, low learning rate."""
    for layer in top.layers:
        layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
    finetune = keras.Model(top.input, head.on(top.output))
    return fit(finetune, x.train, np.tile(data.y_train, (config.views, 1)), x.val, data.y_val, config.finetune_lr,
               config.finetune_epochs, config, patience=2, verbose=1)


@dataclass(frozen=True)
class Trained:
    """The fine-tuned network and its head, stage 1's probe, both stages' history, and the validation images."""

    network: keras.Model
    head: Head
    probe: ProbeResult
    history: dict
    val_images: np.ndarray


def trained_network(config: TrainConfig, data: Data, started: float) -> Trained:
    """Stages 1 and 2 on the cached features (which are let go when this returns)."""
    backbone = BACKBONES[config.backbone]
    network = backbone.create(config.weights, config.input_size)
    bottom, top = backbone.split(network, config.top_blocks)
    x = compute_features(config, data.posters, data.train, data.val, bottom)
    print(f"features ready after {time.time() - started:.0f} s", file=sys.stderr)
    head = Head.create(config, len(data.labels))
    probe = stage_one(config, data, head, top, x)
    print(f"stage 1 done after {time.time() - started:.0f} s", file=sys.stderr)
    history = {STAGE_1: probe.history, STAGE_2: stage_two(config, data, head, top, x)}
    return Trained(network, head, probe, history, x.val_images)


def main(argv: list[str] | None = None) -> dict:
    config = parse_args(argv)
    keras.utils.set_random_seed(config.seed)
    started = time.time()
    data = Data.load(config)
    print(f"{len(data.train)} training and {len(data.val)} validation posters, genres {', '.join(data.labels)}",
          file=sys.stderr)
    run = trained_network(config, data, started)
    network, head, probe = run.network, run.head, run.probe
    probs = keras.Model(network.input, head.on(network.output)).predict(
        run.val_images.astype(np.float32), batch_size=config.batch_size, verbose=0)
    keep, candidates = choose_served(config, data, probs)
    served = tuple(data.labels[i] for i in keep)
    model = keras.Model(network.input, head.on(network.output, served_head(head.dense, keep)),
                        name=f"poster_genre_{config.backbone}")
    baseline = GenreClassifier(config.baseline) if config.baseline.exists() else None
    report = {**run_description(config, served, data.posters, data.train, data.val),
              **evaluate.evaluate(data.val, probs[:, keep], probe.val_probs[:, keep], baseline, served),
              "candidates": candidates, "learning_curve": probe.learning_curve, "history": run.history,
              "train_seconds": round(time.time() - started, 1)}
    text = fit_text_and_fusion(data.train, data.val, served, probe.out_of_fold[:, keep], probs[:, keep], config.seed)
    report["text"] = text.report
    write_outputs(model, report, config.out, config.reports_dir)
    save_text(text, config.out)
    np.savez(config.out / evaluate.PREDICTIONS, files=np.array([str(p.path) for p in data.val]),
             model=probs[:, keep], probe=probe.val_probs[:, keep])
    return report


if __name__ == "__main__":
    main()
