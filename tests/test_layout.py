"""The repository's own `trace` package must shadow the standard library's `trace` module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import trace

ROOT = Path(__file__).resolve().parent.parent


def test_trace_is_this_projects_package() -> None:
    assert Path(trace.__file__).resolve() == ROOT / "trace" / "__init__.py"
    from trace import settings
    assert settings.ROOT == ROOT


def test_python_dash_m_trace_runs_our_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "trace", "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "init-db" in result.stdout and "verify" in result.stdout


def test_every_command_has_help() -> None:
    for command in ("init-db", "migrate", "load-demo", "serve", "operator-key", "export", "verify"):
        result = subprocess.run([sys.executable, "-m", "trace", command, "--help"], cwd=ROOT, capture_output=True,
                                text=True, timeout=60, check=False)
        assert result.returncode == 0, (command, result.stderr)
        assert "usage: python -m trace " + command in result.stdout
