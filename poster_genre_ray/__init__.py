"""`poster-genre classify --ray`: the CLI's classification as a Ray Data batch-inference job.

As in Ray Data's batch-inference examples: a dataset of poster names, `map_batches` over a pool of
actors, each actor a callable class holding one onnxruntime session. The model's bytes are put in
the object store once and every actor loads them from there; decoding and preprocessing run in the
actors, through the package's one analysis path (`poster_genre.analysis.analyse_batch`) and its
records (`poster_genre.records.record`), so the records are the local CLI's. An unreadable poster is
an error record, never a failed task. Install with `pip install "poster-genre[ray]"`; importing
`poster_genre` never imports this package or Ray.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow
import ray

from poster_genre.classifier import GenreClassifier
from poster_genre.inputs import Entry
from poster_genre.records import csv_columns, csv_row, record_schema, records_of
from poster_genre.text import text_model_beside

LOCAL = "local"  # --ray without an address: a Ray of the run's own on this machine (or $RAY_ADDRESS's)
ACTOR_RESTARTS = 3  # an actor whose process dies (killed, out of memory, its node lost) is started again this often
BATCH_RETRIES = 3  # and a batch it was working on is tried again this often, on a live actor; past either, the run
# stops with Ray's error, and `--resume` continues it


@dataclass(frozen=True)
class RaySettings:
    address: str  # LOCAL, "auto", or "ray://host:port"
    top_k: int
    min_confidence: float
    batch_size: int  # posters per model run in an actor
    threads: int = 1  # onnxruntime threads per actor (the CPUs each actor reserves)
    actors: int | None = None  # default: the cluster's CPUs / threads
    carried: list[str] | None = None  # the catalogue columns records carry (None: no catalogue in the run)
    read_words: bool = False  # read the words on each poster in the actors, through the same analysis path

    def schema(self) -> pyarrow.Schema:
        """The records' schema (no explanation: --explain is refused with --ray)."""
        return record_schema(pyarrow, carried=self.carried)


class Tagger:
    """One actor: one onnxruntime session, turning batches of poster names into records."""

    def __init__(self, model: ray.ObjectRef, text: ray.ObjectRef | None, settings: RaySettings) -> None:
        self.classifier = GenreClassifier(ray.get(model), settings.threads,  # the models' bytes, sent once
                                          ray.get(text) if text is not None else None)
        self.settings = settings
        self.schema = settings.schema()

    def __call__(self, batch: pyarrow.Table) -> pyarrow.Table:
        entries = [Entry(**{**row, "columns": tuple(map(tuple, json.loads(row["columns"])))})
                   for row in batch.to_pylist()]
        rows = [item for item, _ in records_of(self.classifier, entries, self.settings.top_k,
                                               self.settings.min_confidence, self.settings.read_words)]
        return pyarrow.Table.from_pylist(rows, schema=self.schema)


def connect(address: str) -> None:
    """Join the cluster at `address`; for LOCAL, the one $RAY_ADDRESS names (as Ray's drivers do), else a new Ray of
    this run's own on this machine, never one something else started here (quietly, without the dashboard)."""
    if ray.is_initialized():
        return
    target = (os.environ.get("RAY_ADDRESS") or "local") if address == LOCAL else address
    ray.init(address=target, include_dashboard=False, log_to_driver=False, configure_logging=False)


def records_dataset(entries: list[Entry], model: Path, settings: RaySettings) -> ray.data.Dataset:
    """The records of `entries` as a lazy dataset, in the order given."""
    connect(settings.address)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    actors = settings.actors or max(1, int(ray.cluster_resources().get("CPU", 1)) // settings.threads)
    items = [{"file": e.file, "title": _text(e.title), "year": _text(e.year), "problem": e.problem,
              "catalogue": e.catalogue, "row": e.row, "columns": json.dumps(e.columns)} for e in entries]
    blocks, batch_size = work_split(len(items), actors, settings.batch_size)
    names = ray.data.from_items(items, override_num_blocks=blocks)
    text = text_model_beside(model)
    models = {"model": ray.put(model.read_bytes()), "text": ray.put(text.read_bytes()) if text.is_file() else None}
    return names.map_batches(Tagger, fn_constructor_kwargs={**models, "settings": settings},
                             batch_size=batch_size, compute=ray.data.ActorPoolStrategy(size=actors),
                             num_cpus=settings.threads, batch_format="pyarrow", max_restarts=ACTOR_RESTARTS,
                             max_task_retries=BATCH_RETRIES)


def work_split(posters: int, actors: int, batch_size: int) -> tuple[int, int]:
    """Blocks and batch size so that every actor gets work: a multiple of the pool's size in blocks (4 per actor
    where there are posters enough), and batches no larger than a block (Ray would merge smaller blocks up to a
    batch, handing every poster to one actor)."""
    per_actor = max(1, min(4, posters // (actors * batch_size)))
    blocks = max(1, min(posters, actors * per_actor))
    return blocks, max(1, min(batch_size, posters // blocks))


def _text(value: object) -> str | None:
    """A title or year as text (one column type for the dataset); the analysis checks it."""
    return None if value is None else str(value)


def classify_on_ray(entries: list[Entry], model: Path, settings: RaySettings) -> Iterator[dict]:
    """The local CLI's records of `entries`, in order, computed on the cluster."""
    for table in records_dataset(entries, model, settings).iter_batches(batch_format="pyarrow", batch_size=None):
        yield from map(present, table.to_pylist())


def present(row: dict) -> dict:
    """A dataset row as the CLI's record: the fields it has (a table row has every field, null if absent)."""
    return {key: value for key, value in row.items() if value is not None}


def text_row(row: dict, columns: list[str]) -> dict[str, str]:
    """Every CSV column as the text the local CLI's CSV writer would write (one type per column)."""
    return {column: str(row.get(column, "")) for column in columns}


def write_folder(entries: list[Entry], model: Path, settings: RaySettings, folder: str, fmt: str) -> int:
    """Records as parallel files under `folder` (or an object-store prefix), written by the cluster.

    JSONL and Parquet hold every field (null where a record has none); CSV is the CLI's flat CSV.
    Returns the exit status: 1 when any poster could not be classified."""
    dataset = records_dataset(entries, model, settings).materialize()
    if fmt == "parquet":
        dataset.write_parquet(folder)
    elif fmt == "csv":
        columns = csv_columns(settings.top_k, settings.carried)
        dataset.map(lambda row: text_row(csv_row(present(row)), columns)).write_csv(folder)
    else:
        dataset.write_json(folder)
    errors = dataset.filter(lambda row: row["error"] is not None).count()
    return 1 if errors else 0


__all__ = ["RaySettings", "classify_on_ray", "records_dataset", "write_folder"]
