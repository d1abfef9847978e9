"""What the ensemble costs: the served ensemble against one model of the same
backbone and input size, per poster at batch 1 and 8, in alternating blocks in one run (`median_seconds`).

    python -m benchmarks.ensemble [--single artifacts/model_v3.onnx]

The single model is version 3's (`git show 34af7ab:model.onnx > artifacts/model_v3.onnx`): one fp32 Lite2 at
390x260, the baseline the ensemble's budget is stated against (at most 1.1x).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from export.timing import median_seconds
from poster_genre import GenreClassifier
from poster_genre.analysis import model_input
from train.data import data_dir_from_env, tmdb_split

REPO = Path(__file__).resolve().parents[1]
SINGLE = REPO / "artifacts" / "model_v3.onnx"


def ensemble_cost(posters: list[Path], single: Path, ensemble: Path = REPO / "model.onnx") -> dict:
    models = {"single_fp32": GenreClassifier(single), "ensemble_fp32": GenreClassifier(ensemble)}
    rows = {"baseline": f"{single.name} (fp32, one model)", "members": len(models["ensemble_fp32"].card.members)}
    for size in (1, 8):
        batch = model_input(models["single_fp32"], posters[:size])
        seconds = median_seconds({name: (lambda m=m, batch=batch: m.probabilities(batch)) for name, m in models.items()})
        base = seconds["single_fp32"]
        rows[f"batch{size}"] = {**{f"{n}_ms_per_poster": round(1000 * t / size, 1) for n, t in seconds.items()},
                                "fp32_ensemble_vs_single_fp32": round(seconds["ensemble_fp32"] / base, 3)}
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--single", type=Path, default=SINGLE, help="one fp32 model, the baseline")
    args = parser.parse_args(argv)
    os.environ.setdefault("POSTER_GENRE_THREADS", str(len(os.sched_getaffinity(0))))
    posters = [p.path for p in tmdb_split(data_dir_from_env())[2]]
    print(json.dumps(ensemble_cost(posters, args.single), indent=2))


if __name__ == "__main__":
    main()
