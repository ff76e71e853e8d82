"""A real TensorBoard server over an output directory, on a free port of 127.0.0.1, for the tests that read it over
HTTP and in a browser. The test that starts it ends it, by its process handle."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

CHROMIUM_FLAGS = (  # headless, and quiet on a closed network (no background connections to refuse)
    "--headless=new",
    "--no-sandbox",  # as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1920,1000",  # wide enough for the HParams table's metric columns
)
START_TIMEOUT = 120  # seconds for the server to load every event file (--reload_task blocking) and answer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Served:
    """The HTTP API of a TensorBoard serving `logdir` at `url`."""

    def __init__(self, url: str):
        self.url = url

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.loads(response.read())

    def post(self, path: str, body: dict) -> Any:
        """As TensorBoard's own frontend posts: without the XSRF header the server drops the body."""
        headers = {"X-XSRF-Protected": "1", "Content-Type": "application/json"}
        request = urllib.request.Request(self.url + path, json.dumps(body).encode(), headers, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def raw(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return response.read()


@contextlib.contextmanager
def tensorboard(logdir: Path) -> Iterator[Served]:
    """`tensorboard --logdir logdir`, everything loaded before the first answer (TensorBoard 2.21 accepts
    `--reload_task blocking` only with `--reload_interval 0`; `--load_fast=false`: the Python loader, no Rust
    data server)."""
    port = free_port()
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--load_fast=false", "--reload_task", "blocking", "--reload_interval", "0"]
    with tempfile.TemporaryFile("w+") as errors:  # a file, not a pipe: a full pipe would block the server
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, text=True)
        try:
            served = Served(f"http://127.0.0.1:{port}")
            wait_until_answering(served, process, errors)
            yield served
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_answering(served: Served, process: subprocess.Popen, errors: IO[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            errors.seek(0)
            raise RuntimeError(f"tensorboard exited with {process.returncode}: {errors.read()[-2000:]}")
        with contextlib.suppress(urllib.error.URLError, ConnectionError):
            served.get("/data/runs")
            return
        time.sleep(0.5)
    raise TimeoutError(f"tensorboard did not answer within {START_TIMEOUT} s")
