"""Single posters first: a many-poster run never holds a one-poster answer back.

A server on a few cores cannot run a 100-poster batch and a single poster side by side without slowing the single
one, so the batch gives way: before each of its posters it waits while any single-poster request is being answered,
and goes on when none is. A single poster then shares the machine with at most the one batch poster under way.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class SinglesFirst:
    """Counts the single-poster requests being answered; batches wait for none."""

    def __init__(self) -> None:
        self._answering = 0
        self._changed = threading.Condition()

    @contextmanager
    def single(self) -> Iterator[None]:
        """Around a single poster's work."""
        with self._changed:
            self._answering += 1
        try:
            yield
        finally:
            with self._changed:
                self._answering -= 1
                self._changed.notify_all()

    def batch_turn(self) -> None:
        """Before each of a batch's posters: wait until no single poster is being answered."""
        with self._changed:
            self._changed.wait_for(lambda: self._answering == 0)
