"""``python -m trace synth``: append a synthetic, verifiable ledger (TEST-ONLY data) to the configured database."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .settings import Settings

EXIT_OK, EXIT_FAILED = 0, 1


def _now() -> datetime:
    return datetime.now(UTC)


def cmd_synth(settings: Settings, args: argparse.Namespace) -> int:
    """Initialise the ledger if needed, then append ``--entries`` generated statements; exit 1 on a refusal."""
    from .authority import ledger_config
    from .ledger_service import initialise, open_database
    from .synth import SynthRefused, generate
    keys, _ = initialise(settings, _now)
    engine, sessions = open_database(settings)
    bar: Any = None
    progress: Callable[[int], None] | None = None
    if not args.quiet:
        from tqdm import tqdm
        bar = tqdm(total=args.entries, unit=" entries", unit_scale=True, file=sys.stderr, smoothing=0.1)

        def progress(done: int) -> None:
            bar.update(done - bar.n)
    try:
        report = generate(sessions, config=ledger_config(settings, keys), registrar=keys.registrar, clock=_now,
                          entries=args.entries, seed=args.seed, progress=progress, workers=args.workers,
                          stock_policy=args.stock_policy)
    except SynthRefused as exc:
        print(f"REFUSED: {exc.report.refused} generated statement(s) refused after {exc.report.appended} "
              "appended (a generator bug); first ones:", file=sys.stderr)
        for line in exc.report.refusals:
            print(f"  {line}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if bar is not None:
            bar.close()
        engine.dispose()
    print(f"appended {report.appended} synthetic entries (seed {report.seed}, run tag {report.tag}): ledger size "
          f"{report.start_size} -> {report.end_size}, {report.enterprises} enterprises, {report.products} products")
    print("  " + ", ".join(f"{kind} {count}" for kind, count in sorted(report.mix.items(), key=lambda x: -x[1])))
    print("  flags: " + (", ".join(f"{code} {count}" for code, count in report.flags.items()) or "none"))
    print(f"  {report.seconds:.1f} s, {report.rate:,.0f} entries/s, 0 refused")
    return EXIT_OK


def add_synth_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``synth`` on the command line's sub-parsers (handler ``(settings, args) -> exit code``)."""
    text = ("Append N synthetic traceability statements (TEST-ONLY enterprises, keys and products) to the "
            "configured database through the signed append path, after whatever it holds; initialises the ledger "
            "first if needed. The result passes verify and rebuild-state --check.")
    synth = commands.add_parser("synth", help=text, description=text)
    synth.set_defaults(handler=cmd_synth)
    synth.add_argument("--entries", type=int, required=True, help="how many entries to append")
    synth.add_argument("--seed", type=int, default=1, help="random seed (same seed and ledger size: same data)")
    synth.add_argument("--quiet", action="store_true", help="no progress bar")
    synth.add_argument("--workers", type=int, choices=(0, 1), default=None,
                       help="1: plan and sign in a worker process (default with 2+ CPUs); 0: all in this process")
    synth.add_argument("--stock-policy", action="store_true", help="check with trace.policy.TracePolicy as the "
                       "service does (one query per record: about half as fast) instead of its bulk-loading "
                       "variant")
