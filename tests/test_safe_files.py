"""Words written by strangers: every CSV the project writes neutralises cells a spreadsheet would run (OWASP's CSV
injection advice), in the words read, titles and catalogue columns alike; JSONL and Parquet keep the text exact."""

from __future__ import annotations

import csv
import json

import pytest
from PIL import Image, ImageDraw, ImageFont

from poster_genre import GenreClassifier
from poster_genre.records import FORMULA_STARTS
from tests.conftest import MODEL, run_cli
from tests.test_cli import read_output

FORMULA = '=HYPERLINK("http://x.example")'


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """A poster printed with a formula, and a catalogue naming it with a formula for a title and in its columns."""
    folder = tmp_path_factory.mktemp("formulas")
    poster = Image.new("RGB", (500, 750), (20, 20, 40))
    draw = ImageDraw.Draw(poster)
    draw.text((20, 100), FORMULA, font=ImageFont.load_default(size=34), fill="white")
    draw.text((60, 500), "NIGHT OF FEAR", font=ImageFont.load_default(size=56), fill=(255, 200, 0))
    poster.save(folder / "formula.png")
    rows = [["file", "title", "year", "note", "shelf"],
            ["formula.png", "+cmd|' /C calc'!A0", "1999", "@SUM(1+1)", "\tTab"],
            ["formula.png", "Night of Fear", "1999", "-2+3", "\rReturn"]]
    with open(folder / "films.csv", "w", newline="") as out:
        csv.writer(out).writerows(rows)
    return folder


def runs_a_formula(cell: str) -> bool:
    return cell.startswith(FORMULA_STARTS)


def test_a_poster_printed_with_a_formula_gives_csv_cells_no_spreadsheet_runs(catalogue, tmp_path):
    if not GenreClassifier(MODEL).words_wanted():
        pytest.skip("the served model reads no words here")
    outputs = {suffix: tmp_path / f"out{suffix}" for suffix in (".csv", ".jsonl", ".parquet")}
    for path in outputs.values():
        assert run_cli(str(catalogue / "films.csv"), "--output", str(path)).returncode == 0
    exact = read_output(outputs[".jsonl"])
    assert any(word.startswith("=HYPERLINK") for word in exact[0]["words"])  # read as printed, kept exact
    assert [r["note"] for r in exact] == ["@SUM(1+1)", "-2+3"] and exact[0]["shelf"] == "\tTab"
    assert read_output(outputs[".parquet"]) == exact
    rows = list(csv.reader(outputs[".csv"].open(newline="")))
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if runs_a_formula(cell)], cells
    written = dict(zip(rows[0], rows[1]))
    assert written["note"] == "'@SUM(1+1)" and written["shelf"] == "'\tTab"
    assert "=HYPERLINK" in written["words"] and json.dumps(rows[2]).count("'-2+3") == 1


@pytest.mark.ray
@pytest.mark.usefixtures("on_shared_ray")
def test_ray_csv_parts_are_as_safe(catalogue, tmp_path):
    result = run_cli(str(catalogue / "films.csv"), "--ray", "--format", "csv", "--output", str(tmp_path / "parts"))
    assert result.returncode == 0, result.stderr
    cells = [cell for part in (tmp_path / "parts").glob("*.csv") for row in csv.reader(part.open(newline=""))
             for cell in row]
    assert "'@SUM(1+1)" in cells and not [cell for cell in cells if runs_a_formula(cell)], cells
