"""Placeholders and non-posters need review: generated with Pillow (nothing downloaded), flagged through the real
CLI in every format, while the example posters are not."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from benchmarks.non_posters import non_posters
from poster_genre import GenreClassifier
from poster_genre.review import measurements
from tests.conftest import MODEL, CliRun, require_card, run_cli

parquet = pytest.importorskip("pyarrow.parquet")


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    require_card(GenreClassifier().card, "review")
    folder = tmp_path_factory.mktemp("non-posters")
    for i, image in enumerate(non_posters().values()):
        image.save(folder / f"{i:02d}.png")
    return folder


def classify(*args: str) -> CliRun:
    return run_cli(*args, "--min-confidence", "0")


def test_the_measurements_of_a_blank_and_of_noise():
    blank = np.full((1, 390, 260, 3), 128.0)
    noise = np.random.default_rng(0).integers(0, 256, (1, 390, 260, 3)).astype(np.float32)
    [flat], [loud] = measurements(blank), measurements(noise)
    assert flat == {"flat_share": 1.0, "colours": 1, "detail": 0.0, "edges": 0.0}
    assert loud["flat_share"] < 0.01 and loud["colours"] > 1000 and loud["detail"] > 40 and loud["edges"] > 0.5


@pytest.mark.slow
def test_generated_non_posters_are_flagged_and_still_classified(images):
    result = classify(str(images), "--top-k", "3")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == len(non_posters())
    flagged = [r for r in records if r["needs_review"]]
    assert len(flagged) >= 0.9 * len(records), [r["file"] for r in records if not r["needs_review"]]
    for record in flagged:
        assert "not like a film poster" in record["review_reason"] and len(record["labels"]) == 3


def test_the_example_posters_are_not_flagged(examples_dir):
    result = classify(str(examples_dir))
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records and all(r["needs_review"] is False and "review_reason" not in r for r in records), records


def test_review_reason_and_thresholds_in_csv_and_parquet(images, tmp_path):
    flat = str(images / "00.png")
    rows = list(csv.DictReader(io.StringIO(classify(flat, "--format", "csv").stdout)))
    assert rows[0]["needs_review"] == "true" and "one colour" in rows[0]["review_reason"]
    classify(flat, "--output", str(tmp_path / "out.parquet"))
    [record] = parquet.read_table(tmp_path / "out.parquet").to_pylist()
    assert "one colour" in record["review_reason"]
    thresholds = GenreClassifier(MODEL).card.thresholds
    assert all(item["threshold"] == thresholds[item["label"]] for item in record["labels"])
