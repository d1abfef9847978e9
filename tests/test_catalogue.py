"""What a catalogue user meets in the CLI: records joinable back to the catalogue's rows (JSONL, CSV, Parquet, local
and Ray), skipped files reported, SVGs named, heatmap files that do not pile up, misplaced --ray and --explain."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import run_cli, synthetic_poster
from tests.test_cli import read_output


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory, sample_poster):
    """A catalogue CSV with an id, an IMDb id and a `genres` column of its own; one poster on two rows, a missing one."""
    folder = tmp_path_factory.mktemp("catalogue")
    (folder / "img").mkdir()
    synthetic_poster(5, (300, 450)).save(folder / "img" / "made.png")
    (folder / "films.csv").write_text(
        "id,imdb_id,file,title,genres\n"
        f"a1,tt0109830,{sample_poster},Forrest Gump,Drama|Romance\n"
        "a2,tt0000002,img/made.png,,\n"
        "a3,tt0000003,img/made.png,Another Film,Comedy\n"
        "a4,tt0000004,img/missing.png,Ghost,Horror\n")
    return folder / "films.csv"


def test_every_column_and_the_row_number_pass_through_to_the_records(catalogue):
    result = run_cli(str(catalogue), "--top-k", "2")
    assert result.returncode == 1, result.stderr  # the missing poster
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["row"] for r in records] == [2, 3, 4, 5] and {r["catalogue"] for r in records} == {str(catalogue)}
    assert [r["id"] for r in records] == ["a1", "a2", "a3", "a4"]
    assert records[0]["imdb_id"] == "tt0109830"
    assert records[0]["catalogue_genres"] == "Drama|Romance"  # the catalogue's own genres, beside the model's
    assert list(records[0])[:6] == ["file", "catalogue", "row", "id", "imdb_id", "catalogue_genres"]
    assert records[1]["file"] == records[2]["file"] and records[1]["row"] != records[2]["row"]
    assert records[3]["error"].startswith(f"Row 5 of films.csv ({catalogue.parent / 'img' / 'missing.png'}): "
                                          "Cannot read the file")
    assert "labels" in records[0] and "title" not in records[0]  # title and year are inputs, shown in `inputs`


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_csv_and_parquet_carry_the_same_columns(catalogue, tmp_path, suffix):
    expected = [json.loads(line) for line in run_cli(str(catalogue), "--top-k", "2").stdout.splitlines()]
    run_cli(str(catalogue), "--top-k", "2", "--output", str(tmp_path / f"out{suffix}"))
    rows = read_output(tmp_path / f"out{suffix}")
    for row, record in zip(rows, expected, strict=True):
        for key in ("catalogue", "id", "imdb_id", "catalogue_genres"):
            assert row[key] == record[key]
        assert str(row["row"]) == str(record["row"])


@pytest.mark.ray
@pytest.mark.usefixtures("on_shared_ray")
def test_on_ray_the_records_carry_the_same_columns(catalogue, tmp_path):
    local = [json.loads(line) for line in run_cli(str(catalogue), "--top-k", "2").stdout.splitlines()]
    result = run_cli(str(catalogue), "--top-k", "2", "--ray", "--output", str(tmp_path / "ray.jsonl"))
    assert result.returncode == 1, result.stderr
    assert read_output(tmp_path / "ray.jsonl") == local
    run_cli(str(catalogue), "--top-k", "2", "--ray", "--format", "parquet", "--output", str(tmp_path / "parts"))
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "parts")
    assert sorted(table.column("id").to_pylist()) == ["a1", "a2", "a3", "a4"]
    assert sorted(table.column("row").to_pylist()) == [2, 3, 4, 5]


def test_a_walked_folder_reports_the_files_it_skips_and_an_svg_is_named(tmp_path, sample_poster):
    (tmp_path / "poster.jpg").write_bytes(sample_poster.read_bytes())
    (tmp_path / "notes.txt").write_text("not a poster")
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="20" height="30"></svg>'
    (tmp_path / "vector.svg").write_bytes(svg)
    (tmp_path / "vector.png").write_bytes(svg)  # an SVG under an image suffix
    result = run_cli(str(tmp_path))
    assert "skipped 2 file(s) that are not images by their suffix" in result.stderr
    assert "notes.txt" in result.stderr and "vector.svg" in result.stderr and "SVG is not supported" in result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [os.path.basename(r["file"]) for r in records] == ["poster.jpg", "vector.png"]
    assert "SVG (vector) images are not supported" in records[1]["error"]


def test_a_path_after_ray_is_not_taken_for_a_cluster_address(sample_poster):
    result = run_cli("--ray", str(sample_poster))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is not a Ray address" in result.stderr and "--ray=auto" in result.stderr


def test_an_explain_folder_that_cannot_be_made_is_a_usage_error(sample_poster, tmp_path):
    (tmp_path / "file").write_text("a file, not a folder")
    result = run_cli(str(sample_poster), "--explain", str(tmp_path / "file" / "heat"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"--explain: cannot make the folder {tmp_path / 'file' / 'heat'}" in result.stderr


def test_rerunning_explain_overwrites_its_heatmaps_and_same_named_posters_get_numbers(tmp_path, sample_poster):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "poster.jpg").write_bytes(sample_poster.read_bytes())
    heat = tmp_path / "heat"
    first = [json.loads(line) for line in run_cli(str(tmp_path / "a"), str(tmp_path / "b"), "--explain",
                                                   str(heat)).stdout.splitlines()]
    names = sorted(p.name for p in heat.iterdir())
    assert len(names) == 2 and any(name.endswith("-2.png") for name in names)  # two poster.jpg in one run
    again = [json.loads(line) for line in run_cli(str(tmp_path / "a"), str(tmp_path / "b"), "--explain",
                                                   str(heat)).stdout.splitlines()]
    assert sorted(p.name for p in heat.iterdir()) == names and again == first  # a rerun rewrites, never adds
