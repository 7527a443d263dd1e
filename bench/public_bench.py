"""Public page benchmark: server-side latency of the page a QR code resolves to, at 10,000 and 1,000,000 entries.

    python -m bench.public_bench                 # both sizes; builds a missing ledger with `python -m trace synth`
                                                 # and stores its verdicts with `python -m trace verdicts`
    python -m bench.public_bench --sizes 10000   # one size
    python -m bench.public_bench --database var/bench/copy-1m.db --keys var/bench/keys-1m --sizes 1000000
                                                 # a copy of a ledger (the bench writes: it counts look-ups)

For each size, a synthetic SQLite ledger under ``var/bench/`` (``public-10k.db``, ``public-1m.db``; keys beside
them, passphrase ``bench``) is served in-process by ``api.create_app`` and a Flask test client requests ``GET
/01/{gtin}/10/{lot}`` for 1,000 lots drawn at random (``--seed``: the same draw on every run over the same ledger;
6,000 requests), after a warm-up on 300 of them. The ledger is measured as a deployment runs it, with the
verdicts' worker caught up (``trace.verdicts``):
``pages_with_stored_verdict`` says how many of the lots had their verdict stored, and a page without one checks its
bundle on the view. The figures are given for all requests, for a page's first view in the process and for repeat
views. Each timing is the whole server-side request: routing, the provenance walk, the server's verdict, the look-up
count (one upsert and commit) and the template. No network is involved, so the figures are the server's share of
what a phone waits for. The same requests are also given in CPU time (``cpu``), steadier than wall-clock time on a
shared machine. A page lists the latest events of each batch and proves the latest ones of its own batch
(``trace.public.TIMELINE_EVENTS``), so ``mean_steps_per_page`` and ``max_steps_per_page`` count the events a page
lists. Figures go to ``bench/results/public.json`` (``--out``).

Targets (issue 5): p99 under 50 ms, and p99 at 1,000,000 entries no more than 30% above p99 at 10,000.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select

from api import create_app
from trace.models import Batch
from trace.settings import ROOT
from trace.verdicts import BatchVerdict

RESULTS = ROOT / "bench" / "results" / "public.json"
BENCH_DIR = ROOT / "var" / "bench"
PASSPHRASE = "bench"
NAMES = {10_000: "public-10k", 1_000_000: "public-1m"}
RUN_COUNT = re.compile(r'<li class="run" data-type="[^"]+" data-count="(\d+)"')


def ledger_for(size: int) -> tuple[str, str]:
    """The database URL and key directory of the synthetic ledger of ``size`` entries, built when missing."""
    name = NAMES.get(size, f"public-{size}")
    database = BENCH_DIR / f"{name}.db"
    keys = BENCH_DIR / f"keys-{name.removeprefix('public-')}"
    url = f"sqlite:///{database}"
    if not database.exists():
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        environment = {**os.environ, "TRACE_DATABASE_URL": url, "TRACE_KEY_DIR": str(keys),
                       "TRACE_KEY_PASSPHRASE": PASSPHRASE}
        print(f"building a ledger of {size:,} entries in {database}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "trace", "init-db"], env=environment, check=True, cwd=ROOT)
        subprocess.run([sys.executable, "-m", "trace", "synth", "--entries", str(size), "--quiet"],
                       env=environment, check=True, cwd=ROOT)
        subprocess.run([sys.executable, "-m", "trace", "verdicts"], env=environment, check=True, cwd=ROOT)
    return url, str(keys)


def page_paths(app: Any, count: int, seed: int = 1) -> list[str]:
    """``count`` public page paths of lots drawn at random (``seed``) from all the ledger's lots."""
    return [path for path, _ in _lots(app, count, seed)]


