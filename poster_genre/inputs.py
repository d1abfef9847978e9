"""Where posters come from: files, folders walked for image files, object-store prefixes, and
catalogue CSVs (a `file` column, optional `title` and `year`).

Local paths need nothing more. `s3://`, `gs://` (and other URIs pyarrow knows, such as `file://`)
are listed and read through pyarrow's filesystems, so that the Ray workers can read them wherever
they run; pyarrow comes with `pip install "poster-genre[ray]"`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from poster_genre.analysis import Refusal
from poster_genre.preprocess import IMAGE_SUFFIXES

URI_MARK = "://"


CATALOGUE_COLUMNS = ("file", "title", "year")


@dataclass(frozen=True)
class Entry:
    """One poster to classify: its name, and the title and year a catalogue row gave it (as read: the
    analysis checks them), or the problem that keeps the row from naming a poster."""

    file: str
    title: object = None
    year: object = None
    problem: str | None = None

    @property
    def text(self) -> tuple[object, object]:
        return self.title, self.year


def find_entries(names: Iterable[str]) -> Iterator[Entry]:
    """`find_images`, with each catalogue CSV (a local `*.csv` file) read row by row."""
    for name in names:
        if not is_uri(name) and Path(name).suffix.lower() == ".csv" and Path(name).is_file():
            yield from read_catalogue(Path(name))
        else:
            yield from (Entry(file) for file in find_images([name]))


def read_catalogue(path: Path) -> Iterator[Entry]:
    """A catalogue's rows: `file` (relative to the CSV's folder, or absolute), optional `title` and `year`;
    other columns are ignored. A BOM is skipped and quoted commas are kept; a row that names no file, or
    whose file, title or year is not UTF-8 text, becomes a problem entry, and the other rows go on."""
    text = path.read_bytes().decode("utf-8-sig", errors="surrogateescape")
    rows = csv.reader(text.splitlines(keepends=True))
    header = [column.strip().lower() for column in next(rows, [])]
    if "file" not in header:
        yield Entry(str(path), problem=f"The catalogue {path.name} has no `file` column (its columns: "
                                       f"{', '.join(header) or 'none'}); name each poster in a `file` column.")
        return
    where = {column: header.index(column) for column in CATALOGUE_COLUMNS if column in header}
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {column: row[i] if i < len(row) else "" for column, i in where.items()}
        file = cells["file"].strip()
        poster = file if not file or is_uri(file) or Path(file).is_absolute() else str(path.parent / file)
        broken = [column for column, cell in cells.items() if _undecodable(cell)]
        if not file:
            yield Entry(f"{path}:{number}", problem=f"Row {number} of {path.name} names no poster file.")
        elif broken:
            yield Entry(poster, problem=f"Row {number} of {path.name}: its {broken[0]} is not UTF-8 text.")
        else:
            yield Entry(poster, cells.get("title"), cells.get("year"))


def _undecodable(cell: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in cell)


def is_uri(name: str) -> bool:
    return URI_MARK in name


def find_images(names: Iterable[str]) -> Iterator[str]:
    """Files as given; folders and URI prefixes walked recursively for image files, in sorted order."""
    for name in names:
        if is_uri(name):
            yield from _list_uri(name)
        elif Path(name).is_dir():
            yield from sorted(str(p) for p in Path(name).rglob("*") if p.is_file() and _is_image(p.name))
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
