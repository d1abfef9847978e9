"""`python app.py` in a subprocess on 127.0.0.1, and how Debian's headless Chromium opens its page, for
benchmarks, scripts and tests alike."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LABEL = '[data-testid="label-output-value"]'  # the page's most likely genre


def open_page(page, url: str) -> None:
    """Load the page until its poster input is there (the session heartbeat keeps the network busy)."""
    page.goto(url, wait_until="load")
    page.wait_for_selector("input[type=file]", state="attached", timeout=60_000)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """`python app.py` in a subprocess on 127.0.0.1, the way the README starts it."""

    def __init__(self, examples: Path, port: int, *args: str, python: str = sys.executable, cwd: Path = REPO,
                 env: dict[str, str] | None = None) -> None:
        self.url = f"http://127.0.0.1:{port}/"
        env = {**os.environ, "POSTER_GENRE_THREADS": "2", **(env or {})}
        self.process = subprocess.Popen(
            [python, "app.py", "--port", str(port), "--examples", str(examples), *args],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 120) -> None:
        import httpx

        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app.py exited:\n{self.process.stdout.read()}")
            try:
                if httpx.get(self.url + "gradio_api/info", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError("app.py did not start in time")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
