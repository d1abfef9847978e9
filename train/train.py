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
   with the head at a low learning rate, early stopping on validation mAP. Steps 3 and 4 run once per member
   (`--members`, default 1; each further member: another seed and another pair of views, on the same cached bottom).
5. The ensemble (`ensemble_model`): one network, the shared bottom and every member's top, whose logits are the
   mean of the members', moved to the stated prior (`assumed_prior`, `poster_genre.rules.prior_shift`).
6. `train.report`: apply the serving rule (`poster_genre.rules.served`) and the tag rule
   (`poster_genre.rules.tag_threshold`), evaluate against the served model on the same posters (`train.evaluate`)
   and each member alone against the ensemble, keep only the served genres in the head, and write model.keras,
   the report and its plots, and the validation probabilities (for `benchmarks/noise.py`).
7. `train.text`: the title and year model, the words model (on the words `python -m train.read_words` cached) and
   their fusion with this image model, saved beside it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace

import keras
import numpy as np

from poster_genre.classifier import GenreClassifier
from poster_genre.rules import logit, prior_shift, sigmoid
from train import evaluate
from train.backbones import BACKBONES, HEAD_LAYER, POOL_LAYER
from train.config import TrainConfig, parse_args
from train.data import DATA_IMDB
from train.dataset import Data
from train.features import Features, compute_features, member_views
from train.metrics import compare, five_genres
from train.model import Head, fit
from train.probes import ProbeResult, stage_one
from train.read_words import words_of
from train.report import STAGE_1, STAGE_2, choose_served, run_description, write_outputs
from train.text import fit_text_and_fusion
from train.text import save as save_text

STATED_PRIOR = "the genre rates of the IMDb training films of ../shared/data-imdb"


def stage_two(config: TrainConfig, data: Data, head: Head, top: keras.Model, x: Features) -> dict:
    """Unfreeze the top blocks (BatchNorm kept frozen) and fine-tune them with the head, low learning rate."""
    for layer in top.layers:
        layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
    finetune = keras.Model(top.input, head.on(top.output))
    return fit(finetune, x.train, np.tile(data.y_train, (config.views, 1)), x.val, data.y_val, config.finetune_lr,
               config.finetune_epochs, config, patience=2, verbose=1)


@dataclass(frozen=True)
class Member:
    """One fine-tuned top on the shared frozen bottom: its head, stage 1's probe and both stages' history."""

    top: keras.Model
    head: Head
    probe: ProbeResult
    history: dict


@dataclass(frozen=True)
class Trained:
    """The shared frozen bottom, the members, and the validation images."""

    bottom: keras.Model
    members: list[Member]
    val_images: np.ndarray


def trained_members(config: TrainConfig, data: Data, started: float) -> Trained:
    """Stages 1 and 2 of every member on the cached features (let go when this returns). Member i starts from
    seed + i and trains on views i..i+views-1 (the first: as is and mirrored; the next: mirrored and a zoomed,
    colour-jittered crop); only the first member's probe gets the learning curve and the out-of-fold probes."""
    backbone, x, bottom, members = BACKBONES[config.backbone], None, None, []
    for i in range(config.members):
        keras.utils.set_random_seed(config.seed + i)
        network = backbone.create(config.weights, config.input_size)
        own_bottom, top = backbone.split(network, config.top_blocks, top_name=f"top_{i}")
        if x is None:
            bottom, x = own_bottom, compute_features(config, data.posters, data.train, data.val, own_bottom)
            print(f"features ready after {time.time() - started:.0f} s", file=sys.stderr)
        mine = replace(x, train=member_views(x.train, config, i))
        head = Head.create(config, len(data.labels))
        probe = stage_one(config, data, head, top, mine, extras=i == 0)
        print(f"member {i + 1}: stage 1 done after {time.time() - started:.0f} s", file=sys.stderr)
        members.append(Member(top, head, probe, {STAGE_1: probe.history,
                                                 STAGE_2: stage_two(config, data, head, top, mine)}))
    return Trained(bottom, members, x.val_images)


def member_logits(run: Trained, batch_size: int) -> np.ndarray:
    """(members, validation posters, genres): each member's logits, the bottom run once in float32."""
    cut = run.bottom.predict(run.val_images.astype(np.float32), batch_size=batch_size, verbose=0)
    return np.stack([logit(keras.Model(m.top.input, m.head.on(m.top.output)).predict(cut, batch_size=batch_size,
                                                                                     verbose=0))
                     for m in run.members])


