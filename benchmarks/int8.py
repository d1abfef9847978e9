"""Which int8 recipe keeps fp32's accuracy? Every variant on several calibration draws, against fp32.

    python -m benchmarks.int8 [--fp32 model.onnx] [--seeds 5] [--out reports/int8_variants.json]

Each variant is quantized on `--seeds` seeded draws of training posters and compared with fp32 on
the same validation films (paired bootstrap, `benchmarks/noise.py`): IMDb mAP, top-1-in-genres,
TMDB accuracy, the activation-map identity; then speed at batch 1 against fp32 in the same run and
size. The `worst nodes` variant keeps in float the nodes whose outputs onnxruntime's QDQ debugger
(`qdq_loss_debug`) finds the noisiest on training posters. Results are printed as they come and
written as JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization.qdq_loss_debug import (
    collect_activations,
    compute_activation_error,
    create_activation_matching,
    modify_model_output_intermediate_tensors,
)

from export.quantize import (
    SERVED,
    PosterReader,
    Recipe,
    Validation,
    calibration_posters,
    draw_report,
    latency_ratio,
    prepare,
    quantize,
)
from poster_genre.classifier import GenreClassifier
from poster_genre.model import CHECKOUT_MODEL
from train.data import data_dir_from_env, imdb_dir_from_env, split_posters

REPO = Path(__file__).resolve().parents[1]
VARIANTS = {
    "min-max, 512 posters, 8-bit weights, float head (served)": SERVED,
    "v2 recipe: min-max, 128 posters, 8-bit weights, all int8": Recipe("minmax", 128, False, False),
    "min-max, 512, 8-bit weights, all int8": Recipe("minmax", 512, False, False),
    "min-max, 512, 7-bit weights (reduce_range), float head": Recipe("minmax", 512, True, True),
    "entropy, 512, 8-bit weights, float head": Recipe("entropy", 512, False, True),
    "percentile 99.999, 512, 8-bit weights, float head": Recipe("percentile", 512, False, True),
}
WORST = 8  # nodes kept in float by the debugger's ranking


def noisiest_nodes(fp32: Path, int8: Path, posters: list, folder: Path, count: int = WORST) -> list[dict]:
    """Nodes whose output activations lose most to QDQ (lowest signal-to-noise, dB) on `posters`."""
    prepared = prepare(fp32, folder)
    float_aug, qdq_aug = folder / "float_aug.onnx", folder / "qdq_aug.onnx"
    modify_model_output_intermediate_tensors(str(prepared), str(float_aug))
    modify_model_output_intermediate_tensors(str(int8), str(qdq_aug))
    classifier = GenreClassifier(fp32)
    matching = create_activation_matching(collect_activations(str(qdq_aug), PosterReader(classifier, posters)),
                                          collect_activations(str(float_aug), PosterReader(classifier, posters)))
    errors = compute_activation_error(matching)
    producers = {out: node.name for node in onnx.load(str(prepared)).graph.node for out in node.output}
    ranked = sorted((e["qdq_err"], name) for name, e in errors.items() if name in producers)
    return [{"node": producers[name], "tensor": name, "sqnr_db": round(float(sqnr), 2)}
            for sqnr, name in ranked[:count]]


def measure(name: str, recipe: Recipe, fp32: Path, train: list, validation: Validation, seeds: int,
            folder: Path) -> dict:
    """One variant on `seeds` draws: each draw's figures, then speed and size of draw 0."""
    draws = []
    for seed in range(seeds):
        target = folder / f"draw{seed}.onnx"
        cache = folder / f"calibration_{recipe.method}_{recipe.posters}_{seed}.json"
        quantize(fp32, target, calibration_posters(train, recipe.posters, seed), recipe, cache)
        report = draw_report(target, validation)
        draws.append({"seed": seed, **{k: report[k] for k in ("identity_error", "meets_rule", "passes")},
                      **{f: report["figures"][f]["difference"] for f in report["figures"]},
                      "tmdb_se": report["figures"]["tmdb_accuracy"]["se_difference"]})
        print(json.dumps({"variant": name, **draws[-1]}), flush=True)
        if seed == 0:
            speed = latency_ratio(fp32, target, validation.inputs)
            size = report["size_mb"]
            (folder / "draw0.onnx").replace(folder / "variant0.onnx")
    spread = {f: {"min": min(d[f] for d in draws), "mean": round(float(np.mean([d[f] for d in draws])), 4),
                  "max": max(d[f] for d in draws)} for f in ("imdb_mAP", "imdb_top1_in_genres", "tmdb_accuracy")}
    return {"variant": name, "recipe": asdict(recipe), "speed": speed, "size_mb": size, "spread": spread,
            "meets_rule_on_every_draw": all(d["meets_rule"] for d in draws) and speed["speedup"] >= 1.5,
            "draws": draws}


def save(out: Path, posters: int, results: list[dict]) -> None:
    """Write `results`, keeping the variants of an earlier run (with --only) that this run did not measure."""
    earlier = json.loads(out.read_text())["variants"] if out.exists() else []
    measured = {row["variant"] for row in results}
    variants = [row for row in earlier if row["variant"] not in measured] + results
    out.write_text(json.dumps({"validation_posters": posters, "variants": variants}, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fp32", type=Path, default=CHECKOUT_MODEL)
    parser.add_argument("--data-dir", type=Path, default=data_dir_from_env())
    parser.add_argument("--imdb-dir", type=Path, default=imdb_dir_from_env())
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="variant names to run (default: all, then the worst-nodes one)")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "int8_variants.json")
    args = parser.parse_args()
    _, train, val = split_posters(args.data_dir, args.imdb_dir)
    validation = Validation.load(args.fp32, val)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, recipe in VARIANTS.items():
            if args.only and name not in args.only:
                continue
            results.append(measure(name, recipe, args.fp32, train, validation, args.seeds, folder))
            if recipe == SERVED:
                worst = noisiest_nodes(args.fp32, folder / "variant0.onnx", calibration_posters(train, 16, 0), folder)
                print(json.dumps({"noisiest_nodes": worst}), flush=True)
                kept = replace(SERVED, float_nodes=tuple(w["node"] for w in worst))
                results.append(measure(f"served + {WORST} noisiest nodes in float", kept, args.fp32, train,
                                       validation, args.seeds, folder) | {"noisiest_nodes": worst})
            save(args.out, len(val), results)
    for row in results:
        print(f"{row['variant']}: speed-up {row['speed']['speedup']}x, {row['size_mb']} MB, "
              f"spread {row['spread']}, every draw meets the rule: {row['meets_rule_on_every_draw']}")


if __name__ == "__main__":
    main()
