"""The verifier's custody replay over an export: memory as the log grows, and speed.

    python -m bench.replay_bench EXPORT                      # the replay as `verify` runs it, RSS every 100,000
    python -m bench.replay_bench EXPORT --in-memory          # no spill: the whole state in memory (for comparison)
    python -m bench.replay_bench EXPORT --entries 200000 --every 20000 --records-in-memory 50000

Only the custody replay (:class:`trace.replay.CustodyReplay`) is measured, in this process: leaves are parsed but
neither signatures nor chain are checked (``python -m trace verify`` does those, in worker processes, and its
peak RSS is the figure to quote for the whole). Every ``--every`` entries it records the resident set (VmRSS),
its peak so far (VmHWM), CPU seconds (``time.process_time``) and the spills so far; at the end the rate. Figures
go to ``bench/results/replay.json`` (one run per export name and mode; other runs in the file are kept).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import log, machine
from ledger.export import ExportEntry, read_export
from ledger.statements import parse_leaf, parse_time
from ledger.verifier import read_lines
from trace.replay import RECORDS_IN_MEMORY, CustodyReplay, genesis_registrar
from trace.settings import ROOT

RESULTS = ROOT / "bench" / "results" / "replay.json"


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def measure(path: Path, *, records_in_memory: int, entries: int | None, every: int) -> dict[str, Any]:
    """Replay the custody rules over the export's first ``entries`` entries (all by default)."""
    samples: list[dict[str, Any]] = []
    done = 0
    started_cpu, started = time.process_time(), time.perf_counter()
    with CustodyReplay(genesis_registrar(read_lines(path)), records_in_memory=records_in_memory) as replay:
        _, items = read_export(read_lines(path))
        for item in items:
            if not isinstance(item, ExportEntry):
                continue
            if entries is not None and done >= entries:
                break
            leaf = parse_leaf(item.leaf)
            statement = leaf.signed.statement
            if not statement.type.startswith("ledger."):
                replay.apply(statement, item.index, parse_time(leaf.received))
            done += 1
            if done % every == 0:
                samples.append({"entries": done, "rss_mib": round(_status_kib("VmRSS") / 1024, 1),
                                "peak_rss_mib": round(_status_kib("VmHWM") / 1024, 1),
                                "cpu_s": round(time.process_time() - started_cpu, 2), "spills": replay.spills})
                log(f"  {samples[-1]}")
        events, spills = replay.events, replay.spills
    cpu = time.process_time() - started_cpu
    return {"export": path.name, "entries": done, "events": events, "records_in_memory": records_in_memory,
            "spills": spills, "cpu_s": round(cpu, 2), "wall_s": round(time.perf_counter() - started, 2),
            "entries_per_cpu_s": round(done / cpu) if cpu else None,
            "peak_rss_mib": round(_status_kib("VmHWM") / 1024, 1), "samples": samples}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export", type=Path)
    parser.add_argument("--entries", type=int, help="only the first N entries")
    parser.add_argument("--every", type=int, default=100_000, help="sample memory every N entries")
    parser.add_argument("--records-in-memory", type=int, default=RECORDS_IN_MEMORY,
                        help="the replay's cache before it spills (default: what verify uses)")
    parser.add_argument("--in-memory", action="store_true", help="never spill (the state stays in memory)")
    args = parser.parse_args(argv)
    limit = sys.maxsize if args.in_memory else args.records_in_memory
    log(f"custody replay of {args.export} ({'in memory' if args.in_memory else f'spill past {limit:,} records'})")
    figures = measure(args.export, records_in_memory=limit, entries=args.entries, every=args.every)
    log(f"{figures['entries']:,} entries, {figures['entries_per_cpu_s']:,} entries per CPU second, peak RSS "
        f"{figures['peak_rss_mib']} MiB, {figures['spills']} spills")
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    results.update(machine())
    runs = results.setdefault("runs", {})
    runs[f"{args.export.name}{' in memory' if args.in_memory else ''}"] = figures
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
