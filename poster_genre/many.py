"""Many posters at once: the page's "Many posters" tab and the `/classify_many` endpoint, each answering with the
CLI's records (`poster_genre.records`), one per poster in the order given, a refused file a record with `error`.

A run holds at most MAX_POSTERS posters (more is refused, pointing to the CLI); it tags one poster at a time and
gives way to single-poster requests between posters (`poster_genre.fairness`), so a long run never holds a single
poster back. A catalogue CSV among the files names the posters dropped with it (by file name) and gives their titles
and years, as the CLI's catalogues do. Needs Gradio (`pip install "poster-genre[app]"`).
"""

# No `from __future__ import annotations`: gr.api reads `classify_many`'s types.
import base64
import html
import io
from collections.abc import Callable, Sequence
from pathlib import Path

import gradio as gr
from gradio.data_classes import FileData

from poster_genre.analysis import Analysis, Refusal
from poster_genre.cache import cache_folder
from poster_genre.classifier import GenreClassifier
from poster_genre.fairness import SinglesFirst
from poster_genre.inputs import Entry, carried_columns, read_catalogue
from poster_genre.page import refuse, sent_read_words, sent_top_k
from poster_genre.records import records_of, write
from poster_genre.rules import MIN_CONFIDENCE

MAX_POSTERS = 100  # posters a run (its time and memory on 2 cores: docs/benchmarks.md)
TOP_K = 3  # genres listed per record, as the CLI's default
THUMBNAIL = 72  # px: the table's thumbnails' longer side
CLI_HINT = ('for more, use the command line: pip install "poster-genre[words]", then '
            "poster-genre classify FOLDER --output tags.csv")


class TooManyPostersError(ValueError):
    """A run over MAX_POSTERS posters; the message says the limit and points to the CLI."""


def page_entries(files: Sequence[str]) -> list[Entry]:
    """The files dropped on the page as entries: each catalogue CSV's rows (naming posters dropped with it by file
    name), then the posters no catalogue named, in the order dropped."""
    posters = [file for file in files if Path(file).suffix.lower() != ".csv"]
    by_name = {}
    for file in posters:
        by_name.setdefault(Path(file).name, file)
    entries, named = [], set()
    for catalogue in (file for file in files if Path(file).suffix.lower() == ".csv"):
        for row in read_catalogue(Path(catalogue)):
            named.add(Path(row.file).name)
            entries.append(dropped_row(row, by_name.get(Path(row.file).name), Path(catalogue).name))
    return entries + [Entry(file) for file in posters if Path(file).name not in named]


def dropped_row(row: Entry, poster: str | None, catalogue: str) -> Entry:
    """A catalogue row pointed at the poster dropped with it (or a problem saying it was not dropped)."""
    problem = row.problem
    if problem is None and poster is None:
        problem = f"Row {row.row} of {catalogue}: its poster {Path(row.file).name} was not among the files dropped."
    return Entry(poster or row.file, row.title, row.year, problem, catalogue, row.row, row.columns)


def per_poster(given: list | None, name: str, count: int) -> list:
    """Titles or years as one per poster, or a refusal saying what to send."""
    if given is None:
        return [None] * count
    if not isinstance(given, list) or len(given) != count:
        raise refuse(f"{name} must be a list with one entry per poster ({count}; None for none), not {given!r:.80}.")
    return given


def sent_entry(index: int, poster: object, title: object, year: object) -> Entry:
    """An API item as an entry: its uploaded file, or a problem saying how to send one."""
    if isinstance(poster, dict) and poster.get("path"):
        return Entry(poster["path"], title, year)
    return Entry(f"item {index}", problem=f"Item {index} is not an uploaded file; send handle_file('poster.jpg').")


