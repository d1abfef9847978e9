"""Many posters at once: `/classify_many` through the real gradio_client and the page's "Many posters" tab in
headless Chromium, each giving the CLI's records for the same files; the limit; a catalogue CSV among the files."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from gradio_client import handle_file

from poster_genre.many import MAX_POSTERS
from tests.conftest import DATA_DIR, HAS_DATA, run_cli, synthetic_poster
from tests.test_browser import sync_api  # noqa: F401
from tests.test_page_layout import DESKTOP, fresh_page

needs_chromium = pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")

POSTERS = 20


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> list[Path]:
    """20 posters (the shared data's where it is here, else generated) and a broken file, in one folder."""
    folder = tmp_path_factory.mktemp("stack")
    sources = sorted((DATA_DIR / "posters").glob("*.jpg"))[:POSTERS] if HAS_DATA else []
    for index in range(POSTERS):
        target = folder / f"{index:02d}-{sources[index].name if sources else 'made.png'}"
        if sources:
            shutil.copy(sources[index], target)
        else:
            synthetic_poster(index, (300, 450)).save(target)
    (folder / "99-broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a whole jpeg")
    return sorted(folder.iterdir())


@pytest.fixture(scope="module")
def cli_records(stack) -> list[dict]:
    result = run_cli(*map(str, stack))
    assert result.returncode == 1, result.stderr  # the broken file
    return [{**record, "file": Path(record["file"]).name} for record in map(json.loads, result.stdout.splitlines())]


def test_classify_many_gives_the_clis_records_with_an_error_for_the_broken_file(client, stack, cli_records):
    records = client.predict([handle_file(str(p)) for p in stack], api_name="/classify_many")
    assert len(records) == POSTERS + 1 and records == cli_records
    assert "error" in records[-1] and all("error" not in r for r in records[:-1])


def test_classify_many_takes_titles_years_top_k_and_read_words(client, stack):
    posters = [handle_file(str(p)) for p in stack[:2]]
    records = client.predict(posters, ["Night of the Living Dead", None], [1968, None], None, False,
                             api_name="/classify_many")
    assert records[0]["inputs"] == ["poster", "title", "year"] and records[1]["inputs"] == ["poster"]
    assert all(len(r["labels"]) == len(records[0]["labels"]) > 3 and "words" not in r for r in records)
    expected = run_cli(str(stack[0]), str(stack[1]), "--top-k", "all", "--no-read-words")
    assert records[1] == {**json.loads(expected.stdout.splitlines()[1]), "file": stack[1].name}
    with pytest.raises(Exception, match="one entry per poster"):
        client.predict(posters, ["only one"], api_name="/classify_many")


def test_more_than_the_limit_is_refused_pointing_to_the_cli(client, tmp_path):
    poster = tmp_path / "tiny.png"
    synthetic_poster(1, (40, 60)).save(poster)
    with pytest.raises(Exception, match=f"At most {MAX_POSTERS} posters.*command line"):
        client.predict([handle_file(str(poster))] * (MAX_POSTERS + 1), api_name="/classify_many")


def test_a_catalogue_among_the_files_names_them_with_titles_and_years(client, stack, tmp_path):
    catalogue = tmp_path / "films.csv"
    catalogue.write_text(f"file,title,year,shelf\n{stack[0].name},Kill Zone,1993,A1\nnot-dropped.jpg,Gone,2001,A2\n")
    dropped = [catalogue, stack[0], stack[1]]
    page_style = client.predict([handle_file(str(p)) for p in dropped], api_name="/classify_many")
    assert [r["file"] for r in page_style] == [catalogue.name, stack[0].name, stack[1].name]  # the API: files as sent
    assert "error" in page_style[0]  # a CSV is not a poster to the API


@needs_chromium
def test_the_page_tags_a_stack_shows_progress_and_rows_and_downloads_the_clis_records(
        browser, app_server, stack, cli_records, tmp_path):
    page = fresh_page(browser, app_server, DESKTOP)
    page.get_by_role("tab", name="Many posters").click()
    page.set_input_files("#many-files input[type=file]", [str(p) for p in stack])
    page.wait_for_selector("#many-files [aria-label='99-broken.jpg']", timeout=60_000)
    page.click("#many-start")
    page.wait_for_selector("#many-table .progress-text, #many-table .progress-level, #many-table .eta-bar",
                           timeout=60_000)  # a progress bar while it runs
    page.wait_for_function(f"() => document.querySelectorAll('#many-table tbody tr').length === {POSTERS + 1}",
                           timeout=180_000)
    rows = page.locator("#many-table tbody tr").all_inner_texts()
    assert [row.split("\t")[0].strip() or row.split("\t")[1].strip() for row in rows][-1].endswith("broken.jpg")
    assert "Not classified" in rows[-1] and sum("Not classified" in row for row in rows) == 1
    downloads = {}
    for link in page.locator("#many-downloads a[download]").all():
        with page.expect_download() as started:
            link.click()
        target = tmp_path / started.value.suggested_filename
        started.value.save_as(target)
        downloads[target.suffix] = target
    assert set(downloads) == {".csv", ".jsonl"}
    assert [json.loads(line) for line in downloads[".jsonl"].read_text().splitlines()] == cli_records
    written = list(csv.DictReader(io.StringIO(downloads[".csv"].read_text())))
    cli_csv = list(csv.DictReader(io.StringIO(run_cli(*map(str, stack), "--format", "csv").stdout)))
    assert written == [{**row, "file": Path(row["file"]).name} for row in cli_csv]
    page.close()


@needs_chromium
def test_the_page_reads_a_catalogue_dropped_with_the_posters(browser, app_server, stack, tmp_path):
    catalogue = tmp_path / "films.csv"
    catalogue.write_text(f"file,title,year\n{stack[0].name},Kill Zone,1993\nnot-dropped.jpg,Gone,2001\n")
    page = fresh_page(browser, app_server, DESKTOP)
    page.get_by_role("tab", name="Many posters").click()
    page.set_input_files("#many-files input[type=file]", [str(catalogue), str(stack[0]), str(stack[1])])
    page.wait_for_selector("#many-files [aria-label='films.csv']", timeout=60_000)
    page.click("#many-start")
    page.wait_for_function("() => document.querySelectorAll('#many-table tbody tr').length === 3", timeout=120_000)
    rows = page.locator("#many-table tbody tr").all_inner_texts()
    assert "not among the files dropped" in rows[1] and stack[1].name in rows[2]
    page.close()



def test_a_batch_waits_while_a_single_poster_is_answered():
    import threading

    from poster_genre.fairness import SinglesFirst

    gate, order = SinglesFirst(), []
    with gate.single():
        batch = threading.Thread(target=lambda: (gate.batch_turn(), order.append("batch")))
        batch.start()
        batch.join(0.2)
        order.append("single done")
    batch.join(5)
    assert order == ["single done", "batch"]