def assumed_prior(data: Data) -> tuple[np.ndarray, dict]:
    """The logit shift to the stated prior (`STATED_PRIOR`; none without such films), and what the report says."""
    known = (data.y_train >= 0).sum(0)
    training = (data.y_train > 0).sum(0) / np.maximum(known, 1)
    data_imdb = np.array([p.source == "imdb" and p.cohort == DATA_IMDB for p in data.train])
    stated = (data.y_train[data_imdb] > 0).mean(0) if data_imdb.any() else training
    shift = prior_shift(training, stated)
    rates = {genre: {"training": round(float(t), 4), "stated": round(float(s), 4), "logit_shift": round(float(d), 4)}
             for genre, t, s, d in zip(data.labels, training, stated, shift)}
    return shift, {"assumed": STATED_PRIOR if data_imdb.any() else "the training films' genre rates", "genres": rates}


def ensemble_model(run: Trained, keep: list[int], shift: np.ndarray, name: str) -> keras.Model:
    """One network: the shared bottom, every member's top, their maps side by side, one pooled head whose kernel is
    the members' stacked and divided by their count (so its logits are the mean of theirs) and whose bias is the
    mean of theirs plus the prior shift; only the served genres."""
    image = keras.Input(run.bottom.input.shape[1:], name="image")
    cut = run.bottom(image)
    maps = [m.top(cut) for m in run.members]
    joined = keras.layers.Concatenate(name="members")(maps) if len(maps) > 1 else maps[0]
    weights = [m.head.dense.get_weights() for m in run.members]
    kernel = np.concatenate([w[0][:, keep] for w in weights]) / len(weights)
    bias = np.mean([w[1][keep] for w in weights], axis=0) + shift[keep]
    dense = keras.layers.Dense(len(keep), activation="sigmoid", name=HEAD_LAYER)
    dense.build((None, kernel.shape[0]))
    dense.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    return keras.Model(image, dense(keras.layers.GlobalAveragePooling2D(name=POOL_LAYER)(joined)), name=name)


def members_report(config: TrainConfig, data: Data, members: np.ndarray, ensemble: np.ndarray,
                   labels: tuple[str, ...], run: Trained) -> list[dict]:
    """Each member alone against the ensemble (paired bootstrap on the validation films), with its history."""
    return [{"member": i + 1, "seed": config.seed + i, "views": list(range(i, i + config.views)),
             "history": run.members[i].history,
             "ensemble_versus_member": compare(data.val, five_genres(ensemble, labels), five_genres(alone, labels))}
            for i, alone in enumerate(members)]


def main(argv: list[str] | None = None) -> dict:
    config = parse_args(argv)
    keras.utils.set_random_seed(config.seed)
    started = time.time()
    data = Data.load(config)
    print(f"{len(data.train)} training and {len(data.val)} validation posters, genres {', '.join(data.labels)}",
          file=sys.stderr)
    run = trained_members(config, data, started)
    shift, prior = assumed_prior(data)
    logits = member_logits(run, config.batch_size) + shift
    probs = sigmoid(logits.mean(0))
    keep, candidates = choose_served(config, data, probs)
    served = tuple(data.labels[i] for i in keep)
    model = ensemble_model(run, keep, shift, f"poster_genre_{config.backbone}")
    first = run.members[0].probe
    baseline = GenreClassifier(config.baseline) if config.baseline.exists() else None
    members = sigmoid(logits[:, :, keep])
    report = {**run_description(config, served, data.posters, data.train, data.val),
              **evaluate.evaluate(data.val, probs[:, keep], first.val_probs[:, keep], baseline, served),
              "prior": prior, "members": members_report(config, data, members, probs[:, keep], served, run),
              "candidates": candidates, "learning_curve": first.learning_curve, "history": run.members[0].history,
              "train_seconds": round(time.time() - started, 1)}
    oof = sigmoid(logit(first.out_of_fold[:, keep]) + shift[keep])
    text = fit_text_and_fusion(data.train, data.val, served, oof, probs[:, keep], config.seed,
                               words_of(config.words_cache, data.posters))
    report["text"] = text.report
    write_outputs(model, report, config.out, config.reports_dir)
    save_text(text, config.out)
    np.savez(config.out / evaluate.PREDICTIONS, files=np.array([str(p.path) for p in data.val]),
             model=probs[:, keep], probe=first.val_probs[:, keep], members=members)
    return report


if __name__ == "__main__":
    main()