def _lots(app: Any, count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` lots drawn at random with ``seed``, the same ones on every run over the same ledger (a p99 rests on
    the few largest pages drawn, so two runs compare only on the same draw): their page paths and references."""
    with app.extensions["trace"].sessions() as session:
        rows = session.execute(select(Batch.gtin, Batch.lot, Batch.ref).where(Batch.kind == "lot")
                               .order_by(Batch.ref)).all()
    drawn = random.Random(seed).sample(rows, min(count, len(rows)))
    return [(f"/01/{gtin}/10/{quote(lot, safe='')}", ref) for gtin, lot, ref in drawn]


def _stored_verdicts(app: Any, refs: list[str]) -> int:
    """How many of the batches ``refs`` have a verdict stored by the worker (``python -m trace verdicts``)."""
    with app.extensions["trace"].sessions() as session:
        return int(session.scalar(select(func.count(func.distinct(BatchVerdict.ref)))
                                  .where(BatchVerdict.ref.in_(refs))) or 0)


def measure(size: int, requests: int, warmup: int, database: str | None = None,
            keys: str | None = None, pages: int = 300, seed: int = 1) -> dict[str, Any]:
    url, key_dir = (f"sqlite:///{database}", keys or "") if database else ledger_for(size)
    return measure_ledger(url, key_dir, PASSPHRASE, requests=requests, warmup=warmup, entries=size, pages=pages,
                          seed=seed)


def measure_ledger(url: str, key_dir: str, passphrase: str, *, requests: int, warmup: int, entries: int,
                   pages: int = 300, origin: str | None = None, seed: int = 1) -> dict[str, Any]:
    """The page latency figures of the ledger at ``url`` (``entries`` is recorded as its size): ``requests``
    requests over ``pages`` lots drawn at random with ``seed``, after a warm-up on ``warmup`` of them. ``origin``:
    the ledger's origin when it is not the configured one."""
    config: dict[str, Any] = {"database_url": url, "key_dir": key_dir, "key_passphrase": passphrase,
                              "rate_limits": False, "log_level": "WARNING"}
    if origin is not None:
        config["ledger_origin"] = origin
    app = create_app(config)
    lots = _lots(app, pages, seed)
    if not lots:
        raise RuntimeError(f"the ledger at {url} has no lots")
    paths = [path for path, _ in lots]
    stored = _stored_verdicts(app, [ref for _, ref in lots])
    warmup = min(warmup, len(paths) // 3)  # a small ledger has few lots: keep some first views to time
    client = app.test_client()
    for path in paths[:warmup]:
        assert client.get(path).status_code == 200, path
    timings, steps, seen, warm, cold = [], [], set(paths[:warmup]), [], []
    cpu: dict[str, list[float]] = {"all": [], "first_views": [], "repeat_views": []}
    for number in range(requests):
        path = paths[number % len(paths)]
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        cpu["all"].append((time.process_time() - started_cpu) * 1000)
        (warm if path in seen else cold).append(timings[-1])
        cpu["repeat_views" if path in seen else "first_views"].append(cpu["all"][-1])
        seen.add(path)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}")
        html = response.get_data(as_text=True)  # events listed: one line each, or several in a run's line
        steps.append(html.count('data-entry="') + sum(map(int, RUN_COUNT.findall(html))))
    app.extensions["trace"].engine.dispose()
    return {"entries": entries, "requests": requests, "distinct_pages": len(paths),
            "pages_with_stored_verdict": stored,
            **_percentiles(timings), "mean_steps_per_page": round(statistics.fmean(steps), 1),
            "max_steps_per_page": max(steps),
            # a page's first view in this process (its verdict read from the table when stored, otherwise checked
            # and stored by the view); later views find the bundle's checkpoint in the worker's memory as well
            "first_views": {"requests": len(cold), **_percentiles(cold)},
            "repeat_views": {"requests": len(warm), **_percentiles(warm)},
            # the same requests in CPU time (the benchmark's process: the server's work without waiting for the
            # disk or for other processes), steadier than wall-clock time on a shared machine
            "cpu": {name: _percentiles(values) for name, values in cpu.items()}}


def _percentiles(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    if not ordered:
        return {}
    return {"p50_ms": round(statistics.median(ordered), 2), "p90_ms": round(ordered[int(0.90 * len(ordered))], 2),
            "p99_ms": round(ordered[int(0.99 * len(ordered))], 2), "max_ms": round(ordered[-1], 2),
            "mean_ms": round(statistics.fmean(ordered), 2)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--pages", type=int, default=1000, help="distinct lots drawn at random (a p99 over 300 "
                                                                 "depended on the few largest pages drawn)")
    parser.add_argument("--seed", type=int, default=1, help="the draw of lots (the same on every run by default)")
    parser.add_argument("--database", help="an SQLite ledger file to measure instead of the built one (one size: "
                                           "--sizes names its size for the figures)")
    parser.add_argument("--keys", help="the key directory of --database (passphrase 'bench')")
    parser.add_argument("--out", default=str(RESULTS), help="where to write the figures (JSON)")
    options = parser.parse_args(argv)
    if options.database and (len(options.sizes) != 1 or not options.keys):
        parser.error("--database needs --keys and exactly one --sizes")
    runs = []
    for size in options.sizes:
        print(f"measuring the public page at {size:,} entries", file=sys.stderr)
        runs.append(measure(size, options.requests, options.warmup, options.database, options.keys,
                            pages=options.pages, seed=options.seed))
        print(json.dumps(runs[-1]), file=sys.stderr)
    result: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                          "platform": platform.platform()},
                              "database": "sqlite", "runs": runs}
    if len(runs) >= 2:
        result["p99_growth"] = round(runs[-1]["p99_ms"] / runs[0]["p99_ms"] - 1, 3)
        result["p50_growth"] = round(runs[-1]["p50_ms"] / runs[0]["p50_ms"] - 1, 3)
        result["cpu_p99_growth"] = round(runs[-1]["cpu"]["all"]["p99_ms"] / runs[0]["cpu"]["all"]["p99_ms"] - 1, 3)
    out = Path(options.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
