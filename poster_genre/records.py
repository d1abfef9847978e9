"""Catalogue records: one dict per poster, and the files they are written to (JSONL, CSV, Parquet).

A record holds `file`; for a catalogue row, `catalogue` (the CSV), `row` (its row number, the header
being row 1) and the row's other columns as they were; then either `labels` (genres with confidences,
most likely first, each with its threshold: null for a genre served as a probability only), `genres` (the
tag set), `needs_review` and, when it is true, `review_reason` (why: the top confidence is below the review
threshold, or the image is not like a film poster), `inputs` (what the answer rests on: "poster", "title" and
"year" when a catalogue gave them, "words" when the words read on the poster were used) and, when the words
were read, `words` (what they say, most confident first) or, when they could not be, `words_note` (why: the
answer is then without them), or `error` (naming the row for a catalogue row). The local CLI and the Ray
pipeline build records here, from the same analysis.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from poster_genre.analysis import Analysis, Refusal, analyse_batch, answer
from poster_genre.classifier import GenreClassifier
from poster_genre.inputs import Entry, source

FORMATS = ("jsonl", "csv", "parquet")
SUFFIXES = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}


def record(classifier: GenreClassifier, entry: Entry, result: Analysis | Refusal, top_k: int,
           min_confidence: float) -> dict:
    """The record of one poster's analysis or refusal: `file`, the catalogue's fields, then the answer's
    (`poster_genre.answer.Tagging.to_dict`) or the error, naming a catalogue's row."""
    head = {"file": entry.file, **entry.carried()}
    if isinstance(result, Refusal):
        named = entry.problem is not None or not entry.where  # a row's own problem already names the row
        refusal = result if named else replace(result, reason=f"{entry.where} ({entry.file}): {result.reason}")
        return {**head, **refusal.to_dict()}
    return {**head, **answer(classifier, result, top_k, min_confidence).to_dict()}


def records_of(classifier: GenreClassifier, entries: list[Entry], top_k: int, min_confidence: float,
               read_words: bool = False) -> list[tuple[dict, Analysis | Refusal]]:
    """The records of a batch of entries (one model run), each beside the analysis it came from."""
    sources = [Refusal(e.problem) if e.problem else source(e.file) for e in entries]
    results = analyse_batch(classifier, sources, [e.text for e in entries], read_words)
    return [(record(classifier, e, r, top_k, min_confidence), r) for e, r in zip(entries, results)]


def format_for(path: Path | str, default: str | None) -> str | None:
    """The output format a file name asks for by its suffix, else `default`."""
    return SUFFIXES.get(Path(str(path)).suffix.lower(), default)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs a cell beginning with one of these (OWASP)


def spreadsheet_safe(cell: object) -> object:
    """A CSV cell no spreadsheet runs as a formula: text beginning with `=`, `+`, `-`, `@`, a tab or a carriage
    return gets a leading `'`, as OWASP's CSV injection advice says; other text and numbers are kept."""
    return f"'{cell}" if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell


def csv_row(record: dict) -> dict:
    """A record flattened for CSV: label_i and confidence_i, genres joined with `|`, needs_review as true/false;
    a catalogue's name, row number and carried columns as they are; every text cell `spreadsheet_safe`."""
    review = record.get("needs_review")
    carried = {key: value for key, value in record.items() if key not in NESTED}
    row = {**carried, "error": record.get("error", ""),
           "needs_review": "" if review is None else str(review).lower(),
           "review_reason": record.get("review_reason") or "",
           "genres": "|".join(record.get("genres", [])), "inputs": "|".join(record.get("inputs", [])),
           "words": "|".join(word.replace("|", "/") for word in record.get("words", [])),
           "words_note": record.get("words_note", ""), "explanation": record.get("explanation", "")}
    for i, item in enumerate(record.get("labels", []), start=1):
        row[f"label_{i}"], row[f"confidence_{i}"] = item["label"], item["confidence"]
    return {column: spreadsheet_safe(cell) for column, cell in row.items()}


NESTED = ("labels", "genres", "needs_review", "review_reason", "inputs", "words", "words_note", "explanation",
          "error")  # flattened by csv_row


def csv_columns(top_k: int, carried: list[str] | None = None) -> list[str]:
    """The CSV header: file, [catalogue, row, the carried columns,] label_1, confidence_1, ..., then the rest.
    `carried` is None when no poster came from a catalogue."""
    ranked = [f"{kind}_{i}" for i in range(1, top_k + 1) for kind in ("label", "confidence")]
    return ["file", *catalogue_fields(carried), *ranked, "genres", "needs_review", "review_reason", "inputs",
            "words", "words_note", "explanation", "error"]


def catalogue_fields(carried: list[str] | None) -> list[str]:
    """The record fields a run's catalogues add: none without a catalogue, else catalogue, row and the columns."""
    return [] if carried is None else ["catalogue", "row", *carried]


def write_jsonl(records: Iterable[dict], out: TextIO) -> None:
    out.writelines(json.dumps(item) + "\n" for item in records)


def write_csv(records: Iterable[dict], out: TextIO, top_k: int, carried: list[str] | None = None,
              header: bool = True) -> None:
    """Flat CSV: file, [catalogue, row, carried columns,] label_1, confidence_1, ..., genres, inputs and words
    (`|`-joined; a `|` read on a poster becomes `/`), needs_review, review_reason, words_note, explanation, error;
    the header first unless `header` is false (rows added to a file that has it)."""
    writer = csv.DictWriter(out, csv_columns(top_k, carried), lineterminator="\n")
    if header:
        writer.writeheader()
    for item in records:
        writer.writerow(csv_row(item))


def record_schema(pyarrow, explanation: bool = False, carried: list[str] | None = None):
    """The Parquet schema of records, in record order; `explanation` only where heatmaps were written, the
    catalogue's fields (strings, the row an integer) only where a catalogue was read."""
    label = pyarrow.struct([("label", pyarrow.string()), ("confidence", pyarrow.float64()),
                            ("threshold", pyarrow.float64())])
    catalogue = [(name, pyarrow.int64() if name == "row" else pyarrow.string()) for name in catalogue_fields(carried)]
    fields = [("file", pyarrow.string()), *catalogue, ("labels", pyarrow.list_(label)),
              ("genres", pyarrow.list_(pyarrow.string())), ("needs_review", pyarrow.bool_()),
              ("review_reason", pyarrow.string()),
              ("inputs", pyarrow.list_(pyarrow.string())), ("words", pyarrow.list_(pyarrow.string())),
              ("words_note", pyarrow.string()), ("explanation", pyarrow.string()), ("error", pyarrow.string())]
    return pyarrow.schema([f for f in fields if explanation or f[0] != "explanation"])


def parquet_modules():
    """pyarrow and pyarrow.parquet, or a clear ImportError saying how to get them."""
    try:
        import pyarrow
        from pyarrow import parquet
    except ImportError as error:
        raise ImportError('Parquet output needs pyarrow: pip install "poster-genre[ray]" (or pyarrow).') from error
    return pyarrow, parquet


def write(records: Iterable[dict], out: TextIO, fmt: str, top_k: int, carried: list[str] | None = None,
          header: bool = True) -> None:
    """Records to an open text stream as JSONL or CSV (with its header unless `header` is false); `carried`: the
    catalogue columns (None: no catalogue). The CLI's output files are written by `poster_genre.runs`, a batch at a
    time."""
    write_csv(records, out, top_k, carried, header) if fmt == "csv" else write_jsonl(records, out)
