"""Ledger test vectors: the generator and the JSON file it writes (see docs/ledger-format.md §12)."""
