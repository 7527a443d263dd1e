"""The real application served over HTTP on a loopback port, and the enterprise client run in process: what the
client's end-to-end tests share."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from werkzeug.serving import make_server

from trace.__main__ import build_parser
from trace.settings import Settings


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free loopback port (threaded) until the block ends; yields its base URL."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join()
        httpd.server_close()


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``python -m trace client ARGV`` in process; returns the exit status, stdout and stderr."""
    capsys.readouterr()
    args = build_parser().parse_args(["client", *argv])
    status = int(args.handler(Settings.load(environ={}), args))
    out, err = capsys.readouterr()
    return status, out, err
