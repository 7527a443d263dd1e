"""The suite's report: which figures a run must hold, a Markdown summary with one table per ledger size, and PNG
plots of how each figure grows with the ledger (matplotlib, Agg backend)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

BACKENDS = ("sqlite", "postgresql")
BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
COLOURS = {"sqlite": "tab:blue", "postgresql": "tab:orange", "ours_in_memory": "tab:blue",
           "ours_stored": "tab:cyan", "pymerkle_in_memory": "tab:red", "pymerkle_sqlite": "tab:purple"}

#: Figures measured once per size (they do not depend on the database): (name, label, path).
SHARED = [
    ("verify_rate", "Ed25519 verify, one core (/s): the denominator", ("verify_rate", "best")),
    ("build_rate", "synthetic build into SQLite (`trace.synth.generate`), entries/s", ("build", "entries_per_s")),
    ("verify_in_process", "verification in process (`verify_export_lines`, 2 workers), entries/s",
     ("verification", "in_process", "entries_per_s")),
    ("verify_in_process_ratio", "… × verify rate", ("verification", "in_process", "ratio")),
    ("verify_cli", "full verification (`python -m trace verify`, custody replay), entries/s",
     ("verification", "cli", "entries_per_s_wall")),
    ("verify_cli_rss", "… its peak RSS, MiB", ("verification", "cli", "peak_rss_mib")),
]
#: Figures measured on each database: (name, label, path).
PER_DATABASE = [
    ("append_in_process_ratio", "append in process (one client, batches of 1000), × verify rate",
     ("append", "in_process", "ratio")),
    ("append_in_process_rate", "… statements/s", ("append", "in_process", "statements_per_s")),
    ("append_http_ratio", "append over HTTP (gunicorn, 2 workers; 2 clients, batches of 1000), × verify rate",
     ("append", "http", "ratio")),
    ("append_http_rate", "… statements/s", ("append", "http", "statements_per_s")),
    ("database_size", "database size, GB per million entries", ("database", "gb_per_million_entries")),
]
#: Latencies measured on each database (p50 and p99 in ms): (name, label, path to the figures).
LATENCIES = [
    ("inclusion", "inclusion proof", ("proofs", "inclusion")),
    ("consistency", "consistency proof", ("proofs", "consistency")),
    ("batch_bundle", "batch proof bundle (whole history)", ("batch_bundle",)),
    ("public_page", "public page `/01/{gtin}/10/{lot}` (in process)", ("public_page",)),
    ("state", "batch state over HTTP", ("reads", "state")),
    ("provenance", "provenance over HTTP, random lots", ("reads", "provenance")),
    ("provenance_largest", "provenance over HTTP, 20 largest graphs", ("reads", "provenance_largest")),
    ("recall_scope", "recall scope, the ledger's recalls", ("recall", "recall_scope")),
    ("recall_preview", "recall scope preview, random lots", ("recall", "recall_preview")),
]
#: The Merkle-tree implementations compared on the same leaves.
TREES = [("ours_in_memory", "ours, in memory"), ("ours_stored", "ours, the ledger's SQLite tree"),
         ("pymerkle_in_memory", "pymerkle InmemoryTree"), ("pymerkle_sqlite", "pymerkle SqliteTree")]
PLOTS = ("append", "verification", "proofs", "reads", "database", "pymerkle")


def lookup(figures: dict[str, Any], path: Sequence[str]) -> Any:
    """The value at ``path`` in nested dicts, or None."""
    value: Any = figures
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def required_figures(run: dict[str, Any]) -> dict[str, Any]:
    """Every figure the report shows for one size, flattened (``sqlite.public_page.p99_ms``, …); a missing one
    is None. The suite's test checks that none is."""
    flat: dict[str, Any] = {name: lookup(run, path) for name, _, path in SHARED}
    for backend in BACKENDS:
        if backend not in run or "skipped" in run[backend]:
            continue
        for name, _, path in PER_DATABASE:
            flat[f"{backend}.{name}"] = lookup(run[backend], path)
        for name, _, path in LATENCIES:
            for percentile in ("p50_ms", "p99_ms"):
                flat[f"{backend}.{name}.{percentile}"] = lookup(run[backend], (*path, percentile))
    for tree, _ in TREES:
        if tree != "ours_stored":
            flat[f"pymerkle.{tree}.build_us_per_leaf"] = lookup(run, ("pymerkle", tree, "build_us_per_leaf"))
        for kind in ("inclusion", "consistency"):
            for percentile in ("p50_ms", "p99_ms"):
                flat[f"pymerkle.{tree}.{kind}.{percentile}"] = lookup(run, ("pymerkle", tree, kind, percentile))
    return flat


