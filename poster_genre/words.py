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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from importlib import metadata

from PIL import Image

from poster_genre.text import WORD_LENGTH as MAX_LENGTH
from poster_genre.text import WORDS_LIMIT as MAX_WORDS

DETECTION_SIDE = 480  # px: the detector scales a poster's shorter side to this (RapidOCR's default is 736)
MIN_WORD_SCORE = 0.5  # a word read with a lower confidence is dropped (RapidOCR's own text_score default)
READ_SIDES = (512, 1024)  # px: a poster is read on a copy at most this long on its shorter and its longer side
# (a w500 poster and a thumbnail are read as they are; without it, a large image is detected at up to 2000 px)
MAX_ASPECT = 4  # a longer side more than this many times the shorter is not read: the detector would scale the
# shorter side up to DETECTION_SIDE and the longer with it, without bound
READ_SECONDS = float(os.environ.get("POSTER_GENRE_WORDS_SECONDS", "10"))  # a poster whose words take longer is
# answered without them (a poster's usual time: docs/benchmarks.md)


class WordsUnavailableError(ImportError):
    """The OCR engine is not installed; the message says how to get it."""


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


@functools.cache
def engine_name() -> str:
    """The engine and the settings that shape what it reads: a word read under another name is read again."""
    try:
        version = metadata.version("rapidocr")
    except metadata.PackageNotFoundError as error:
        raise WordsUnavailableError('Reading the words on posters needs RapidOCR: pip install "poster-genre[words]".') \
            from error
    return f"rapidocr {version}, detection side {DETECTION_SIDE}, no angle classifier"


def engine_settings(side: int = DETECTION_SIDE, limit_type: str = "min", threads: int = 1) -> dict:
    """RapidOCR's settings: the detector scales a poster's `limit_type` side to `side` px; angle classifier off
    (posters are upright), `threads` onnxruntime threads with onnxruntime's memory arena (RapidOCR turns it off; with
    it, the same words, faster: docs/benchmarks.md), only errors logged."""
    return {"Global.use_cls": False, "Global.log_level": "error", "Det.limit_side_len": side,
            "Det.limit_type": limit_type, "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            "EngineConfig.onnxruntime.enable_cpu_mem_arena": True}


def new_engine(settings: dict):
    """A RapidOCR engine with `settings` (a clear error when RapidOCR is not installed), its onnxruntime threads
    sleeping when idle."""
    engine_name()
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


_ENGINES: dict[int, object] = {}  # threads -> the engine `read_words` uses
_BUILDING = threading.Lock()  # held while an engine is built, so that requests arriving together build one


def _engine(threads: int):
    """The engine `read_words` uses with `threads` onnxruntime threads, built once per process however many
    callers ask for it at once."""
    with _BUILDING:
        if threads not in _ENGINES:
            _ENGINES[threads] = new_engine(engine_settings(threads=threads))
        return _ENGINES[threads]


_LOCK = threading.Lock()  # one engine per process, used by one thread at a time


def reading_copy(image: Image.Image) -> Image.Image:
    """The poster as the reader gets it: scaled down to READ_SIDES (never up), or ValueError for an image too
    elongated to read in bounded time (MAX_ASPECT)."""
    short, long = sorted(image.size)
    if long > MAX_ASPECT * short:
        raise ValueError(f"the image is {long / short:.0f} times as long as it is wide, unlike a poster; words are "
                         f"read on images at most {MAX_ASPECT} times as long as wide")
    scale = min(1.0, READ_SIDES[0] / short, READ_SIDES[1] / long)
    if scale == 1.0:
        return image
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                        Image.Resampling.BILINEAR)


def read_words(image: Image.Image, threads: int = 1) -> list[Word]:
    """The words on a decoded poster (RGB), most confident first, capped at MAX_WORDS words of MAX_LENGTH
    characters, their boxes in `image`'s pixels; [] for a poster with no text. `threads`: the engine's onnxruntime
    threads (as the image model's)."""
    read = reading_copy(image)
    with _LOCK:
        output = _engine(threads)(read.convert("RGB"))
    texts, scores, boxes = output.txts or (), output.scores or (), output.boxes if output.boxes is not None else ()
    words = [Word(text.strip()[:MAX_LENGTH], tuple((float(x), float(y)) for x, y in box), round(float(score), 4))
             for text, score, box in zip(texts, scores, boxes) if text.strip() and score >= MIN_WORD_SCORE]
    ranked = sorted(words, key=lambda word: -word.confidence)[:MAX_WORDS]
    return [word.scaled(image.width / read.width) for word in ranked]


_READER = ThreadPoolExecutor(1, thread_name_prefix="poster-words")  # reads one poster at a time, off the caller


def read_words_later(image: Image.Image, threads: int = 1) -> Future:
    """Start reading the words on a decoded poster in the reading thread (so that a read too slow can be left
    behind, `words_read`); the engine is loaded first, once per process."""
    _engine(threads)
    return _READER.submit(read_words, image, threads)


def words_read(reading: Future, seconds: float = READ_SECONDS) -> list[Word]:
    """The words of a `read_words_later`, or TimeoutError when they are not read within `seconds` (the read then
    finishes in the background)."""
    try:
        return reading.result(timeout=seconds)
    except TimeoutError as error:
        raise TimeoutError(f"reading took longer than {seconds:g} s") from error
