"""The int8 copy: `reports/int8.json` decides whether it is served (the rule on every calibration draw, and the
speed-up on the CPU that made it); where it is, it is what every entry point serves by default, keeps fp32's
answers and activation-map identity, fp32 stays selectable, and it is safe on a CPU without VNNI (an emulated
Haswell). Where it is not, fp32 is served everywhere."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from benchmarks.avx2 import run_worker
from poster_genre import GenreClassifier
from poster_genre.analysis import file_probabilities, model_input
from poster_genre.model import default_model
from poster_genre.rules import int8_served
from tests.conftest import INT8, MODEL, REPO, needs_int8, synthetic_poster

REPORT = json.loads((REPO / "reports" / "int8.json").read_text())


def test_the_report_on_the_served_model_decides_whether_int8_is_served():
    assert REPORT["fp32_sha256"] == hashlib.sha256(MODEL.read_bytes()).hexdigest()
    assert len(REPORT["draws"]) >= 5 and {"name", "vnni"} <= set(REPORT["cpu"])
    decided = int8_served([draw["passes"] for draw in REPORT["draws"]], REPORT["speed"]["speedup"])
    assert REPORT["serve_int8"] is decided and INT8.exists() is decided


@needs_int8
def test_the_served_copy_met_the_rule_on_every_draw():
    assert all(draw["meets_rule"] for draw in REPORT["draws"])
    assert REPORT["speed"]["speedup"] >= 1.5  # measured when the copy was made, on the machine that made it
    card = GenreClassifier(INT8).card
    assert card.precision == "int8" and card.quantization["served"] is True
    assert card.labels == GenreClassifier(MODEL).card.labels and card.thresholds == GenreClassifier(MODEL).card.thresholds


def test_int8_is_the_default_where_served_and_fp32_stays_selectable(monkeypatch):
    monkeypatch.delenv("POSTER_GENRE_MODEL", raising=False)
    assert default_model() == (INT8 if INT8.exists() else MODEL)
    code = "from poster_genre import GenreClassifier; print(GenreClassifier().card.precision)"
    served = "int8" if INT8.exists() else "fp32"
    for env, precision in (({}, served), ({"POSTER_GENRE_MODEL": str(MODEL)}, "fp32")):
        result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                                env={**{k: v for k, v in os.environ.items() if k != "POSTER_GENRE_MODEL"}, **env})
        assert result.stdout.strip() == precision, result.stderr


@needs_int8
def test_int8_answers_like_fp32(sample_poster, tmp_path):
    for seed in range(3):
        synthetic_poster(seed, (300, 450)).save(tmp_path / f"{seed}.png")
    posters = [sample_poster, *sorted(tmp_path.glob("*.png"))]
    fp32, int8 = GenreClassifier(MODEL, threads=2), GenreClassifier(INT8, threads=2)
    expected, got = file_probabilities(fp32, posters), file_probabilities(int8, posters)
    assert np.abs(got - expected).max() < 0.1
    assert [fp32.tags(row) for row in expected[:1]] == [int8.tags(row) for row in got[:1]]  # the real poster


@needs_int8
@pytest.mark.skipif(not shutil.which("qemu-x86_64"), reason="qemu-x86_64 not installed (apt-get install qemu-user)")
def test_emulated_cpu_without_vnni_answers_as_this_one(sample_poster, tmp_path):
    """Under `qemu-x86_64 -cpu Haswell` (AVX2, no VNNI) with the option the classifier sets on such CPUs,
    the int8 model gives this CPU's probabilities."""
    batch = model_input(GenreClassifier(INT8), [sample_poster])
    np.save(tmp_path / "inputs.npy", batch.astype(np.uint8))
    native = run_worker(INT8, tmp_path / "inputs.npy", tmp_path / "native.npz", None)
    emulated = run_worker(INT8, tmp_path / "inputs.npy", tmp_path / "emulated.npz", "Haswell")
    assert np.abs(emulated["on"] - native["on"]).max() < 1e-4