class ManyPosters:
    """Runs of many posters over one classifier, giving way to single posters (`gate`)."""

    def __init__(self, classifier: GenreClassifier, gate: SinglesFirst) -> None:
        self.classifier = classifier
        self.gate = gate

    def run(self, entries: list[Entry], top_k: int, read_words: bool, done: Callable[[int], None] | None = None
            ) -> list[tuple[dict, Analysis | Refusal]]:
        """Each entry's record (its `file` the name it was sent with) beside its analysis, one poster at a time."""
        if len(entries) > MAX_POSTERS:
            raise TooManyPostersError(f"At most {MAX_POSTERS} posters at once here, not {len(entries)}; {CLI_HINT}.")
        answers = []
        for index, entry in enumerate(entries):
            self.gate.batch_turn()
            ((item, result),) = records_of(self.classifier, [entry], top_k, MIN_CONFIDENCE, read_words)
            answers.append(({**item, "file": Path(entry.file).name}, result))
            if done is not None:
                done(index + 1)
        return answers

    def classify_many(self, posters: list[FileData], titles: list[str | None] | None = None,
                      years: list[int | str | None] | None = None, top_k: int | None = TOP_K,
                      read_words: bool = True) -> list[dict]:
        """Tag up to 100 posters: the CLI's record of each (`file` as sent, `labels` with the top_k genres, `genres`,
        `needs_review`, `inputs`, `words`, ...), in order; a poster that cannot be tagged is a record with `error`.
        `titles` and `years`: one per poster (None for none); `top_k`: genres listed (None: every genre; default
        3, as the CLI); `read_words`: read the words on each poster (default true, where the model has a words
        model)."""
        if not isinstance(posters, list) or not posters:
            raise refuse("Send a list of poster files: client.predict([handle_file('a.jpg'), ...], "
                         "api_name='/classify_many').")
        texts = [per_poster(given, name, len(posters)) for name, given in (("titles", titles), ("years", years))]
        count = sent_top_k(top_k, len(self.classifier.labels))
        wanted = sent_read_words(read_words) and self.classifier.words_wanted()
        entries = [sent_entry(index, poster, *text) for index, (poster, *text) in enumerate(zip(posters, *texts))]
        try:
            return [item for item, _ in self.run(entries, count, wanted)]
        except TooManyPostersError as error:
            raise refuse(str(error)) from None

    def table(self, files: list[str] | None, read_words: bool,
              progress: gr.Progress = gr.Progress()  # noqa: B008 (how Gradio hands a handler its progress bar)
              ) -> tuple[str, list[str] | None]:
        """The page's run: a table of the posters dropped (a row each, in order) and its records as CSV and JSONL."""
        if not files:
            return "", None
        entries = page_entries(files)
        total = len(entries)
        progress((0, total), desc="Tagging posters", unit="posters")
        try:
            answers = self.run(entries, TOP_K, bool(read_words) and self.classifier.words_wanted(),
                               lambda done: progress((done, total), desc="Tagging posters", unit="posters"))
        except TooManyPostersError as error:
            raise gr.Error(str(error), print_exception=False) from None
        records = [item for item, _ in answers]
        return table_html(answers), downloads(records, carried_columns(entries) if any(e.catalogue for e in entries)
                                              else None)


def downloads(records: list[dict], carried: list[str] | None) -> list[str]:
    """The records as the CLI writes them, CSV and JSONL, in a folder of Gradio's cache (gone at its cache age)."""
    folder = cache_folder("many-")
    paths = []
    for fmt in ("csv", "jsonl"):
        paths.append(str(folder / f"poster-genres.{fmt}"))
        with open(paths[-1], "w", newline="", encoding="utf-8") as out:
            write(records, out, fmt, TOP_K, carried)
    return paths


def thumbnail(result: Analysis | Refusal) -> str:
    """A small JPEG of the poster as a data URL (empty for a refused file)."""
    if not isinstance(result, Analysis):
        return ""
    small = result.image.convert("RGB")
    small.thumbnail((THUMBNAIL, THUMBNAIL))
    data = io.BytesIO()
    small.save(data, "JPEG", quality=80)
    return (f'<img alt="" width="{small.width}" height="{small.height}" '
            f'src="data:image/jpeg;base64,{base64.b64encode(data.getvalue()).decode()}">')


def table_html(answers: list[tuple[dict, Analysis | Refusal]]) -> str:
    """One row per poster: thumbnail, name, tags, most likely genre, review, words; every text escaped (the words on
    a poster and a catalogue's cells are whatever their makers wrote)."""
    head = "".join(f"<th>{name}</th>" for name in ("", "Poster", "Tags", "Most likely", "Needs review", "Words read"))
    rows = [f"<tr>{row_cells(item, result)}</tr>" for item, result in answers]
    return (f'<div class="many-scroll"><table class="many-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def row_cells(item: dict, result: Analysis | Refusal) -> str:
    text = html.escape
    name = f"<td>{thumbnail(result)}</td><td>{text(item['file'])}</td>"
    if "error" in item:
        return f'{name}<td colspan="4" class="refused">Not classified: {text(item["error"])}</td>'
    top = item["labels"][0]
    review = f"yes: {text(item['review_reason'])}" if item["needs_review"] else "no"
    words = " · ".join(text(word) for word in item.get("words", [])) or text(item.get("words_note", ""))
    return (f"{name}<td>{text(', '.join(item['genres'])) or 'none'}</td>"
            f"<td>{text(top['label'])} {top['confidence']:.0%}</td><td>{review}</td><td>{words}</td>")


def many_posters_tab(many: ManyPosters) -> None:
    """The "Many posters" tab: files in (posters, and optionally a catalogue CSV), a table and two downloads out."""
    gr.Markdown(f"Drop up to {MAX_POSTERS} posters at once (and, if you like, a catalogue CSV naming them in a `file` "
                "column, with `title` and `year` columns). Each gets a row; the downloads hold the command line's "
                f"records for them. {CLI_HINT[0].upper()}{CLI_HINT[1:]}.")
    files = gr.File(file_count="multiple", file_types=["image", ".csv"], label="Posters (and a catalogue CSV)",
                    elem_id="many-files")
    reads = many.classifier.words_wanted()
    read_words = gr.Checkbox(reads, label="Read the words on the posters", visible=reads, elem_id="many-read-words")
    start = gr.Button("Tag them", variant="primary", elem_id="many-start")
    table = gr.HTML(elem_id="many-table")
    saved = gr.File(label="Records (CSV and JSONL, as the command line writes them)", interactive=False,
                    elem_id="many-downloads")
    start.click(many.table, [files, read_words], [table, saved], api_visibility="undocumented",
                concurrency_id="many", concurrency_limit=1, show_progress_on=table)
    gr.api(many.classify_many, api_name="classify_many", concurrency_id="many", concurrency_limit=1)
