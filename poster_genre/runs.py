"""Catalogue runs that survive a crash: `classify --output FILE` is written a batch at a time, with a progress file
beside it (`FILE.progress.json`), so that `--resume` continues where a stopped run left off.

Each batch's records are appended in one write and flushed to disk before the progress file (replaced whole)
counts them, so a run stopped at any point, even by SIGKILL, leaves whole records and a count of them; a resumed
run cuts whatever follows the counted records and writes the rest, in order, each input's record once. JSONL and
CSV are written in place; Parquet, a file written whole, is gathered as JSONL beside it (`FILE.partial.jsonl`) and
written when the last record is in. The progress file also holds the command that shapes the records (the inputs,
the model's files, the options): resuming another command is refused, saying what differs.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from poster_genre.inputs import Entry
from poster_genre.records import parquet_modules, record_schema, write

PROGRESS_SUFFIX = ".progress.json"
PARTIAL_SUFFIX = ".partial.jsonl"
PARQUET_CHUNK = 4096  # records per Parquet row group when the gathered records are written


class RunOutputError(ValueError):
    """An output that cannot be written or resumed as asked; the message says why and what to do."""


def run_command(entries: Sequence[Entry], model_files: Iterable[Path], options: dict) -> dict:
    """What shapes a run's records: its inputs (each file, title, year and catalogue row, in order), the model's
    files (SHA-256) and the options given (top_k, min_confidence, read_words, ...)."""
    inputs = hashlib.sha256()
    for entry in entries:
        inputs.update(json.dumps([entry.file, entry.title, entry.year, entry.problem, entry.catalogue, entry.row,
                                  entry.columns], default=str).encode() + b"\n")
    model = hashlib.sha256()
    for path in model_files:
        model.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return {"inputs": {"count": len(entries), "first": entries[0].file if entries else None,
                       "sha256": inputs.hexdigest()},
            "model": model.hexdigest(), **options}


def differences(before: dict, now: dict) -> list[str]:
    """What differs between two run commands, in words."""
    said = []
    for key in dict.fromkeys([*before, *now]):
        old, new = before.get(key), now.get(key)
        if old == new:
            continue
        if key == "inputs":
            said.append(f"the inputs ({old['count']} before, starting with {old['first']}; {new['count']} now, "
                        f"starting with {new['first']})" if old["count"] != new["count"] or old["first"] != new["first"]
                        else f"the inputs (the same number, {new['count']}, but other files, titles or years)")
        elif key == "model":
            said.append("the model (its files are not the same)")
        else:
            said.append(f"--{key.replace('_', '-')} ({old} before, {new} now)")
    return said


@dataclass
class RunOutput:
    """An output file being written a batch at a time, and how far its run has got."""

    path: Path
    fmt: str
    command: dict
    top_k: int  # genres each record lists (the CSV's columns)
    carried: list[str] | None  # the catalogue columns the records carry (None: no catalogue)
    done: int = 0  # inputs whose records are written
    errors: int = 0  # of them, error records
    size: int = 0  # bytes of the data file that hold those records
    complete: bool = False

    @property
    def data_file(self) -> Path:
        """Where the records go as they come: the output itself, or for Parquet the JSONL gathered beside it."""
        return self.path.with_name(self.path.name + PARTIAL_SUFFIX) if self.fmt == "parquet" else self.path

    @property
    def progress_file(self) -> Path:
        return self.path.with_name(self.path.name + PROGRESS_SUFFIX)

    @property
    def total(self) -> int:
        return self.command["inputs"]["count"]

    def append(self, records: list[dict]) -> None:
        """Write a batch of records in one write, flush it to disk, then count it in the progress file."""
        data = self.encoded(records)
        with open(self.data_file, "ab") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        self.done += len(records)
        self.errors += sum("error" in item for item in records)
        self.size += len(data)
        self.save()

    def encoded(self, records: list[dict], header: bool = False) -> bytes:
        """Records as the data file holds them (JSONL, or CSV rows with the header only when asked)."""
        text = io.StringIO()
        write(records, text, "csv" if self.fmt == "csv" else "jsonl", self.top_k, self.carried, header)
        return text.getvalue().encode()

    def finish(self) -> None:
        """Mark the run complete, writing the Parquet file from the gathered records first."""
        if self.fmt == "parquet" and self.data_file.exists():
            write_parquet_from(self.data_file, self.path, self.command.get("explain") is not None, self.carried)
            self.data_file.unlink()
        self.complete = True
        self.save()

    def save(self) -> None:
        """The progress file, replaced whole (a kill leaves the old one or the new one)."""
        state = {"command": self.command, "done": self.done, "errors": self.errors, "bytes": self.size,
                 "complete": self.complete}
        temporary = self.progress_file.with_name(self.progress_file.name + ".tmp")
        temporary.write_text(json.dumps(state, indent=1))
        os.replace(temporary, self.progress_file)

    def state(self) -> str:
        """How far the run got, for messages."""
        return "complete" if self.complete else f"{self.done} of {self.total} inputs written, unfinished"


def open_run(path: Path, fmt: str, top_k: int, carried: list[str] | None, command: dict, resume: bool,
             overwrite: bool) -> RunOutput:
    """The output of a run: a new one, or with `resume` the earlier run of the same command, continued after its
    last counted record. An existing output is never mixed with a new run: without `resume` it is refused unless
    `overwrite` replaces it."""
    output = RunOutput(path, fmt, command, top_k, carried)
    earlier = load_progress(output)
    if resume and earlier is not None:
        return continued(output, earlier)
    if resume and path.exists():
        raise RunOutputError(f"{path} has no progress file ({output.progress_file.name}), so nothing says how far its "
                             "run got: there is nothing to resume. Give --overwrite to write it again.")
    if (path.exists() or earlier is not None) and not overwrite:
        said = f" ({earlier.state()})" if earlier is not None else ""
        raise RunOutputError(f"{path} exists{said}: give --resume to continue its run, or --overwrite to replace it.")
    return started(output)


def load_progress(output: RunOutput) -> RunOutput | None:
    """The earlier run recorded beside `output`, or None."""
    try:
        state = json.loads(output.progress_file.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise RunOutputError(f"cannot read {output.progress_file}: {error}. Give --overwrite to start again.") from None
    return RunOutput(output.path, output.fmt, state["command"], output.top_k, output.carried, state["done"],
                     state["errors"], state["bytes"], state["complete"])


def continued(output: RunOutput, earlier: RunOutput) -> RunOutput:
    """The earlier run, its data cut to the records it counted (a kill may have left a batch it did not count)."""
    differ = differences(earlier.command, output.command)
    if differ:
        raise RunOutputError(f"cannot resume {output.path}: this command differs from the run that wrote it in "
                             f"{'; '.join(differ)}. Run it as before, or give --overwrite to start again.")
    if not earlier.complete:
        try:
            with open(earlier.data_file, "r+b") as data:
                data.truncate(earlier.size)
        except FileNotFoundError:
            raise RunOutputError(f"cannot resume: {earlier.data_file} is gone, though {earlier.progress_file.name} "
                                 f"counts {earlier.done} records in it. Give --overwrite to start again.") from None
    return earlier


def started(output: RunOutput) -> RunOutput:
    """A new run's empty output (a CSV with its header), and its progress file."""
    for leftover in (output.path, output.data_file, output.progress_file):
        leftover.unlink(missing_ok=True)
    header = output.encoded([], header=True)
    output.data_file.write_bytes(header)
    output.size = len(header)
    output.save()
    return output


def chunks(records: Iterable[dict], size: int) -> Iterator[list[dict]]:
    """`records` in lists of `size` (the last may be shorter)."""
    batch: list[dict] = []
    for item in records:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_parquet_from(gathered: Path, target: Path, explanation: bool, carried: list[str] | None) -> None:
    """The gathered JSONL records as one Parquet file, written beside `target` and moved over it whole."""
    pyarrow, parquet = parquet_modules()
    schema = record_schema(pyarrow, explanation=explanation, carried=carried)
    temporary = target.with_name(target.name + ".tmp")
    with open(gathered, encoding="utf-8") as lines, parquet.ParquetWriter(str(temporary), schema) as writer:
        for batch in chunks(map(json.loads, lines), PARQUET_CHUNK):
            writer.write_table(pyarrow.Table.from_pylist(batch, schema=schema))
    os.replace(temporary, target)