# ------------------------------------------------------------------------------------------------- markdown


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if not isinstance(value, float | int):
        return str(value)
    if isinstance(value, float) and value < 1:
        return f"{value:.3g}"
    if isinstance(value, float) and value < 100:
        return f"{value:.2f}" if value < 10 else f"{value:.1f}"
    return f"{value:,.0f}"


def _p50_p99(figures: Any, path: Sequence[str]) -> str:
    return f"{_number(lookup(figures, (*path, 'p50_ms')))} / {_number(lookup(figures, (*path, 'p99_ms')))}"


def size_section(run: dict[str, Any]) -> list[str]:
    """The Markdown of one size: where it was measured, its table, the Merkle-tree comparison."""
    machine = run.get("machine", {})
    backends = [backend for backend in BACKENDS if backend in run and "skipped" not in run[backend]]
    changes = " (with uncommitted changes)" if machine.get("git_tracked_changes") else ""
    lines = [f"## {run['tree_size']:,} entries", "",
             f"Measured {machine.get('date', '?')} in {run.get('seconds', 0):,.0f} s on {machine.get('cpu_count')} × "
             f"{machine.get('cpu_model', '?')}, {machine.get('memory', '?')}, Python {machine.get('python')}, SQLite "
             f"{machine.get('sqlite')}, PostgreSQL {machine.get('postgresql') or '—'}; git "
             f"{str(machine.get('git_commit', ''))[:10]}{changes}.", ""]
    for backend in BACKENDS:
        if "skipped" in run.get(backend, {}):
            lines += [f"{BACKEND_NAMES[backend]} skipped: {run[backend]['skipped']}", ""]
    # gunicorn's processes are not this process's children: phases it serves count them as "other".
    busy = max((phase.get("other_cores", 0.0) for name, phase in run.get("load", {}).items()
                if not name.endswith(("_reads", "_append_http"))), default=0.0)
    if busy > 0.2:
        lines += [f"Other processes used up to {busy} cores during a phase (`load` in the JSON)"
                  + (": **the machine was shared**, the figures are low." if busy > 0.5 else "."), ""]
    lines += ["| figure | " + " | ".join(BACKEND_NAMES[b] for b in backends) + " |",
              "|---|" + "---|" * len(backends)]
    for _, label, path in SHARED:
        lines.append(f"| {label} | {_number(lookup(run, path))} |" + " |" * (len(backends) - 1))
    for _, label, path in PER_DATABASE:
        lines.append(f"| {label} | " + " | ".join(_number(lookup(run[b], path)) for b in backends) + " |")
    for _, label, path in LATENCIES:
        lines.append(f"| {label}, p50 / p99 ms | " + " | ".join(_p50_p99(run[b], path) for b in backends) + " |")
    lines += ["", f"Merkle trees over the same {run['tree_size']:,} leaves (pymerkle "
              f"{lookup(run, ('pymerkle', 'pymerkle')) or '?'}), every root equal to the ledger's:", "",
              "| tree | build, µs per leaf | inclusion p50 / p99 ms | consistency p50 / p99 ms |", "|---|---|---|---|"]
    for tree, label in TREES:
        figures = lookup(run, ("pymerkle", tree)) or {}
        build = _number(figures.get("build_us_per_leaf")) if tree != "ours_stored" else "(while appending)"
        lines.append(f"| {label} | {build} | {_p50_p99(figures, ('inclusion',))} | "
                     f"{_p50_p99(figures, ('consistency',))} |")
    first = lookup(run, ("pymerkle", "pymerkle_sqlite", "first_proof_ms"))
    if first is not None:
        lines += ["", f"pymerkle SqliteTree's first proof, which computes and caches the large subtrees: "
                  f"{first:,.0f} ms."]
    return lines + [""]


def write_markdown(path: Path, runs: dict[int, dict[str, Any]], command: str) -> None:
    lines = ["# Benchmark suite", "", f"Command: `{command}`. Figures: `suite.json` (one `suite-<entries>.json` "
             "per size); plots beside this file.", ""]
    for _, run in sorted(runs.items()):
        lines += size_section(run)
    lines += ["## Plots", ""] + [f"![{name}](suite-{name}.png)" for name in PLOTS] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")


# ---------------------------------------------------------------------------------------------------- plots


