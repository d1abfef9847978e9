"""The words printed on a poster, read by the real OCR engine and used through the one analysis path: the Python API,
the CLI in every format, a local Ray, the app's API and the page in Chromium, with the served model (or, for a served
model trained before the words model, `conftest.with_words_model`: a real text model with a words branch, built by the
exporter)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from gradio_client import Client, handle_file

from poster_genre import GenreClassifier, cli
from poster_genre.analysis import analyse, answer, with_text
from poster_genre.text import NO_TEXT, TextInput
from tests.conftest import REPO, AppServer, CliRun, free_port, synthetic_poster
from tests.conftest import run_cli as cli_run
from tests.test_words import lettered

pytest.importorskip("rapidocr", reason="RapidOCR is not installed (pip install -r requirements-train.txt)")
WORDS = ["ZOMBIE", "NIGHTMARE"]


@pytest.fixture(scope="module")
def lettered_poster(tmp_path_factory) -> str:
    return lettered(tmp_path_factory.mktemp("lettered") / "poster.png", WORDS)


@pytest.fixture(scope="module")
def reader(words_model) -> GenreClassifier:
    return GenreClassifier(words_model)


def test_the_words_are_read_from_the_same_image_and_used_but_the_heatmap_stays_the_posters(reader, lettered_poster):
    alone, read = analyse(reader, lettered_poster), analyse(reader, lettered_poster, read_words=True)
    assert reader.reads_words and {w.upper() for w in read.read_texts} == set(WORDS)
    assert read.text.inputs == ["poster", "words"] and alone.text.inputs == ["poster"] and alone.words is None
    assert not np.allclose(read.probabilities, alone.probabilities)
    assert np.array_equal(read.poster_probabilities, alone.probabilities) and np.array_equal(read.maps, alone.maps)
    for word in read.words:  # boxes on the kept image, inside it
        assert all(0 <= x <= read.image.width and 0 <= y <= read.image.height for x, y in word.box)
    both = with_text(reader, read, TextInput.of("Zombie Strippers", 2008))
    assert both.text.inputs == ["poster", "title", "year", "words"]
    assert np.array_equal(with_text(reader, read, NO_TEXT, use_words=False).probabilities, alone.probabilities)


def test_without_words_or_title_the_answers_are_exactly_the_poster_models(reader, lettered_poster):
    off = reader.classify(lettered_poster, read_words=False)
    poster_only = analyse(reader, lettered_poster)
    assert off == [answer(reader, poster_only)] and poster_only.text.inputs == ["poster"]
    assert reader.classify(lettered_poster) != off  # the default reads them: this model has a words model


def test_a_poster_with_no_text_is_answered_by_the_poster(reader, tmp_path):
    plain = tmp_path / "plain.png"
    synthetic_poster(3, (300, 450)).save(plain)
    read = analyse(reader, plain, read_words=True)
    assert read.words == () and read.text.inputs == ["poster"]
    assert np.array_equal(read.probabilities, read.poster_probabilities)


def run_cli(*args: str, env: dict | None = None) -> CliRun:
    return cli_run(*args, env={"POSTER_GENRE_MODEL": "", **(env or {})})


def test_the_cli_records_the_words_in_every_format(words_model, lettered_poster, tmp_path):
    result = run_cli(lettered_poster, "--model", str(words_model))
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["inputs"] == ["poster", "words"] and {w.upper() for w in record["words"]} == set(WORDS)
    off = json.loads(run_cli(lettered_poster, "--model", str(words_model), "--no-read-words").stdout)
    assert off["inputs"] == ["poster"] and "words" not in off and off["labels"] != record["labels"]
    rows = list(csv.DictReader(io.StringIO(run_cli(lettered_poster, "--model", str(words_model), "--format",
                                                   "csv").stdout)))
    assert {w.upper() for w in rows[0]["words"].split("|")} == set(WORDS) and rows[0]["inputs"] == "poster|words"
    pyarrow = pytest.importorskip("pyarrow.parquet")
    assert run_cli(lettered_poster, "--model", str(words_model), "--output", str(tmp_path / "r.parquet")).returncode == 0
    table = pyarrow.read_table(tmp_path / "r.parquet").to_pylist()
    assert {w.upper() for w in table[0]["words"]} == set(WORDS) and table[0]["words_note"] is None


@pytest.fixture(scope="module")
def poster_only_model(tmp_path_factory) -> str:
    """The served image model alone, with no text model beside it: it cannot use words (nor titles)."""
    folder = tmp_path_factory.mktemp("poster_only")
    shutil.copy(REPO / "model.onnx", folder / "model.onnx")
    return str(folder / "model.onnx")


def test_a_model_without_a_words_model_reads_them_only_when_asked_and_says_they_are_unused(lettered_poster,
                                                                                           poster_only_model):
    default = json.loads(run_cli(lettered_poster, "--model", poster_only_model).stdout)
    assert "words" not in default and default["inputs"] == ["poster"]
    asked = run_cli(lettered_poster, "--model", poster_only_model, "--read-words")
    record = json.loads(asked.stdout)
    assert {w.upper() for w in record["words"]} == set(WORDS) and record["inputs"] == ["poster"]
    assert "has no words model" in asked.stderr


def test_an_engine_that_fails_on_an_image_leaves_the_answer_without_words_and_says_so(words_model, lettered_poster):
    result = run_cli(lettered_poster, "--model", str(words_model), env={"POSTER_GENRE_WORDS_SECONDS": "0.000001"})
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["inputs"] == ["poster"] and "words" not in record
    assert "could not be read" in record["words_note"] and "took longer" in record["words_note"]


@pytest.mark.ray
@pytest.mark.usefixtures("on_shared_ray")
def test_ray_reads_the_words_in_its_actors(words_model, lettered_poster):
    pytest.importorskip("ray", reason="Ray is not installed")
    patient = {"POSTER_GENRE_WORDS_SECONDS": "600"}  # a loaded machine must not turn this into the timeout's test
    local = json.loads(run_cli(lettered_poster, "--model", str(words_model), env=patient).stdout)
    remote = json.loads(run_cli(lettered_poster, "--model", str(words_model), "--ray", env=patient).stdout)
    assert remote == local and "words" in remote["inputs"]


@pytest.fixture(scope="module")
def words_server(words_model, examples_dir):
    server = AppServer(examples_dir, free_port(), "--model", str(words_model))
    yield server
    server.stop()


def test_the_api_reads_the_words_by_default_and_not_when_told(words_server, reader, lettered_poster):
    client = Client(words_server.url, verbose=False)
    tags = client.predict(handle_file(lettered_poster), api_name="/tags")
    assert tags["inputs"] == ["poster", "words"] and {w.upper() for w in tags["words"]} == set(WORDS)
    plain = client.predict(handle_file(lettered_poster), read_words=False, api_name="/tags")
    assert plain["inputs"] == ["poster"] and "words" not in plain
    expected = analyse(reader, lettered_poster).poster_probabilities
    answer = client.predict(handle_file(lettered_poster), read_words=False, api_name="/predict")
    assert np.allclose([answer[g] for g in reader.labels], expected, atol=1e-4)
    with pytest.raises(Exception, match="read_words must be true or false"):
        client.predict(handle_file(lettered_poster), read_words="yes", api_name="/tags")


@pytest.mark.load
def test_eight_callers_one_sending_text_screenshots_each_poster_is_answered_with_its_words(
        words_server, lettered_poster, tmp_path):
    from benchmarks.hard_images import text_screenshot

    document = tmp_path / "document.png"
    text_screenshot().save(document)

    def caller(image, rounds: int) -> list[dict]:
        client = Client(words_server.url, verbose=False)
        return [client.predict(handle_file(str(image)), api_name="/tags") for _ in range(rounds)]

    with ThreadPoolExecutor(8) as pool:
        screenshots = pool.submit(caller, document, 6)
        posters = [pool.submit(caller, lettered_poster, 3) for _ in range(7)]
        answers = [answer for future in posters for answer in future.result()]
        screenshots = screenshots.result()
    assert len(answers) == 21 and all({w.upper() for w in answer["words"]} == set(WORDS) and
                                      "words_note" not in answer for answer in answers)
    assert all(answer.get("words") or answer.get("words_note") for answer in screenshots)


def test_the_page_reads_the_words_shows_them_their_boxes_on_request_and_what_they_changed(words_server, lettered_poster):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed")
    from benchmarks.appserver import CHROMIUM, FLAGS, LABEL, open_page

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        open_page(page, words_server.url)
        assert page.is_checked("#read-words input")
        page.set_input_files("input[type=file]", lettered_poster)
        page.wait_for_selector(LABEL, timeout=60_000)
        page.wait_for_selector("#words:has-text('Words read on the poster')", timeout=60_000)
        assert set(WORDS) <= set(page.inner_text("#words").upper().replace("·", " ").split())
        assert "What the words changed" in page.inner_text("#changed")
        assert page.locator("#boxes img").count() == 0  # the boxes are drawn on request only
        page.click("#word-boxes button")
        boxes = page.wait_for_selector("#boxes img[src]", timeout=60_000)
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=boxes, timeout=60_000)
        page.uncheck("#read-words input")
        page.wait_for_function("() => !document.querySelector('#words').innerText.trim()", timeout=60_000)
        page.wait_for_function("() => !document.querySelector('#changed').innerText.trim()", timeout=60_000)
        page.wait_for_function("() => !document.querySelector('#boxes img')", timeout=60_000)
        browser.close()


def test_the_card_says_what_the_words_can_and_cannot_tell(words_model):
    from poster_genre.card_markdown import card_markdown

    card = GenreClassifier(words_model).card
    if not card.text.get("words_model"):
        pytest.skip("the served model was trained before the words model: its card has no words model")
    about = card_markdown(card)
    assert "**The words on the poster**" in about and "a star's name carries" in about and "misread" in about
    assert f"{card.text['words_model']['training_films_with_words']:,} training films" in about


@pytest.mark.parametrize("read_words", [True, False], ids=["with the words", "without"])
def test_the_python_answer_is_the_clis_record(reader, words_model, lettered_poster, tmp_path, read_words):
    """`classify(...)[0].to_dict()` is the CLI's JSONL record for the same poster and options, but for `file`."""
    out = tmp_path / "records.jsonl"
    flag = "--read-words" if read_words else "--no-read-words"
    assert cli.main(["classify", lettered_poster, "--model", str(words_model), "--top-k", "all", flag,
                     "--output", str(out)]) == 0
    record = json.loads(out.read_text())
    [tagging] = reader.classify([lettered_poster], top_k=None, read_words=read_words)
    assert {"file": lettered_poster, **tagging.to_dict()} == record
    assert ("words" in record) is read_words and len(record["labels"]) == len(reader.labels)
