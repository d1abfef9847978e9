"""Catalogue runs that survive a crash: a real `classify --output` killed with SIGKILL partway and resumed gives
exactly the records of an uninterrupted run, each input once, in JSONL, CSV and Parquet, locally and on Ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from poster_genre.runs import PROGRESS_SUFFIX
from tests.conftest import REPO, run_cli, synthetic_poster
from tests.test_cli import read_output

POSTERS = 48


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory) -> Path:
    """Generated posters with a broken file among them."""
    folder = tmp_path_factory.mktemp("catalogue")
    for seed in range(POSTERS):
        synthetic_poster(seed, (300, 450)).save(folder / f"{seed:03d}.png")
    (folder / "020-broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a whole jpeg")
    return folder


@pytest.fixture(scope="module")
def uninterrupted(catalogue, tmp_path_factory) -> dict[str, Path]:
    """Each format's output of one run that nothing stopped."""
    folder = tmp_path_factory.mktemp("uninterrupted")
    outputs = {}
    for suffix in (".jsonl", ".csv", ".parquet"):
        outputs[suffix] = folder / f"out{suffix}"
        assert run_cli(str(catalogue), "--batch-size", "4", "--output", str(outputs[suffix])).returncode == 1
    return outputs


def progress_of(output: Path) -> dict:
    try:
        return json.loads(output.with_name(output.name + PROGRESS_SUFFIX).read_text())
    except (FileNotFoundError, ValueError):
        return {"done": 0}


def killed_partway(args: list[str], output: Path, after: int) -> int:
    """Start `classify ARGS`, and once `after` records are counted, SIGKILL it and every process it started (as a
    reboot would); the records counted when it died."""
    run = subprocess.Popen([sys.executable, "-m", "poster_genre", "classify", *args], cwd=REPO,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 240
    while progress_of(output)["done"] < after and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    family = [run.pid, *(child.pid for child in psutil.Process(run.pid).children(recursive=True))]
    for pid in family:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    run.wait()
    assert run.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    return progress_of(output)["done"]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
@pytest.mark.slow
def test_a_killed_run_resumed_writes_every_record_once(catalogue, uninterrupted, tmp_path, suffix):
    output = tmp_path / f"out{suffix}"
    args = [str(catalogue), "--batch-size", "4", "--output", str(output)]
    done = killed_partway(args, output, after=8)
    assert 8 <= done < POSTERS + 1
    again = run_cli(*args)
    assert again.returncode == 2 and "exists" in again.stderr and "--resume" in again.stderr  # never mixed
    resumed = run_cli(*args, "--resume")
    assert resumed.returncode == 1, resumed.stderr  # the broken file, as in the uninterrupted run
    assert f"{done} of {POSTERS + 1} inputs were done before" in resumed.stderr
    assert f"({done} done before)" in resumed.stderr  # the progress bar counts from there
    assert read_output(output) == read_output(uninterrupted[suffix])
    if suffix != ".parquet":
        assert output.read_bytes() == uninterrupted[suffix].read_bytes()
    assert progress_of(output)["complete"] is True and progress_of(output)["done"] == POSTERS + 1


@pytest.mark.ray
def test_a_killed_ray_run_resumed_writes_every_record_once(catalogue, uninterrupted, tmp_path):
    output = tmp_path / "ray.jsonl"
    args = [str(catalogue), "--batch-size", "4", "--ray", "--output", str(output)]
    done = killed_partway(args, output, after=4)
    resumed = run_cli(*args, "--resume")
    assert resumed.returncode == 1, resumed.stderr
    assert f"{done} of {POSTERS + 1} inputs were done before" in resumed.stderr
    assert read_output(output) == read_output(uninterrupted[".jsonl"])


@pytest.mark.slow
def test_resuming_another_command_is_refused_saying_what_differs(catalogue, uninterrupted, tmp_path):
    output = tmp_path / "out.jsonl"
    output.write_bytes(uninterrupted[".jsonl"].read_bytes())
    no_progress = run_cli(str(catalogue), "--output", str(output), "--resume")
    assert no_progress.returncode == 2 and "nothing to resume" in no_progress.stderr
    first = sorted(catalogue.glob("*.png"))[:3]
    assert run_cli(*map(str, first), "--output", str(output), "--overwrite").returncode == 0
    assert len(read_output(output)) == 3  # replaced, not mixed
    other_options = run_cli(*map(str, first), "--top-k", "5", "--no-read-words", "--output", str(output), "--resume")
    assert other_options.returncode == 2
    assert "--top-k (3 before, 5 now)" in other_options.stderr and "--read-words" in other_options.stderr
    other_inputs = run_cli(*map(str, first[:2]), "--output", str(output), "--resume")
    assert other_inputs.returncode == 2 and "the inputs (3 before" in other_inputs.stderr
    complete = run_cli(*map(str, first), "--output", str(output), "--resume")
    assert complete.returncode == 0 and "(the run is complete)" in complete.stderr
    assert len(read_output(output)) == 3


def test_resume_needs_an_output_file(sample_poster, tmp_path):
    result = run_cli(str(sample_poster), "--resume")
    assert result.returncode == 2 and "--resume continues an --output file" in result.stderr
    one_object = run_cli(str(sample_poster), "--output", "s3://bucket/tags.jsonl")
    assert one_object.returncode == 2 and "a file is written on this machine" in one_object.stderr


@pytest.mark.ray
def test_a_ray_run_whose_actor_is_killed_still_writes_every_record_once(catalogue, uninterrupted, tmp_path):
    output = tmp_path / "ray.jsonl"
    run = subprocess.Popen([sys.executable, "-m", "poster_genre", "classify", str(catalogue), "--batch-size", "4",
                            "--ray", "--actors", "2", "--output", str(output)], cwd=REPO, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 240
    while progress_of(output)["done"] < 4 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    actors = [p for p in psutil.Process(run.pid).children(recursive=True) if "Tagger" in " ".join(p.cmdline())]
    assert actors, "no actor process found"
    actors[0].kill()
    assert progress_of(output)["done"] < POSTERS + 1 and run.poll() is None, "the run finished before the kill"
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 1, stderr  # the broken file only
    assert read_output(output) == read_output(uninterrupted[".jsonl"])


@pytest.mark.ray
def test_a_ray_folder_that_holds_files_is_refused_not_mixed(sample_poster, tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "earlier.json").write_text("{}\n")
    result = run_cli(str(sample_poster), "--ray", "--output", str(folder))
    assert result.returncode == 2 and "is not empty" in result.stderr
    assert [p.name for p in folder.iterdir()] == ["earlier.json"]
