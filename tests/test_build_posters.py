"""The public poster set builder on a real git repository made here: generated posters, two commits."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, synthetic_poster
from train.build_posters import LABEL_COLUMNS, main

COLUMNS = ("imdb_id", "tmdb_id", "title", "year", "genres", "imdb_genres", "in_data_imdb", "repository",
           "commit", "path")


def git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def collection(tmp_path) -> tuple[Path, str, str]:
    """`owner/posters`: commit 1 holds tt1..tt3 (tt3 corrupt, tt4 landscape); commit 2 deletes tt1, adds tt5."""
    repo = tmp_path / "clones" / "posters"
    (repo / "img").mkdir(parents=True)
    git(repo, "init", "-q")
    for index in (1, 2):
        synthetic_poster(index, (150 + 10 * index, 240)).save(repo / "img" / f"{index}.jpg")
    (repo / "img" / "3.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a whole jpeg")
    synthetic_poster(4, (300, 200)).save(repo / "img" / "4.jpg")
    synthetic_poster(9, (160, 240)).save(repo / "img" / "9.jpg")  # in the repository, not in films.csv
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    first = git(repo, "rev-parse", "HEAD")
    (repo / "img" / "1.jpg").unlink()
    synthetic_poster(5, (160, 240)).save(repo / "img" / "5.jpg")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "second")
    return repo, first, git(repo, "rev-parse", "HEAD")


def films_csv(folder: Path, rows: list[tuple[str, str, str]]) -> Path:
    """films.csv rows (imdb_id, commit, path) of owner/posters, in the public collections' schema."""
    path = folder / "films.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for imdb_id, commit, file in rows:
            writer.writerow([imdb_id, "", f"Film, {imdb_id}", "2001", "Drama", "Drama|Horror", "0", "owner/posters",
                             commit, file])
    return path


def labels(out: Path) -> list[dict[str, str]]:
    with open(out / "labels.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_builds_exactly_the_listed_posters_at_their_commits_and_again_idempotently(collection, tmp_path):
    repo, first, second = collection
    films = films_csv(tmp_path, [("tt1", first, "img/1.jpg"), ("tt2", second, "img/2.jpg"),
                                 ("tt5", second, "img/5.jpg")])
    out = tmp_path / "built"
    args = ["--films", str(films), "--clones", str(repo.parent), "--out", str(out)]
    assert main(args) == 0
    built = labels(out)
    assert [r["imdb_id"] for r in built] == ["tt1", "tt2", "tt5"]  # tt1 exists only at the first commit
    assert tuple(built[0]) == LABEL_COLUMNS and built[0]["source"] == "owner__posters"
    assert built[0]["title"] == "Film, tt1" and built[0]["imdb_genres"] == "Drama|Horror"
    for row in built:
        path = out / row["file"]
        assert path.read_bytes() == subprocess.run(
            ["git", "-C", str(repo), "show", f"{second if row['imdb_id'] != 'tt1' else first}:img/{row['imdb_id'][2:]}.jpg"],
            capture_output=True, check=True).stdout  # the bytes, unchanged
    assert sorted(p.name for p in (out / "posters").iterdir()) == ["tt1.jpg", "tt2.jpg", "tt5.jpg"]  # never tt9
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "posters").iterdir()}
    before = (out / "labels.csv").read_bytes()
    assert main(args) == 0  # a second build changes nothing and rewrites no poster
    assert (out / "labels.csv").read_bytes() == before
    assert {p.name: p.stat().st_mtime_ns for p in (out / "posters").iterdir()} == stamps


def test_a_missing_file_a_corrupt_image_or_a_landscape_one_is_left_out_and_named(collection, tmp_path, capsys):
    repo, first, second = collection
    films = films_csv(tmp_path, [("tt1", second, "img/1.jpg"), ("tt2", second, "img/2.jpg"),
                                 ("tt3", first, "img/3.jpg"), ("tt4", first, "img/4.jpg")])
    out = tmp_path / "built"
    assert main(["--films", str(films), "--repo", f"owner/posters={repo}", "--out", str(out)]) == 1
    assert [r["imdb_id"] for r in labels(out)] == ["tt2"]
    with open(out / "problems.csv", newline="") as handle:
        problems = {r["imdb_id"]: r["problem"] for r in csv.DictReader(handle)}
    assert problems["tt1"].startswith("no file img/1.jpg at")  # deleted by the second commit
    assert problems["tt3"].startswith("does not decode")
    assert problems["tt4"] == "not a portrait poster (300x200)"
    assert "1 of 4 films built" in capsys.readouterr().err
    assert sorted(p.name for p in (out / "posters").iterdir()) == ["tt2.jpg"]


def test_a_wrong_commit_or_a_missing_repository_stops_before_writing(collection, tmp_path):
    repo, first, _ = collection
    wrong = films_csv(tmp_path, [("tt2", "0" * 40, "img/2.jpg")])
    result = subprocess.run([sys.executable, "-m", "train.build_posters", "--films", str(wrong), "--clones",
                             str(repo.parent), "--out", str(tmp_path / "a")], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2 and f"has no commit {'0' * 40}" in result.stderr
    assert not (tmp_path / "a").exists()
    films = films_csv(tmp_path, [("tt2", first, "img/2.jpg")])
    result = subprocess.run([sys.executable, "-m", "train.build_posters", "--films", str(films), "--clones",
                             str(tmp_path / "nowhere"), "--out", str(tmp_path / "b")], cwd=REPO, capture_output=True,
                            text=True)
    assert result.returncode == 2 and "no clone of owner/posters" in result.stderr
    assert "git clone https://github.com/owner/posters" in result.stderr and not (tmp_path / "b").exists()
