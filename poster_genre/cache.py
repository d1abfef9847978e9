"""The files the server writes into Gradio's cache, and their deletion at the cache age.

Gradio serves a file inside its cache in place and tracks it with the uploads; `Blocks(delete_cache=...)` deletes
them at their age, but its scheduled pass iterates the live sets of files, so a request adding a file during a pass
ends that pass with "Set changed size during iteration", and with it every later pass: under steady traffic the cache
then grows for good. `clean_cache_forever` is that cleaner, made to work on snapshots of the sets.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

import gradio as gr


def cache_folder(prefix: str) -> Path:
    """A new folder inside Gradio's cache for files the server writes: Gradio serves them in place, and they are
    deleted at the cache age as uploads are (a file outside the cache is copied in, and the original stays for good)."""
    cache = Path(gr.utils.get_upload_folder())
    cache.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=cache))


def delete_expired(demo: gr.Blocks, age: float) -> None:
    """Delete the files the app has in Gradio's cache (uploads, outputs) that are older than `age` seconds, except
    those the page keeps (its examples)."""
    kept = set().union(*(getattr(block, "keep_in_cache", set()) for block in list(demo.blocks.values())))
    now = time.time()
    for files in list(demo.temp_file_sets):
        for file in list(files):  # a snapshot: requests add files meanwhile
            if file in kept:
                continue
            try:
                if now - os.lstat(file).st_ctime > age:
                    os.remove(file)
                    files.discard(file)
            except FileNotFoundError:
                files.discard(file)


def clean_cache_forever(demo: gr.Blocks, age: int) -> None:
    """Every min(age, 600) seconds (at least 1), in a background thread, `delete_expired`."""
    def passes() -> None:
        while True:
            time.sleep(max(1, min(age, 600)))
            delete_expired(demo, age)

    threading.Thread(target=passes, name="cache-cleaner", daemon=True).start()
