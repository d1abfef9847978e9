"""Where posters come from: files, folders walked for image files, and object-store prefixes.

Local paths need nothing more. `s3://`, `gs://` (and other URIs pyarrow knows, such as `file://`)
are listed and read through pyarrow's filesystems, so that the Ray workers can read them wherever
they run; pyarrow comes with `pip install "poster-genre[ray]"`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from poster_genre.analysis import Refusal
from poster_genre.preprocess import IMAGE_SUFFIXES

URI_MARK = "://"


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
