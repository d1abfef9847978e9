"""`python -m poster_genre classify` on real files, including unreadable ones."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from PIL import Image

from poster_genre import GenreClassifier, __version__
from tests.conftest import MODEL, REPO, run_cli, synthetic_poster

LABELS = GenreClassifier(MODEL).labels  # the served model's genres, from its card


def test_top_k_is_bounded_by_the_models_genres(tmp_path, sample_poster):
    result = run_cli(str(sample_poster), "--top-k", str(len(LABELS) + 1))
    assert result.returncode == 2 and result.stdout == ""
    assert f"--top-k: this model has {len(LABELS)} genres; give 1 to {len(LABELS)}, or all" in result.stderr
    assert "usage:" in result.stderr and "classify" in result.stderr
    record = json.loads(run_cli(str(sample_poster), "--top-k", "ALL").stdout)
    assert [item["label"] for item in record["labels"]] and len(record["labels"]) == len(LABELS)


def make_folder(tmp_path, sample_poster):
    folder = tmp_path / "catalogue"
    (folder / "nested").mkdir(parents=True)
    (folder / "poster.jpg").write_bytes(sample_poster.read_bytes())
    synthetic_poster(11, (300, 450)).save(folder / "nested" / "made.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a whole jpeg")
    (folder / "notes.txt").write_text("not an image, and not an image suffix either")
    return folder


def test_jsonl_records_with_an_error_record_for_the_broken_file(tmp_path, sample_poster):
    result = run_cli(str(make_folder(tmp_path, sample_poster)), "--top-k", "2", "--min-confidence", "0.99")
    assert result.returncode == 1, result.stderr  # one input could not be classified; every record is still written
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"].split("catalogue/")[1] for r in records] == ["broken.jpg", "nested/made.png", "poster.jpg"]
    broken, *good = records
    assert "error" in broken and "labels" not in broken
    for record in good:
        assert len(record["labels"]) == 2 and record["labels"][0]["label"] in LABELS
        assert record["labels"][0]["confidence"] >= record["labels"][1]["confidence"]
        assert record["needs_review"] is True  # nothing is 99% sure
        assert set(record["genres"]) <= set(LABELS)
    assert "classify" in result.stderr  # the progress bar


def test_csv_output_and_review_threshold(tmp_path, sample_poster):
    folder = make_folder(tmp_path, sample_poster)
    result = run_cli(str(folder / "poster.jpg"), str(folder / "broken.jpg"), "--format", "csv",
                     "--top-k", "all", "--min-confidence", "0")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 2
    assert rows[0]["needs_review"] == "false" and rows[0]["error"] == ""
    every = range(1, len(LABELS) + 1)
    assert sorted(rows[0][f"label_{i}"] for i in every) == sorted(LABELS)
    assert set(filter(None, rows[0]["genres"].split("|"))) <= set(LABELS)
    assert rows[1]["error"] and rows[1]["label_1"] == ""


def test_no_images_is_a_usage_error(tmp_path):
    result = run_cli(str(tmp_path))
    assert result.returncode == 2 and "no image files" in result.stderr


def test_explain_writes_one_overlay_per_poster(tmp_path, sample_poster):
    folder = make_folder(tmp_path, sample_poster)
    result = run_cli(str(folder), "--explain", str(tmp_path / "heat"))
    assert result.returncode == 1, result.stderr  # the broken file
    records = [json.loads(line) for line in result.stdout.splitlines()]
    written = sorted((tmp_path / "heat").glob("*.png"))
    assert len(written) == 2 and "explanation" not in records[0]  # none for the broken file
    for record in records[1:]:
        overlay = Image.open(record["explanation"])
        assert overlay.size[0] / overlay.size[1] == pytest.approx(
            Image.open(record["file"]).size[0] / Image.open(record["file"]).size[1], abs=0.01)
        assert record["explanation"].endswith(f"_{record['labels'][0]['label'].lower()}.png")


def test_model_resolution_and_clear_errors(tmp_path, sample_poster):
    missing = tmp_path / "missing.onnx"
    result = run_cli(str(sample_poster), "--model", str(missing))
    assert result.returncode == 2 and str(missing) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    from_env = run_cli(str(sample_poster), env={"POSTER_GENRE_MODEL": str(missing)})
    assert from_env.returncode == 2 and str(missing) in from_env.stderr
    explicit = run_cli(str(sample_poster), "--model", str(MODEL), env={"POSTER_GENRE_MODEL": str(missing)})
    assert explicit.returncode == 0, explicit.stderr  # --model wins over the environment


def test_version():
    result = subprocess.run([sys.executable, "-m", "poster_genre", "--version"], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.strip() == f"python -m poster_genre {__version__}"


def test_exit_status_is_zero_when_every_poster_is_classified(tmp_path, sample_poster):
    result = run_cli(str(sample_poster))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("args, message", [
    (["--batch-size", "0"], "--batch-size: must be at least 1"),
    (["--min-confidence", "1.5"], "--min-confidence: must be between 0 and 1"),
    (["--format", "parquet"], "give --output PATH"),
    (["--explain", "heat", "--ray"], "cannot be combined with --ray"),
    (["--actors", "2"], "--actors applies only with --ray"),
    (["--explain", "README.md"], "--explain: README.md is a file"),
    (["--output", "no-such-folder/out.jsonl"], "--output: no folder"),
])
def test_usage_errors_exit_2_with_one_message(sample_poster, args, message):
    result = run_cli(str(sample_poster), *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert "classify" in result.stderr.splitlines()[0]  # classify's usage line


def read_output(path):
    """Records from a JSONL, CSV or Parquet output file, as comparable dicts."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return [{k: v for k, v in row.items() if v is not None} for row in pq.read_table(path).to_pylist()]
    if path.suffix == ".csv":
        return list(csv.DictReader(path.open()))
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_output_file_in_each_format_holds_the_stdout_records(tmp_path, sample_poster):
    folder = make_folder(tmp_path, sample_poster)
    printed = run_cli(str(folder))
    expected = [json.loads(line) for line in printed.stdout.splitlines()]
    for suffix in (".jsonl", ".parquet"):
        written = run_cli(str(folder), "--output", str(tmp_path / f"out{suffix}"))
        assert written.returncode == 1 and written.stdout == ""
        assert read_output(tmp_path / f"out{suffix}") == expected
    as_csv = run_cli(str(folder), "--output", str(tmp_path / "out.csv"))
    assert read_output(tmp_path / "out.csv") == list(csv.DictReader(io.StringIO(
        run_cli(str(folder), "--format", "csv").stdout)))
    assert as_csv.returncode == 1