def write_plots(directory: Path, runs: dict[int, dict[str, Any]]) -> list[Path]:
    """One PNG per group of figures, each against the ledger size (log scale); returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    sizes = sorted(runs)
    x = [runs[size]["tree_size"] for size in sizes]
    written = []

    def series(path: Sequence[str], backend: str | None = None) -> list[float | None]:
        scopes = [runs[size].get(backend) if backend else runs[size] for size in sizes]
        return [lookup(scope, path) if isinstance(scope, dict) else None for scope in scopes]

    def draw(axis: Any, label: str, values: list[float | None], style: str = "-", marker: str = "o",
             colour: str | None = None) -> None:
        points = [(size, value) for size, value in zip(x, values, strict=True) if value is not None]
        if points:
            axis.plot([p[0] for p in points], [p[1] for p in points], style, marker=marker, label=label,
                      color=colour)

    def finish(figure: Any, axes: Sequence[Any], name: str, title: str) -> None:
        for axis in axes:
            axis.set_xscale("log")
            axis.set_xticks(x, [f"{value:,}" for value in x], fontsize=7)
            axis.minorticks_off()
            axis.grid(True, alpha=0.3)
            axis.set_xlabel("ledger entries")
            if axis.get_legend_handles_labels()[0]:
                axis.legend(fontsize=7)
        figure.suptitle(title, fontsize=10)
        figure.tight_layout()
        out = directory / f"suite-{name}.png"
        figure.savefig(out, dpi=80)
        pyplot.close(figure)
        written.append(out)

    backends = [b for b in BACKENDS if any(b in run and "skipped" not in run[b] for run in runs.values())]

    figure, axis = pyplot.subplots(figsize=(6, 4))
    for backend in backends:
        draw(axis, f"in process, {BACKEND_NAMES[backend]}", series(("append", "in_process", "ratio"), backend),
             colour=COLOURS[backend])
        draw(axis, f"over HTTP, {BACKEND_NAMES[backend]}", series(("append", "http", "ratio"), backend), "--", "s",
             COLOURS[backend])
    axis.set_ylabel("statements/s ÷ Ed25519 verify rate")
    axis.set_ylim(bottom=0)
    finish(figure, [axis], "append", "Append throughput as a ratio of the single-core verify rate")

    figure, (left, right) = pyplot.subplots(1, 2, figsize=(9, 4))
    draw(left, "in process (ledger checks)", series(("verification", "in_process", "entries_per_s")))
    draw(left, "python -m trace verify (custody)", series(("verification", "cli", "entries_per_s_wall")), "--", "s")
    left.set_ylabel("entries/s")
    left.set_ylim(bottom=0)
    draw(right, "python -m trace verify", series(("verification", "cli", "peak_rss_mib")))
    right.set_ylabel("peak RSS, MiB")
    right.set_ylim(bottom=0)
    finish(figure, [left, right], "verification", "Full verification: throughput and memory")

    def latency_grid(name: str, title: str, chosen: list[tuple[str, str, tuple[str, ...]]]) -> None:
        columns = 3
        rows = -(-len(chosen) // columns)
        figure, axes = pyplot.subplots(rows, columns, figsize=(11, 3.2 * rows), squeeze=False)
        flat = [axis for row in axes for axis in row]
        for axis, (_, label, path) in zip(flat, chosen, strict=False):
            for backend in backends:
                draw(axis, f"p50 {BACKEND_NAMES[backend]}", series((*path, "p50_ms"), backend),
                     colour=COLOURS[backend])
                draw(axis, f"p99 {BACKEND_NAMES[backend]}", series((*path, "p99_ms"), backend), "--", "s",
                     COLOURS[backend])
            axis.set_title(label, fontsize=9)
            axis.set_ylabel("ms")
            axis.set_ylim(bottom=0)
        for axis in flat[len(chosen):]:
            axis.set_visible(False)
        finish(figure, flat[:len(chosen)], name, title)

    latency_grid("proofs", "Proof latency", LATENCIES[:3])
    latency_grid("reads", "Public page, provenance and recall-scope latency", LATENCIES[3:])

    figure, axis = pyplot.subplots(figsize=(6, 4))
    for backend in backends:
        draw(axis, BACKEND_NAMES[backend], series(("database", "gb_per_million_entries"), backend),
             colour=COLOURS[backend])
    axis.set_ylabel("GB per million entries")
    axis.set_ylim(bottom=0)
    finish(figure, [axis], "database", "Database size per million entries")

    figure, axes = pyplot.subplots(1, 3, figsize=(12, 4))
    for tree, label in TREES:
        colour = COLOURS[tree]
        if tree != "ours_stored":
            draw(axes[0], label, series(("pymerkle", tree, "build_us_per_leaf")), colour=colour)
        for axis, kind in ((axes[1], "inclusion"), (axes[2], "consistency")):
            draw(axis, label, series(("pymerkle", tree, kind, "p50_ms")), colour=colour)
            draw(axis, "_nolegend_", series(("pymerkle", tree, kind, "p99_ms")), "--", "s", colour)
    for axis, label in zip(axes, ("build, µs per leaf", "inclusion proof, ms (p50 solid, p99 dashed)",
                                  "consistency proof, ms (p50 solid, p99 dashed)"),
                           strict=True):
        axis.set_title(label, fontsize=9)
        axis.set_yscale("log")
    finish(figure, list(axes), "pymerkle", "Merkle tree over the same leaves: ours and pymerkle")
    return written
