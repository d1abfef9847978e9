"""The TMDB fetcher against a local server that behaves like TMDB (no internet)."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import synthetic_poster
from train.fetch_posters import TMDB_GENRE_IDS, fetch, main

KEY = "s3cret-key-123"


def jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    synthetic_poster(seed, (200, 300)).save(buffer, "JPEG")
    return buffer.getvalue()


class FakeTmdb:
    """Discover pages per genre and w500/w342 posters, with a 429, a broken image, a duplicate, a cut download."""

    def __init__(self) -> None:
        self.films = {}  # genre -> list of films
        film_id = 100
        for genre, genre_id in TMDB_GENRE_IDS.items():
            self.films[genre] = []
            for _ in range(6):
                other = 18 if genre != "Drama" else 35
                self.films[genre].append({"id": film_id, "poster_path": f"/p{film_id}.jpg",
                                          "genre_ids": [genre_id, other, 99], "title": f"Film, number {film_id}",
                                          "release_date": f"19{film_id % 100:02d}-05-01"})
                film_id += 1
        self.images = {f"/p{f['id']}.jpg": jpeg(f["id"]) for films in self.films.values() for f in films}
        self.images["/p101.jpg"] = b"\xff\xd8\xff\xe0 broken"  # Action's second film: not a JPEG
        self.images["/p108.jpg"] = self.images["/p100.jpg"]  # Comedy film with Action film 100's bytes
        self.cut = {"/p113.jpg"}  # Drama: the connection drops mid-body
        self.rate_limited_once = False
        self.hits = Counter()
        self.queries = []

    def handler(fake):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlparse(self.path)
                fake.hits[url.path] += 1
                fake.queries.append(self.path)
                if url.path == "/3/discover/movie":
                    if not fake.rate_limited_once:
                        fake.rate_limited_once = True
                        self.send_response(429)
                        self.send_header("Retry-After", "1")
                        self.end_headers()
                        return
                    query = parse_qs(url.query)
                    assert query["api_key"] == [KEY]
                    genre = next(g for g, i in TMDB_GENRE_IDS.items() if str(i) == query["with_genres"][0])
                    page = int(query["page"][0])
                    films = fake.films[genre][(page - 1) * 3: page * 3]
                    return self.reply(json.dumps({"page": page, "total_pages": 2, "results": films}).encode())
                size, _, name = url.path.removeprefix("/t/p/").partition("/")
                name = "/" + name
                if size not in ("w500", "w342"):
                    name = None
                if name not in fake.images:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = fake.images[name]
                if name in fake.cut:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.close()
                    return
                self.reply(body)

            def reply(self, body: bytes):
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


@pytest.fixture
def tmdb():
    fake = FakeTmdb()
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.api_base = f"http://127.0.0.1:{server.server_port}/3"
    fake.image_base = f"http://127.0.0.1:{server.server_port}/t/p"
    yield fake
    server.shutdown()


def run(tmdb, out, *extra):
    return main(["--api-key", KEY, "--out", str(out), "--per-genre", "3", "--api-base", tmdb.api_base,
                 "--image-base", tmdb.image_base, *extra])


def rows(folder):
    with open(folder / "labels.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_fetch_then_resume(tmdb, tmp_path, capsys):
    out = tmp_path / "set"
    assert run(tmdb, out, "--genres", "Action", "Comedy", "Drama") == 0
    err = capsys.readouterr().err
    assert KEY not in err and KEY not in (out / "labels.csv").read_text()
    assert "duplicate image: film 108" in err and "failed: 113" in err
    first = rows(out)
    assert list(first[0]) == ["tmdb_id", "file", "genre", "genres", "title", "year"]
    assert first[0]["title"] == f"Film, number {first[0]['tmdb_id']}" and first[0]["year"] == f"19{first[0]['tmdb_id'][1:]}"
    by_id = {r["tmdb_id"]: r for r in first}
    assert "101" not in by_id and "108" not in by_id and "113" not in by_id  # broken, duplicate, cut
    assert Counter(r["genre"] for r in first) == {"Action": 3, "Comedy": 3, "Drama": 3}
    assert by_id["100"]["genres"] == "Action|Drama" and by_id["100"]["file"] == "posters/100.jpg"
    assert not list(out.rglob("*.part"))  # the cut download left no half file
    for row in first:
        assert (out / row["file"]).stat().st_size > 1000

    # Resume after the interruption: the cut poster is healthy now; nothing is fetched twice.
    tmdb.cut.clear()
    before = tmdb.hits.copy()
    assert run(tmdb, out, "--genres", "Action", "Comedy", "Drama", "Romance") == 0
    second = rows(out)
    assert {r["tmdb_id"] for r in first} <= {r["tmdb_id"] for r in second}
    assert Counter(r["genre"] for r in second)["Romance"] == 3
    for row in first:
        assert tmdb.hits[f"/t/p/w500/p{row['tmdb_id']}.jpg"] == before[f"/t/p/w500/p{row['tmdb_id']}.jpg"]


def test_balanced_and_examples_layout(tmdb, tmp_path):
    report = fetch(KEY, tmp_path / "ex", 6, ["Action", "Romance"], flat=True, balanced=True,
                   api_base=tmdb.api_base, image_base=tmdb.image_base)
    got = rows(tmp_path / "ex")
    counts = Counter(r["genre"] for r in got)
    assert counts["Action"] == counts["Romance"] == 5  # Action has 5 good films of 6 (101 is broken)
    assert all((tmp_path / "ex" / r["file"]).name.startswith(r["genre"].lower() + "_") for r in got)
    assert len(list((tmp_path / "ex").glob("*.jpg"))) == 10  # the sixth Romance poster was removed
    posters = [q for q in tmdb.queries if q.startswith("/t/p/")]
    assert posters and all(q.startswith("/t/p/w342/") for q in posters)  # examples are committed: <= 342 px
    assert report.invalid == ["101"]


def test_missing_key_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--per-genre", "1"])
