"""Benchmarks (not tests): run from the repository root with ``python -m bench.ledger_bench``."""
