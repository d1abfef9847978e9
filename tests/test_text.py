"""The title and year beside the poster: checked inputs, stable features, the shipped text model and fusion,
through the Python API, the CLI (catalogue CSVs) and the app's API."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from gradio_client import handle_file

from poster_genre import GenreClassifier
from poster_genre.analysis import analyse, with_text
from poster_genre.text import (
    NO_TEXT,
    TEXT_NAME,
    TITLE_LIMIT,
    TextInput,
    TextInputError,
    features,
)
from tests.conftest import MODEL, REPO, CliRun, synthetic_poster
from tests.conftest import run_cli as cli_run

needs_text = pytest.mark.skipif(not (REPO / TEXT_NAME).exists(), reason=f"no {TEXT_NAME} beside model.onnx")


@pytest.mark.parametrize("title, year, expected", [
    (None, None, NO_TEXT), ("", "", NO_TEXT), ("   ", " ", NO_TEXT),
    ("  Kill   Zone ", "1993", TextInput("Kill Zone", 1993)), ("Love in Paris", 1994.0, TextInput("Love in Paris", 1994)),
    (None, "2100", TextInput(None, 2100)), ("x" * TITLE_LIMIT, None, TextInput("x" * TITLE_LIMIT)),
])
def test_titles_and_years_are_cleaned(title, year, expected):
    assert TextInput.of(title, year) == expected


@pytest.mark.parametrize("title, year, message", [
    ("x" * (TITLE_LIMIT + 1), None, "301 characters; at most 300"), (None, "1879", "from 1880 to 2100"),
    (None, 2101, "from 1880 to 2100"), (None, "19x4", "whole number"), (None, True, "whole number"),
    (None, 1994.5, "whole number"), (42, None, "must be text"),
])
def test_odd_titles_and_years_are_refused_saying_what_is_accepted(title, year, message):
    with pytest.raises(TextInputError, match=message):
        TextInput.of(title, year)


def test_features_are_the_same_in_every_process():
    text = TextInput("Amélie — Le Fabuleux Destin", 2001)
    code = ("from poster_genre.text import TextInput, features; i, v = features(TextInput('Amélie — Le Fabuleux Destin', "
            "2001), 2 ** 18); print(i.tolist(), v.round(6).tolist())")
    outputs = {subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    indices, values = features(text, 2 ** 18)
    assert outputs == {f"{indices.tolist()} {values.round(6).tolist()}\n"}
    assert features(NO_TEXT, 2 ** 18)[0].size == 0


@pytest.fixture(scope="module")
def classifier() -> GenreClassifier:
    classifier = GenreClassifier(MODEL)
    if classifier.text is None:
        pytest.skip(f"no {TEXT_NAME} with this model's genres")
    return classifier


@needs_text
def test_without_title_or_year_every_output_is_the_posters(classifier, sample_poster):
    alone = analyse(classifier, sample_poster)
    for empty in (NO_TEXT, TextInput.of("  ", "")):
        same = analyse(classifier, sample_poster, empty)
        assert np.array_equal(same.probabilities, alone.probabilities) and np.array_equal(same.maps, alone.maps)
    assert classifier.classify(sample_poster, titles=[None], years=[""]) == classifier.classify(sample_poster)
    with pytest.raises(ValueError, match="1 posters but 2 years; give one per poster"):
        classifier.classify(sample_poster, titles=["Kill Zone"], years=[1993, 1994])


@needs_text
def test_a_title_and_year_move_the_answer_but_not_the_heatmap(classifier, sample_poster):
    alone = analyse(classifier, sample_poster)
    titled = with_text(classifier, alone, TextInput("A Nightmare on Elm Street", 1984))
    assert titled.text.inputs == ["poster", "title", "year"]
    assert not np.allclose(titled.probabilities, alone.probabilities)
    assert titled.maps is alone.maps and np.array_equal(titled.poster_probabilities, alone.probabilities)
    horror = classifier.labels.index("Horror") if "Horror" in classifier.labels else None
    if horror is not None:
        assert titled.probabilities[horror] > alone.probabilities[horror]
    year_only = with_text(classifier, alone, TextInput(year=1950))
    assert year_only.text.mode == "year" and not np.allclose(year_only.probabilities, alone.probabilities)


def test_a_model_without_a_text_model_refuses_titles_clearly(tmp_path, sample_poster):
    lonely = tmp_path / "model.onnx"
    lonely.write_bytes(MODEL.read_bytes())
    classifier = GenreClassifier(lonely)
    assert classifier.text is None
    with pytest.raises(TextInputError, match="no model.text.onnx beside model.onnx"):
        classifier.classify(sample_poster, titles=["Kill Zone"])
    assert classifier.classify(sample_poster, titles=[None])  # no title: served as before


def other_genres_text_model(path):
    """The committed text model with its card claiming other genres."""
    import onnx

    model = onnx.load(str(MODEL.with_name(TEXT_NAME)))
    for prop in model.metadata_props:
        if prop.key == "labels":
            prop.value = json.dumps(list(reversed(json.loads(prop.value))))
    onnx.save(model, str(path))
    return path


def test_a_text_model_that_does_not_fit_is_said_not_dropped_silently(tmp_path, sample_poster):
    from poster_genre import ModelNotFoundError

    (tmp_path / "model.onnx").write_bytes(MODEL.read_bytes())
    other_genres_text_model(tmp_path / TEXT_NAME)
    with pytest.warns(UserWarning, match="Titles and years are refused: the text model at .* has the genres"):
        classifier = GenreClassifier(tmp_path / "model.onnx")
    with pytest.raises(TextInputError, match="cannot use a title or year \\(the text model at .* has the genres"):
        classifier.classify(sample_poster, titles="Kill Zone")
    with pytest.raises(ModelNotFoundError, match="has the genres"):  # given explicitly: a load error
        GenreClassifier(MODEL, text_model=tmp_path / TEXT_NAME)
    (tmp_path / "junk.onnx").write_text("not a model")
    with pytest.raises(ModelNotFoundError, match="Cannot load the text model at .*junk.onnx"):
        GenreClassifier(MODEL, text_model=tmp_path / "junk.onnx")
    with pytest.raises(ModelNotFoundError, match="No text model file at"):
        GenreClassifier(MODEL, text_model=tmp_path / "absent.onnx")


def run_cli(*args: str) -> CliRun:
    """The CLI on the title and year alone (the words on the poster are tested in test_words_path)."""
    return cli_run("--no-read-words", *args, env={"POSTER_GENRE_MODEL": ""})


@needs_text
def test_a_catalogue_csv_classifies_each_row_with_its_title_and_year(tmp_path, sample_poster):
    folder = tmp_path / "catalogue"
    (folder / "img").mkdir(parents=True)
    synthetic_poster(3, (300, 450)).save(folder / "img" / "made.png")
    (folder / "img" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a whole jpeg")
    rows = [
        b"\xef\xbb\xbffile,title,year,notes",  # a BOM, and a column that is ignored
        f"{sample_poster},\"Love, Actually, in Paris\",2003,\"a, b\"".encode(),  # absolute path, quoted commas
        b"img/made.png,,,",  # relative to the CSV's folder; no title or year: the poster alone
        b"img/made.png,Caf\xe9 Society,2016,latin-1 bytes",  # not UTF-8
        b"img/missing.png,Ghost,1990,",
        b"img/broken.jpg,Broken,1990,",
        b"img/made.png,Too Late,1850,",
        b",No File,2000,",
    ]
    (folder / "films.csv").write_bytes(b"\r\n".join(rows) + b"\r\n")
    result = run_cli(str(folder / "films.csv"), "--top-k", "2")
    assert result.returncode == 1, result.stderr  # some rows could not be used; every record is still written
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 7
    titled, alone, latin, missing, broken, too_late, no_file = records
    assert titled["file"] == str(sample_poster) and titled["inputs"] == ["poster", "title", "year"]
    assert alone["file"] == str(folder / "img" / "made.png") and alone["inputs"] == ["poster"]
    assert "not UTF-8 text" in latin["error"] and "title" in latin["error"]
    assert "Cannot read the file" in missing["error"] and "damaged or truncated" in broken["error"]
    assert "from 1880 to 2100" in too_late["error"] and "names no poster file" in no_file["error"]
    alone_direct = json.loads(run_cli(str(folder / "img" / "made.png"), "--top-k", "2").stdout)
    assert alone["labels"] == alone_direct["labels"]  # a row without title or year is the poster's answer


def test_a_catalogue_without_a_file_column_is_one_clear_error_record(tmp_path):
    catalogue = tmp_path / "films.csv"
    catalogue.write_text("poster,title\nposter.jpg,Kill Zone\n")
    result = run_cli(str(catalogue))
    assert result.returncode == 1
    [record] = [json.loads(line) for line in result.stdout.splitlines()]
    assert "has no `file` column (its columns: poster, title)" in record["error"]


@needs_text
def test_csv_records_say_which_inputs_were_used(tmp_path, sample_poster):
    catalogue = tmp_path / "films.csv"
    catalogue.write_text(f"file,year\n{sample_poster},1994\n")
    rows = list(csv.DictReader(io.StringIO(run_cli(str(catalogue), "--format", "csv").stdout)))
    assert rows[0]["inputs"] == "poster|year" and rows[0]["error"] == ""


@needs_text
def test_the_api_takes_title_and_year_and_old_calls_answer_as_before(client, sample_poster):
    poster = handle_file(str(sample_poster))
    before = client.predict(poster, api_name="/predict")
    assert client.predict(poster, None, None, None, api_name="/predict") == before
    titled = client.predict(poster, title="A Nightmare on Elm Street", year=1984, api_name="/predict")
    assert titled != before and set(titled) == set(before)
    tags = client.predict(poster, title="A Nightmare on Elm Street", year="1984", read_words=False, api_name="/tags")
    assert set(tags) == {"labels", "genres", "needs_review", "inputs"} | ({"review_reason"} if tags["needs_review"] else set())
    assert tags["inputs"] == ["poster", "title", "year"]  # the words not asked for, so none, and no note either
    with pytest.raises(Exception, match="from 1880 to 2100"):
        client.predict(poster, year=3000, api_name="/predict")
    with pytest.raises(Exception, match="at most 300"):
        client.predict(poster, title="x" * 301, api_name="/tags")
