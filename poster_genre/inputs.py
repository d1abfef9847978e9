"""Where posters come from: files, folders walked for image files, object-store prefixes, and
catalogue CSVs (a `file` column, optional `title` and `year`; every other column is carried through
to the records, with the catalogue's name and the row number, so they can be joined back).

Local paths need nothing more. `s3://`, `gs://` (and other URIs pyarrow knows, such as `file://`)
are listed and read through pyarrow's filesystems, so that the Ray workers can read them wherever
they run; pyarrow comes with `pip install "poster-genre[ray]"`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from poster_genre.analysis import Refusal
from poster_genre.preprocess import IMAGE_SUFFIXES

URI_MARK = "://"


CATALOGUE_COLUMNS = ("file", "title", "year")
RECORD_FIELDS = ("file", "catalogue", "row", "labels", "genres", "needs_review", "review_reason", "inputs",
                 "words", "words_note", "explanation", "error")
RENAMED = "catalogue_"  # the prefix of a carried column whose name is a record field (`genres` -> `catalogue_genres`)


@dataclass(frozen=True)
class Entry:
    """One poster to classify: its name, and the title and year a catalogue row gave it (as read: the
    analysis checks them), or the problem that keeps the row from naming a poster. A catalogue row also
    names its catalogue, its row number (the header is row 1) and its other columns' cells."""

    file: str
    title: object = None
    year: object = None
    problem: str | None = None
    catalogue: str | None = None
    row: int | None = None
    columns: tuple[tuple[str, str], ...] = ()  # (column, cell) of the row's other columns, in the CSV's order

    @property
    def text(self) -> tuple[object, object]:
        return self.title, self.year

    @property
    def where(self) -> str:
        """The row's place, for messages: "Row 5 of films.csv", or "" for a poster not from a catalogue."""
        return f"Row {self.row} of {Path(self.catalogue).name}" if self.catalogue else ""

    def carried(self) -> dict[str, object]:
        """What the record carries from the catalogue: its name, the row number and the other columns."""
        if self.catalogue is None:
            return {}
        return {"catalogue": self.catalogue, "row": self.row, **dict(self.columns)}


def carried_columns(entries: Iterable[Entry]) -> list[str]:
    """The catalogue columns the records of `entries` carry, in first-seen order."""
    return list(dict.fromkeys(column for entry in entries for column, _ in entry.columns))


def find_entries(names: Iterable[str], skipped: list[str] | None = None) -> Iterator[Entry]:
    """`find_images`, with each catalogue CSV (a local `*.csv` file) read row by row; files a folder walk
    passes over (not image files by name) are added to `skipped`."""
    for name in names:
        if not is_uri(name) and Path(name).suffix.lower() == ".csv" and Path(name).is_file():
            yield from read_catalogue(Path(name))
        else:
            yield from (Entry(file) for file in find_images([name], skipped))


def read_catalogue(path: Path) -> Iterator[Entry]:
    """A catalogue's rows: `file` (relative to the CSV's folder, or absolute), optional `title` and `year`,
    and any other columns, carried through as text. A BOM is skipped and quoted commas are kept; a row that
    names no file, or whose cells are not UTF-8 text, becomes a problem entry, and the other rows go on."""
    text = path.read_bytes().decode("utf-8-sig", errors="surrogateescape")
    rows = csv.reader(text.splitlines(keepends=True))
    header = [column.strip() for column in next(rows, [])]
    lower = [column.lower() for column in header]
    if "file" not in lower:
        yield Entry(str(path), problem=f"The catalogue {path.name} has no `file` column (its columns: "
                                       f"{', '.join(header) or 'none'}); name each poster in a `file` column.")
        return
    where = {column: lower.index(column) for column in CATALOGUE_COLUMNS if column in lower}
    others = [(_carried_name(name), i) for i, name in enumerate(header) if lower[i] not in CATALOGUE_COLUMNS and name]
    for number, row in enumerate(rows, start=2):
        if any(cell.strip() for cell in row):
            yield _row_entry(path, number, row, where, others)


def _row_entry(path: Path, number: int, row: list[str], where: dict[str, int], others: list[tuple[str, int]]
               ) -> Entry:
    cells = {column: row[i] if i < len(row) else "" for column, i in where.items()}
    carried = tuple((name, row[i] if i < len(row) else "") for name, i in others)
    file = cells["file"].strip()
    poster = file if not file or is_uri(file) or Path(file).is_absolute() else str(path.parent / file)
    broken = [column for column, cell in (*cells.items(), *carried) if _undecodable(cell)]
    place = {"catalogue": str(path), "row": number}
    if broken:
        return Entry(poster or str(path), problem=f"Row {number} of {path.name}: its {broken[0]} is not UTF-8 text.",
                     **place, columns=tuple((n, c.encode("utf-8", "replace").decode()) for n, c in carried))
    if not file:
        return Entry(str(path), problem=f"Row {number} of {path.name} names no poster file.", **place, columns=carried)
    return Entry(poster, cells.get("title"), cells.get("year"), **place, columns=carried)


def _carried_name(column: str) -> str:
    """A carried column's name in the record: as in the CSV, prefixed where a record field has it."""
    return f"{RENAMED}{column}" if column.lower() in RECORD_FIELDS else column


def _undecodable(cell: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in cell)


def is_uri(name: str) -> bool:
    return URI_MARK in name


def find_images(names: Iterable[str], skipped: list[str] | None = None) -> Iterator[str]:
    """Files as given; folders and URI prefixes walked recursively for image files, in sorted order. Files
    of a walked folder that are not image files by their suffix are added to `skipped`."""
    for name in names:
        if is_uri(name):
            yield from _list_uri(name)
        elif Path(name).is_dir():
            files = sorted(p for p in Path(name).rglob("*") if p.is_file())
            if skipped is not None:
                skipped += [str(p) for p in files if not _is_image(p.name)]
            yield from (str(p) for p in files if _is_image(p.name))
        else:
            yield name


def source(name: str) -> str | bytes | Refusal:
    """What the analysis takes for `name`: a local path as it is, a URI's object as bytes, or why it
    could not be read."""
    if not is_uri(name):
        return name
    filesystem, path = _filesystem(name)
    try:
        with filesystem.open_input_stream(path) as stream:
            return stream.read()
    except OSError as error:
        return Refusal(f"Cannot read the file: {error}.")


def _is_image(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


def _list_uri(uri: str) -> list[str]:
    """Image objects under a URI prefix (or the object itself), as URIs, sorted."""
    import pyarrow.fs as pafs

    filesystem, path = _filesystem(uri)
    info = filesystem.get_file_info(path)
    if info.type == pafs.FileType.File:
        return [uri]
    if info.type != pafs.FileType.Directory:
        raise FileNotFoundError(f"Nothing at {uri}.")
    scheme = uri.split(URI_MARK, 1)[0]
    found = filesystem.get_file_info(pafs.FileSelector(path, recursive=True))
    return sorted(f"{scheme}{URI_MARK}{f.path}" for f in found if f.type == pafs.FileType.File and _is_image(f.path))


def _filesystem(uri: str):
    try:
        import pyarrow.fs as pafs
    except ImportError as error:
        raise ImportError(f'Reading {uri} needs pyarrow: pip install "poster-genre[ray]".') from error
    return pafs.FileSystem.from_uri(uri)
