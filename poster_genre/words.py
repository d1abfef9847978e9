"""The words printed on a poster (the stars, the title, the tagline), read by PP-OCR through RapidOCR.

RapidOCR's wheel bundles PP-OCR's detection and recognition models as ONNX files and runs them on onnxruntime, so
nothing is downloaded at run time. The engine is loaded lazily, once per process, and only when words are read:
importing this module does not import RapidOCR, and the poster-only path never imports this module. Needs
`pip install "poster-genre[words]"`.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from importlib import metadata

import numpy as np
from PIL import Image

from poster_genre.text import WORD_LENGTH as MAX_LENGTH
from poster_genre.text import WORDS_LIMIT as MAX_WORDS

MIN_WORD_SCORE = 0.5  # a word read with a lower confidence is dropped (RapidOCR's own text_score default)
READ_SIDES = (512, 1024)  # px: a poster is read on a copy at most this long on its shorter and its longer side
# (a w500 poster and a thumbnail are read as they are; without it, a large image is detected at up to 2000 px)
MAX_ASPECT = 4  # a longer side more than this many times the shorter is not read (unlike a poster)
RECOGNISER_HEIGHT = 48  # px: PP-OCR's recogniser reads each line scaled to this height
READ_SECONDS = float(os.environ.get("POSTER_GENRE_WORDS_SECONDS", "10"))  # a poster whose words are not read this
# long after they were asked for is answered without them
READERS = int(os.environ.get("POSTER_GENRE_READERS", "2"))  # posters read at once in a process


@dataclass(frozen=True)
class ReadingSettings:
    """What bounds the work of reading one poster: the detector's size, then how many lines are recognised and how
    much of them. Recognising a line costs in proportion to its length in line heights; the longest a line is read is
    about WORD_LENGTH characters, all the words model keeps of it."""

    detection_side: int = 256  # px: the detector reads a copy whose shorter side is at most this (scaled down to it)
    detection_floor: int = 256  # px: ... and at least this (scaled up to it; a lower floor misses a thumbnail's text)
    max_lines: int | None = 8  # lines recognised per poster, tallest first (None: every line found)
    line_heights: float = 24  # a line is recognised on at most this many times its height (its start)
    total_heights: float = 64  # ... and all lines together on at most this many of their heights

    @property
    def name(self) -> str:
        lines = "every line" if self.max_lines is None else f"the {self.max_lines} tallest lines"
        sides = (f"{self.detection_side}" if self.detection_floor == self.detection_side
                 else f"{self.detection_floor} to {self.detection_side}")
        return (f"detection side {sides}, {lines}, each at most {self.line_heights:g} and all at most "
                f"{self.total_heights:g} heights long, each recognised alone, no angle classifier")


SERVED = ReadingSettings()


class WordsUnavailableError(ImportError):
    """The OCR engine is not installed; the message says how to get it."""


class UnreadTextError(ValueError):
    """Text was found on the image but none of it could be read (another script, or too small or blurred)."""


@dataclass(frozen=True)
class Word:
    """One line of text read on the poster: what it says, where (four corner points, pixels of the image read) and
    how sure the recogniser is."""

    text: str
    box: tuple[tuple[float, float], ...]
    confidence: float

    def to_dict(self) -> dict:
        return asdict(self)

    def scaled(self, factor: float) -> Word:
        """The same word with its box in an image `factor` times the size."""
        return Word(self.text, tuple((x * factor, y * factor) for x, y in self.box), self.confidence)


def words_available() -> bool:
    """Whether the OCR engine is installed (without importing it)."""
    return importlib.util.find_spec("rapidocr") is not None


def engine_name(settings: ReadingSettings = SERVED) -> str:
    """The engine and the settings that shape what it reads: a word read under another name is read again."""
    return f"rapidocr {_rapidocr_version()}, {settings.name}"


@functools.cache
def _rapidocr_version() -> str:
    try:
        return metadata.version("rapidocr")
    except metadata.PackageNotFoundError as error:
        raise WordsUnavailableError('Reading the words on posters needs RapidOCR: pip install "poster-genre[words]".') \
            from error


def engine_settings(floor: int = SERVED.detection_floor, threads: int = 1) -> dict:
    """RapidOCR's settings: the detector scales a shorter side below `floor` px up to it; angle classifier off
    (posters are upright); each line recognised alone at its own length (no batch padded to the longest, no floor
    of 320 px); `threads` onnxruntime threads with onnxruntime's memory arena (RapidOCR turns it off; with it, the
    same words, faster: docs/benchmarks.md), only errors logged."""
    return {"Global.use_cls": False, "Global.log_level": "error", "Det.limit_side_len": floor,
            "Det.limit_type": "min", "Rec.rec_img_shape": [3, RECOGNISER_HEIGHT, RECOGNISER_HEIGHT],
            "Rec.rec_batch_num": 1, "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            "EngineConfig.onnxruntime.enable_cpu_mem_arena": True}


def new_engine(settings: dict):
    """A RapidOCR engine with `settings` (a clear error when RapidOCR is not installed), its onnxruntime threads
    sleeping when idle."""
    _rapidocr_version()
    from rapidocr import RapidOCR

    _idle_threads_sleep()
    return RapidOCR(params=settings)


def _idle_threads_sleep() -> None:
    """Make RapidOCR's onnxruntime sessions let their idle threads sleep instead of spinning, as the image model's
    do. RapidOCR has no setting for it, so this wraps its session options once per process: the detector's spinning
    threads slowed the recogniser (docs/benchmarks.md)."""
    from rapidocr.inference_engine.onnxruntime.main import OrtInferSession

    build = getattr(OrtInferSession, "_init_sess_opts", None)
    if build is None or getattr(build, "sleeps", False):  # another RapidOCR: its threads spin, the words are the same
        return

    def options(config):
        made = build(config)
        made.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return made

    options.sleeps = True
    OrtInferSession._init_sess_opts = staticmethod(options)


_ENGINES: dict[tuple[int, int], object] = {}  # (threads, detection floor) -> the engine `read_words` uses
_BUILDING = threading.Lock()  # held while an engine is built, so that requests arriving together build one


def _engine(threads: int, floor: int):
    """The engine `read_words` uses, built once per process however many callers ask for it at once; its models
    answer several readers at once (onnxruntime sessions are safe to run from several threads)."""
    with _BUILDING:
        if (threads, floor) not in _ENGINES:
            _ENGINES[(threads, floor)] = new_engine(engine_settings(floor, threads))
        return _ENGINES[(threads, floor)]


def reading_copy(image: Image.Image) -> Image.Image:
    """The poster as the reader gets it: scaled down to READ_SIDES (never up), or ValueError for an image too
    elongated to read in bounded time (MAX_ASPECT)."""
    short, long = sorted(image.size)
    if long > MAX_ASPECT * short:
        raise ValueError(f"the image is {long / short:.0f} times as long as it is wide, unlike a poster; words are "
                         f"read on images at most {MAX_ASPECT} times as long as wide")
    return _scaled(image, min(1.0, READ_SIDES[0] / short, READ_SIDES[1] / long))


def _scaled(image: Image.Image, scale: float) -> Image.Image:
    if scale == 1.0:
        return image
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                        Image.Resampling.BILINEAR)


def _bgr(image: Image.Image) -> np.ndarray:
    """The pixels as RapidOCR reads them (blue, green, red)."""
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])


def detected_lines(engine, read: Image.Image, pixels: np.ndarray, side: int) -> list[np.ndarray]:
    """The lines of text the detector finds on `read` (whose pixels, `_bgr`, are `pixels`), four corner points each
    in `read`'s pixels, top to bottom. The detector gets a copy whose shorter side is at most `side` (the engine
    scales one below its floor up to that floor itself)."""
    factor = min(1.0, side / min(read.size))
    small = _scaled(read, factor)
    found = engine._load_det_model()(pixels if small is read else _bgr(small))
    if found.boxes is None:
        return []
    return [np.asarray(box, np.float32) * (read.width / small.width) for box in found.boxes]


def line_shape(box: np.ndarray) -> tuple[float, float]:
    """The height of the text in a detected line and its length, in pixels (a line standing on end is read turned,
    as RapidOCR reads it)."""
    across = max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3]))
    down = max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2]))
    return (float(across), float(down)) if down >= 1.5 * across else (float(down), float(across))


def chosen_lines(boxes: list[np.ndarray], settings: ReadingSettings) -> list[tuple[np.ndarray, float]]:
    """The lines to recognise, in the order found, each with how many of its heights to read: the tallest first (a
    title and the stars' names before the small print), at most `max_lines`, each at most `line_heights` long, until
    `total_heights` are spent."""
    shapes = [line_shape(box) for box in boxes]
    tallest = sorted(range(len(boxes)), key=lambda i: -shapes[i][0])[:settings.max_lines]
    allowed, left = {}, settings.total_heights
    for i in tallest:
        height, length = shapes[i]
        allowed[i] = min(length / max(height, 1.0), settings.line_heights, left)
        left -= allowed[i]
        if left <= 0:
            break
    return [(boxes[i], allowed[i]) for i in sorted(allowed)]


def line_crop(pixels: np.ndarray, box: np.ndarray, heights: float) -> np.ndarray:
    """One detected line, straightened (RapidOCR's own crop), cut to its first `heights` times its height."""
    from rapidocr.utils.process_img import get_rotate_crop_image

    crop = get_rotate_crop_image(pixels, box.copy())
    longest = max(1, int(np.ceil(heights * crop.shape[0])))
    return crop[:, :longest] if crop.shape[1] > longest else crop


def recognised(engine, crop: np.ndarray) -> tuple[str, float]:
    """What one line says and the recogniser's confidence."""
    from rapidocr.ch_ppocr_rec import TextRecInput

    output = engine._load_rec_model()(TextRecInput(img=[crop]))
    return output.txts[0], float(output.scores[0])


def read_words(image: Image.Image, threads: int = 1, settings: ReadingSettings = SERVED,
               deadline: float | None = None) -> list[Word]:
    """The words on a decoded poster (RGB), most confident first, capped at MAX_WORDS words of MAX_LENGTH
    characters, their boxes in `image`'s pixels; [] for a poster with no text, UnreadTextError for text none of which
    could be read. The work is bounded whatever the image: a bounded copy is detected, and a bounded length of its
    lines recognised (`ReadingSettings`). `threads`: the engine's onnxruntime threads (as the image model's).
    TimeoutError once `deadline` (`time.monotonic()`) has passed, checked before each step."""
    _in_time(deadline)
    read = reading_copy(image)
    engine = _engine(threads, settings.detection_floor)
    pixels, words = _bgr(read), []
    lines = chosen_lines(detected_lines(engine, read, pixels, settings.detection_side), settings)
    for box, heights in lines:
        _in_time(deadline)
        text, score = recognised(engine, line_crop(pixels, box, heights))
        if text.strip() and score >= MIN_WORD_SCORE:
            words.append(Word(text.strip()[:MAX_LENGTH], tuple((float(x), float(y)) for x, y in box), round(score, 4)))
    if lines and not words:
        raise UnreadTextError(f"text was found on it ({len(lines)} line{'s' if len(lines) > 1 else ''}) but none of it "
                              "could be read: the reader knows Latin and Chinese script")
    ranked = sorted(words, key=lambda word: -word.confidence)[:MAX_WORDS]
    return [word.scaled(image.width / read.width) for word in ranked]


def _in_time(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise _too_slow()


def _too_slow() -> TimeoutError:
    return TimeoutError(f"reading took longer than {READ_SECONDS:g} s")


@dataclass(frozen=True)
class PendingWords:
    """A poster being read by a reader thread, and when its answer stops waiting for it."""

    reading: Future
    deadline: float  # time.monotonic()


_READERS = ThreadPoolExecutor(READERS, thread_name_prefix="poster-words")  # off the callers: a read too slow is
# left behind, and stops at its own deadline rather than holding a reader


def read_words_later(image: Image.Image, threads: int = 1) -> PendingWords:
    """Start reading the words on a decoded poster in a reader thread, its deadline READ_SECONDS from now (waiting
    for a reader counts); the engine is loaded first, once per process."""
    _engine(threads, SERVED.detection_floor)
    deadline = time.monotonic() + READ_SECONDS
    return PendingWords(_READERS.submit(read_words, image, threads, SERVED, deadline), deadline)


def words_read(pending: PendingWords) -> list[Word]:
    """The words of a `read_words_later`, or TimeoutError when they are not read by its deadline (the read then
    stops at its next step)."""
    try:
        return pending.reading.result(timeout=max(0.0, pending.deadline - time.monotonic()))
    except TimeoutError as error:
        raise _too_slow() from error
