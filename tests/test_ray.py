"""`classify --ray` on a real local Ray (2 CPUs): the local CLI's records, every output form, pyarrow inputs."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from tests.conftest import DATA_DIR, HAS_DATA, REPO, free_port, run_cli, synthetic_poster
from tests.test_cli import read_output

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """Real posters where the shared data is here (else generated ones), a broken file and a nested folder."""
    folder = tmp_path_factory.mktemp("catalogue")
    (folder / "nested").mkdir()
    if HAS_DATA:
        for path in sorted((DATA_DIR / "posters").glob("*.jpg"))[:20]:
            (folder / path.name).write_bytes(path.read_bytes())
    else:
        for seed in range(20):
            synthetic_poster(seed, (300, 450)).save(folder / f"{seed}.png")
    synthetic_poster(99, (300, 450)).save(folder / "nested" / "made.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a whole jpeg")
    return folder


@pytest.fixture(scope="module")
def local_records(catalogue):
    result = run_cli(str(catalogue), "--batch-size", "4")
    assert result.returncode == 1  # the broken file
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.usefixtures("on_shared_ray")  # a Ray of the session's
def test_ray_gives_the_local_records_with_a_broken_file(catalogue, local_records, tmp_path):
    result = run_cli(str(catalogue), "--ray", "--batch-size", "4", "--output", str(tmp_path / "ray.jsonl"))
    assert result.returncode == 1, result.stderr
    records = read_output(tmp_path / "ray.jsonl")
    assert records == local_records
    assert sum("error" in r for r in records) == 1 and len(records) == 22


@pytest.mark.usefixtures("on_shared_ray")  # a Ray of the session's
def test_a_catalogue_csv_with_titles_gives_the_local_records_on_ray(catalogue, tmp_path):
    posters = sorted(p.name for p in catalogue.glob("*") if p.is_file())[:4]
    rows = [f"{posters[0]},\"Night of the Living Dead, Again\",1990", f"{posters[1]},,2001", f"{posters[2]},Batman,",
            f"{posters[3]},Too Early,1850"]
    (catalogue / "films.csv").write_text("file,title,year\n" + "\n".join(rows) + "\n")
    local = run_cli(str(catalogue / "films.csv"))
    on_ray = run_cli(str(catalogue / "films.csv"), "--ray", "--output", str(tmp_path / "ray.jsonl"))
    assert local.returncode == on_ray.returncode == 1, on_ray.stderr  # the year 1850 is refused
    records = read_output(tmp_path / "ray.jsonl")
    assert records == [json.loads(line) for line in local.stdout.splitlines()]
    given = [[i for i in r["inputs"] if i != "words"] if "inputs" in r else None for r in records]  # words: if read
    assert given == [["poster", "title", "year"], ["poster", "year"], ["poster", "title"], None]
    assert "from 1880 to 2100" in records[3]["error"]
    (catalogue / "films.csv").unlink()


@pytest.mark.usefixtures("on_shared_ray")  # a Ray of the session's
@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_ray_writes_parallel_files_under_a_folder(catalogue, local_records, tmp_path, fmt):
    folder = tmp_path / f"records_{fmt}"
    result = run_cli(str(catalogue), "--ray", "--actors", "2", "--threads", "1", "--output", str(folder),
                     "--format", fmt)
    assert result.returncode == 1, result.stderr
    files = sorted(folder.iterdir())
    assert files
    if fmt == "parquet":
        rows = pq.read_table(folder).to_pylist()
        records = [{k: v for k, v in row.items() if v is not None} for row in rows]
    elif fmt == "jsonl":
        records = [{k: v for k, v in json.loads(line).items() if v is not None}
                   for f in files for line in f.read_text().splitlines()]
    else:
        records = [row for f in files for row in read_output(f)]
        local = read_output_csv(catalogue)
        assert sorted(records, key=lambda r: r["file"]) == sorted(local, key=lambda r: r["file"])
        return
    assert sorted(records, key=lambda r: r["file"]) == sorted(local_records, key=lambda r: r["file"])


def read_output_csv(catalogue):
    return list(csv.DictReader(io.StringIO(run_cli(str(catalogue), "--format", "csv").stdout)))


@pytest.mark.usefixtures("on_shared_ray")  # a Ray of the session's
def test_uri_inputs_go_through_pyarrow_filesystems(catalogue, local_records):
    """A file:// prefix is listed and read by pyarrow, as s3:// and gs:// are; the answers are the local ones."""
    uri = catalogue.as_uri()
    for extra in ([], ["--ray"]):
        result = run_cli(uri, *extra)
        assert result.returncode == 1, result.stderr
        records = [json.loads(line) for line in result.stdout.splitlines()]
        assert [r["file"] for r in records] == [f"file://{r['file']}" for r in local_records]
        assert [{k: v for k, v in r.items() if k != "file"} for r in records] == [
            {k: v for k, v in r.items() if k != "file"} for r in local_records]


@pytest.fixture(scope="module")
def s3_bucket(catalogue):
    """The catalogue uploaded to a real S3 protocol server on 127.0.0.1 (moto), and the environment that points
    pyarrow's S3 filesystem at it (AWS_ENDPOINT_URL, as for any S3-compatible store)."""
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    client.create_bucket(Bucket="catalogue")
    for path in sorted(p for p in catalogue.rglob("*") if p.is_file()):
        client.upload_file(str(path), "catalogue", f"posters/{path.relative_to(catalogue)}")
    yield env
    server.stop()


def test_s3_prefix_gives_the_local_records_locally_and_on_ray(catalogue, local_records, s3_bucket):
    expected = [{**r, "file": "s3://catalogue/posters/" + r["file"][len(str(catalogue)) + 1:]} for r in local_records]
    for extra in ([], ["--ray"]):
        result = run_cli("s3://catalogue/posters/", "--batch-size", "4", *extra, env=s3_bucket)
        assert result.returncode == 1, result.stderr
        assert [json.loads(line) for line in result.stdout.splitlines()] == expected


def test_missing_uri_prefix_is_a_usage_error(tmp_path):
    result = run_cli((tmp_path / "nothing-here").as_uri())
    assert result.returncode == 2 and "Nothing at" in result.stderr and "Traceback" not in result.stderr


def test_importing_the_package_or_its_cli_never_imports_ray():
    code = "import sys, poster_genre, poster_genre.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'pyarrow')))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.stdout.strip() == "[]", result.stderr


@pytest.mark.parametrize("posters, actors, batch_size", [(30, 2, 16), (1000, 2, 16), (3, 4, 16), (1, 2, 16),
                                                          (200, 8, 4)])
def test_blocks_give_every_actor_work(posters, actors, batch_size):
    from poster_genre_ray import work_split

    blocks, batch = work_split(posters, actors, batch_size)
    assert blocks % actors == 0 or blocks == posters  # a multiple of the pool, or one block a poster
    assert blocks >= min(actors, posters) and batch <= max(1, posters // blocks) and 1 <= batch <= batch_size
