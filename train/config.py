"""One training run's settings: `TrainConfig`, made from the command line by `parse_args` (or built in code)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from train.backbones import BACKBONES
from train.data import data_dir_from_env, imdb_dir_from_env
from train.lite2 import default_cache_dir
from train.read_words import default_cache

REPO = Path(__file__).resolve().parents[1]
DESCRIPTION = "Fine-tune an ImageNet backbone into the poster genre model (see train/train.py)."


@dataclass(frozen=True)
class TrainConfig:
    """One training run's settings (`parse_args` makes one from the command line)."""

    data_dir: Path
    imdb_dir: Path | None
    backbone: str
    weights: str | None
    input_size: tuple[int, int]
    views: int
    members: int
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
    words_cache: Path | None


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    parser = argparse.ArgumentParser(description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env(), help="TMDB poster folder")
    parser.add_argument("--imdb-dir", default=str(imdb_dir_from_env()), help='IMDb poster folder, or "none"')
    parser.add_argument("--backbone", choices=sorted(BACKBONES), default="efficientnet_lite2")
    parser.add_argument("--weights", default="imagenet", help='"imagenet", a weights file, or "none"')
    parser.add_argument("--input-size", type=int, nargs=2, metavar=("HEIGHT", "WIDTH"),
                        help="defaults to the backbone's")
    parser.add_argument("--views", type=int, default=2, help="augmented views each member trains on")
    parser.add_argument("--members", type=int, default=1,
                        help="fine-tuned tops on the shared frozen bottom, averaged (member i sees views i..i+views-1); "
                             "one: two Lite2 members measured +0.003 five-genre mAP over one (docs/training.md)")
    parser.add_argument("--top-blocks", type=int, default=2, help="blocks unfrozen in stage 2")
    parser.add_argument("--head-epochs", type=int, default=60)
    parser.add_argument("--finetune-epochs", type=int, default=3, help="stage 2 epochs of each member")
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
    parser.add_argument("--words-cache", help="the words read on the posters (python -m train.read_words; default: "
                        'beside the IMDb poster folder), or "none" for a text model without words')
    args = parser.parse_args(argv)
    args.weights = None if args.weights.lower() == "none" else args.weights
    args.imdb_dir = None if args.imdb_dir.lower() == "none" else Path(args.imdb_dir)
    args.input_size = tuple(args.input_size) if args.input_size else BACKBONES[args.backbone].input_size
    args.out = args.out or REPO / "artifacts" / args.backbone
    if args.words_cache is None:
        args.words_cache = default_cache(args.imdb_dir) if args.imdb_dir else None
    else:
        args.words_cache = None if args.words_cache.lower() == "none" else Path(args.words_cache)
    return TrainConfig(**vars(args))
