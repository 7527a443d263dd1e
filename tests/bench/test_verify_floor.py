"""The verification floor benchmark on a small ledger: the three pipelines see every entry, and a bad signature
stops the floors as it stops the verifier."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import verify_floor


@pytest.mark.slow
def test_floor_measures_three_pipelines_over_every_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify_floor, "RAW_SECONDS", 0.2)
    out = tmp_path / "floor.json"
    assert verify_floor.main(["--entries", "1500", "--rounds", "1", "--workdir", str(tmp_path),
                              "--out", str(out)]) == 0

    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["entries"] == 1500
    (round_,) = results["rounds"]
    assert round_["raw_per_s"] > 0
    for name in ("signatures", "parse_and_signatures", "verifier"):
        assert round_[name]["entries"] == 1500
        assert round_[name]["ratio"] == pytest.approx(round_[name]["entries_per_s"] / round_["raw_per_s"], abs=1e-3)
    assert [path.name for path in tmp_path.iterdir()] == ["floor.json"]  # the scratch ledger is removed


def test_a_bad_signature_stops_the_floor_pipelines(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    monkeypatch.setitem(verify_floor._KEYS, "0123456789abcdef", private.public_key())
    message = b"message"
    assert verify_floor._verify_triples([("0123456789abcdef", private.sign(message), message)]) == 1
    with pytest.raises(RuntimeError, match="does not verify"):
        verify_floor._verify_triples([("0123456789abcdef", private.sign(message), message + b"!")])
