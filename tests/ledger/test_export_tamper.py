"""The offline verifier against tampered exports: every changed byte, reordered, missing or duplicated entry,
swapped or stale checkpoint, truncation, rollback and fork is refused with its code and the first bad entry;
and a dishonest operator who re-signs a forged log is still caught by the key rules and the trusted state."""

from __future__ import annotations

import base64
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger import Checkpoint, VerificationError, VerifierKey, initialise_ledger, open_checkpoint
from ledger.db import make_engine, make_session_factory
from ledger.export import checkpoint_line
from tests.conftest import TEST_ORIGIN, TEST_PASSPHRASE, AcceptTestEvents, LedgerHarness, utcnow
from tests.ledger.forge import (
    SampleLedger,
    build_sample_ledger,
    export_bytes,
    export_checkpoints,
    export_leaves,
    final_checkpoint,
    forge_checkpoint,
    forge_export,
    forge_leaf,
    heads_after,
    line_starts,
    received_of,
    seeded,
    split_lines,
    verify_bytes,
)
from trace.authority import ledger_config, load_authority_keys
from trace.settings import ROOT, Settings

FORMAT_CODES = ("export.", "statement.", "leaf.")


@pytest.fixture
def sample(harness: LedgerHarness, policy: AcceptTestEvents) -> SampleLedger:
    return build_sample_ledger(harness, policy)


def refused_by(data: bytes, key: VerifierKey, *, trusted: Checkpoint | None = None) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        verify_bytes(data, key, trusted=trusted)
    return caught.value


def refused(data: bytes, harness: LedgerHarness, *, trusted: Checkpoint | None = None) -> VerificationError:
    return refused_by(data, harness.operator_key, trusted=trusted)


def join(lines: list[bytes]) -> bytes:
    return b"".join(lines)


@contextmanager
def other_ledger(template: Path, directory: Path, *, copy_keys_from: Path | None) -> Iterator[LedgerHarness]:
    """A second ledger with the same origin in its own SQLite file: with the first ledger's operator and
    registrar keys when ``copy_keys_from`` is given, with fresh keys otherwise."""
    directory.mkdir()
    database = directory / "other.db"
    shutil.copyfile(template, database)
    if copy_keys_from is not None:
        shutil.copytree(copy_keys_from, directory / "keys")
    settings = Settings.load({"database_url": f"sqlite:///{database}", "ledger_origin": TEST_ORIGIN,
                              "key_dir": str(directory / "keys"), "key_passphrase": TEST_PASSPHRASE,
                              "testing": True}, environ={})
    keys = load_authority_keys(settings, create=True)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    config = ledger_config(settings, keys)
    try:
        with sessions() as session:
            initialise_ledger(session, config=config, registrar=keys.registrar, clock=utcnow)
            session.commit()
        yield LedgerHarness(settings, engine, sessions, keys, config)
    finally:
        engine.dispose()


def grow(other: LedgerHarness, events: int) -> None:
    """Register one enterprise on ``other`` and append ``events`` statements from it."""
    enterprise = seeded("ENT-OTHER", 9)
    other.register(enterprise)
    writer = other.writer(enterprise)
    envelopes = [writer.sign("test.event", {"n": number}, utcnow()) for number in range(events)]
    results = other.append(envelopes, policy=AcceptTestEvents())
    assert all(result.error is None for result in results)


# --- the intact ledger and the forger ----------------------------------------------------------------------------


def test_intact_export_verifies(harness: LedgerHarness, sample: SampleLedger) -> None:
    report = verify_bytes(sample.export, harness.operator_key)
    assert report.tree_size == sample.size >= 45
    assert report.types["test.event"] >= 40
    assert report.types["ledger.key.rotate"] == report.types["ledger.key.revoke"] == 1
    assert (report.keys, report.revoked_keys) == (7, 2)  # operator, registrar, A, A2, B, C, D; A and B revoked
    assert report.checkpoint is not None and report.checkpoint.root == report.root
    early = verify_bytes(sample.early_export, harness.operator_key)
    assert early.tree_size == sample.early_size == sample.rotate_index < sample.revoke_index < sample.size


def test_forger_reproduces_the_real_export(harness: LedgerHarness, sample: SampleLedger) -> None:
    """Recomputing chain, tree and checkpoint over unchanged leaves gives the operator's export byte for byte,
    so a forged export differs from an honest one only where the test changes it."""
    assert forge_export(export_leaves(sample.export), harness.config.checkpoint_signer) == sample.export


# --- (a) flipped bytes -------------------------------------------------------------------------------------------
# Thousands of verifications of one export: the bytes do not depend on the database, so these tests share one
# sample ledger built once on SQLite.


@dataclass(frozen=True)
class FlipSample:
    sample: SampleLedger
    key: VerifierKey


@pytest.fixture(scope="module")
def flip_sample(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> FlipSample:
    with other_ledger(sqlite_template, tmp_path_factory.mktemp("flips") / "ledger", copy_keys_from=None) as built:
        return FlipSample(build_sample_ledger(built, AcceptTestEvents()), built.operator_key)


def flipped(data: bytes, position: int, mask: int) -> bytes:
    tampered = bytearray(data)
    tampered[position] ^= mask
    return bytes(tampered)


def test_flip_sample_is_intact(flip_sample: FlipSample) -> None:
    assert verify_bytes(flip_sample.sample.export, flip_sample.key).tree_size == flip_sample.sample.size


@pytest.mark.parametrize(("target", "masks"), [("event", (0x01, 0x80)), ("rotation", (0x01, 0x20))])
def test_every_byte_of_an_entry_line_is_protected(flip_sample: FlipSample, target: str,
                                                  masks: tuple[int, ...]) -> None:
    sample = flip_sample.sample
    data = sample.export
    starts = line_starts(data)
    index = sample.rotate_index + 1 if target == "event" else sample.rotate_index
    line = index + 1
    assert (b'"links":{"LOT-' if target == "event" else b'"type":"ledger.key.rotate"') in split_lines(data)[line]
    codes: set[str] = set()
    for position in range(starts[line], starts[line + 1]):
        for mask in masks:
            error = refused_by(flipped(data, position, mask), flip_sample.key)
            codes.add(error.code)
            assert error.index == index or (error.index is None and error.code.startswith(FORMAT_CODES)), \
                f"byte {position - starts[line]} of entry {index} ^ 0x{mask:02x}: {error}"
    # The flips are caught by every layer: line format, strict JSON, canonical form, order, signature, chain.
    assert {"export.line", "statement.json", "verify.order", "signature.invalid", "verify.chain"} <= codes


def test_every_byte_of_the_checkpoint_line_is_protected(flip_sample: FlipSample) -> None:
    data = flip_sample.sample.export
    start = line_starts(data)[-1]
    for position in range(start, len(data)):
        for mask in (0x01, 0x02):
            error = refused_by(flipped(data, position, mask), flip_sample.key)
            assert error.index is None, f"byte {position - start} of the checkpoint ^ 0x{mask:02x}: {error}"


def test_random_byte_flips_anywhere_are_detected(flip_sample: FlipSample) -> None:
    sample = flip_sample.sample
    data = sample.export
    starts = line_starts(data)
    rng = random.Random(20240917)
    for position in rng.sample(range(len(data)), 400):
        mask = rng.randrange(1, 256)
        error = refused_by(flipped(data, position, mask), flip_sample.key)
        line = max(number for number, start in enumerate(starts) if start <= position)
        where = f"byte {position} (line {line + 1}) ^ 0x{mask:02x}: {error}"
        if 1 <= line <= sample.size:  # an entry line: that entry is the first bad one, or the line does not parse
            assert error.index == line - 1 or (error.index is None and error.code.startswith(FORMAT_CODES)), where
        else:  # the header or the checkpoint line
            assert error.index is None, where


# --- (b) deleted, duplicated and reordered entries ---------------------------------------------------------------


@pytest.mark.parametrize("where", ["first", "middle", "before_last"])
@pytest.mark.parametrize("change", ["delete", "duplicate", "swap"])
def test_missing_duplicated_or_reordered_entries(harness: LedgerHarness, sample: SampleLedger, where: str,
                                                 change: str) -> None:
    lines = split_lines(sample.export)
    index = {"first": 0, "middle": sample.size // 2, "before_last": sample.size - 2}[where]
    line = index + 1
    if change == "delete":
        del lines[line]
        expected = index
    elif change == "duplicate":
        lines.insert(line, lines[line])
        expected = index + 1
    else:
        lines[line], lines[line + 1] = lines[line + 1], lines[line]
        expected = index
    error = refused(join(lines), harness)
    assert (error.code, error.index) == ("verify.order", expected)


# --- (c) swapped checkpoints -------------------------------------------------------------------------------------


def test_checkpoint_of_another_ledger_is_refused(harness: LedgerHarness, sample: SampleLedger,
                                                 sqlite_template: Path, tmp_path: Path) -> None:
    """Same origin, another operator key: its checkpoint (even of the same size) carries no signature by the
    operator key given out of band."""
    with other_ledger(sqlite_template, tmp_path / "other", copy_keys_from=None) as other:
        assert other.keys.operator.public_key != harness.keys.operator.public_key
        grow(other, sample.size - 2)
        foreign = export_checkpoints(export_bytes(other))[-1]
    assert foreign.split("\n")[:2] == [TEST_ORIGIN, str(sample.size)]
    lines = split_lines(sample.export)
    lines[-1] = checkpoint_line(foreign) + b"\n"
    error = refused(join(lines), harness)
    assert (error.code, error.index) == ("checkpoint.signature", None)
    # Even a checkpoint over exactly these entries, when another key signs it.
    lines[-1] = checkpoint_line(forge_checkpoint(other.config.checkpoint_signer, export_leaves(sample.export))) + b"\n"
    error = refused(join(lines), harness)
    assert (error.code, error.index) == ("checkpoint.signature", None)


def test_older_checkpoint_of_the_same_ledger_is_refused(harness: LedgerHarness, sample: SampleLedger) -> None:
    older = export_checkpoints(sample.early_export)[-1]
    lines = split_lines(sample.export)
    lines[-1] = checkpoint_line(older) + b"\n"
    error = refused(join(lines), harness)
    assert (error.code, error.index) == ("verify.checkpoint_size", sample.early_size)
    # The newer checkpoint after the older entries claims entries that are not there.
    lines = split_lines(sample.early_export)
    lines[-1] = split_lines(sample.export)[-1]
    error = refused(join(lines), harness)
    assert (error.code, error.index) == ("verify.checkpoint_size", sample.early_size)


def test_operator_signed_checkpoint_with_a_wrong_root_is_refused(harness: LedgerHarness,
                                                                 sample: SampleLedger) -> None:
    leaves = export_leaves(sample.export)
    wrong = leaves[:-1] + [leaves[-2]]  # right size, other leaves: a root the entries do not give
    lines = split_lines(sample.export)
    lines[-1] = checkpoint_line(forge_checkpoint(harness.config.checkpoint_signer, wrong)) + b"\n"
    error = refused(join(lines), harness)
    assert (error.code, error.index) == ("verify.checkpoint_root", sample.size - 1)


def test_intermediate_checkpoints_are_checked(harness: LedgerHarness, sample: SampleLedger) -> None:
    leaves = export_leaves(sample.export)
    signer = harness.config.checkpoint_signer
    report = verify_bytes(forge_export(leaves, signer, checkpoints=[10, 30]), harness.operator_key)
    assert report.checkpoints_checked == 3
    lines = split_lines(forge_export(leaves, signer, checkpoints=[10, 30]))
    assert lines[11].startswith(b'{"checkpoint":')
    lines[11] = checkpoint_line(forge_checkpoint(signer, leaves[1:11])) + b"\n"  # size 10, other leaves
    error = refused(join(lines), harness)
    assert (error.code, error.index) == ("verify.checkpoint_root", 9)
    # A checkpoint line placed one entry early claims an entry not yet seen.
    lines = split_lines(forge_export(leaves, signer, checkpoints=[10, 30]))
    lines[10], lines[11] = lines[11], lines[10]
    error = refused(join(lines), harness)
    assert (error.code, error.index) == ("verify.checkpoint_size", 9)


def test_checkpoint_signature_must_be_canonical_base64(harness: LedgerHarness, sample: SampleLedger) -> None:
    """Setting the unused low bits of the signature's last base64 character leaves the decoded signature valid;
    such a second encoding of the same checkpoint is refused like any other changed byte."""
    note = export_checkpoints(sample.export)[-1]
    text, signature_line = note[:note.rindex("\n\n") + 2], note[note.rindex("\n\n") + 2:]
    prefix, encoded = signature_line.rstrip("\n").rsplit(" ", 1)
    assert encoded.endswith("=") and not encoded.endswith("==")  # 68 bytes: two unused bits in the last character
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    value = alphabet.index(encoded[-2])
    assert value & 0b11 == 0
    malleable = f"{text}{prefix} {encoded[:-2]}{alphabet[value | 0b11]}=\n"
    assert base64.b64decode(malleable.rsplit(" ", 1)[1]) == base64.b64decode(encoded)
    lines = split_lines(sample.export)
    lines[-1] = checkpoint_line(malleable) + b"\n"
    error = refused(join(lines), harness)
    assert (error.code, error.index) == ("checkpoint.signature", None)


# --- (d) truncation ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dropped", [1, 5])
def test_truncated_export_is_refused(harness: LedgerHarness, sample: SampleLedger, dropped: int) -> None:
    lines = split_lines(sample.export)
    # The last entries and the final checkpoint gone: nothing signs what is left.
    error = refused(join(lines[:-1 - dropped]), harness)
    assert (error.code, error.index) == ("verify.no_checkpoint", None)
    # The last entries gone, the final checkpoint kept: it claims entries that are not there.
    error = refused(join(lines[:-1 - dropped] + lines[-1:]), harness)
    assert (error.code, error.index) == ("verify.checkpoint_size", sample.size - dropped)


def test_export_cut_anywhere_is_refused(harness: LedgerHarness, sample: SampleLedger) -> None:
    data = sample.export
    error = refused(data[:-1], harness)  # the final LF
    assert error.code == "export.line"
    error = refused(data[:len(data) // 2], harness)  # mid-line
    assert error.code == "export.line"
    error = refused(join(split_lines(data)[:-1]), harness)  # only the final checkpoint
    assert (error.code, error.index) == ("verify.no_checkpoint", None)
    error = refused(b"", harness)
    assert error.code == "export.header"
    # A consistent older prefix under the newer header: the header announces more than the file holds.
    error = refused(split_lines(data)[0] + join(split_lines(sample.early_export)[1:]), harness)
    assert (error.code, error.index) == ("verify.truncated", None)


# --- (e) the trusted checkpoint: rollback and fork ---------------------------------------------------------------


def test_trusted_checkpoint_consistent_with_the_export(harness: LedgerHarness, sample: SampleLedger) -> None:
    for trusted in (final_checkpoint(sample.export, harness.operator_key),
                    final_checkpoint(sample.early_export, harness.operator_key)):
        report = verify_bytes(sample.export, harness.operator_key, trusted=trusted)
        assert report.trusted_size == trusted.size


def test_rollback_to_an_older_export_is_refused(harness: LedgerHarness, sample: SampleLedger) -> None:
    """The older export is intact on its own, but the verifier remembers a bigger tree."""
    verify_bytes(sample.early_export, harness.operator_key)
    error = refused(sample.early_export, harness, trusted=final_checkpoint(sample.export, harness.operator_key))
    assert (error.code, error.index) == ("verify.rollback", None)


def test_fork_with_the_same_keys_is_refused(harness: LedgerHarness, sample: SampleLedger, sqlite_template: Path,
                                           tmp_path: Path) -> None:
    """A second ledger run with copies of the same operator and registrar keys but other statements: each
    export is intact alone, and each is refused against a checkpoint remembered from the other."""
    with other_ledger(sqlite_template, tmp_path / "fork", copy_keys_from=Path(harness.settings.key_dir)) as other:
        assert other.operator_key == harness.operator_key
        grow(other, 10)
        forked = export_bytes(other)
    report = verify_bytes(forked, harness.operator_key)
    forked_size = report.tree_size
    assert forked_size < sample.size
    # The trusted checkpoint has the same size as a prefix of this ledger, with another root.
    error = refused(sample.export, harness, trusted=final_checkpoint(forked, harness.operator_key))
    assert (error.code, error.index) == ("verify.fork", forked_size - 1)
    # Seen from the fork, the real ledger's checkpoint is bigger than anything it holds.
    error = refused(forked, harness, trusted=final_checkpoint(sample.export, harness.operator_key))
    assert (error.code, error.index) == ("verify.rollback", None)


def test_cli_state_refuses_rollback_and_fork(harness: LedgerHarness, sample: SampleLedger, sqlite_template: Path,
                                            tmp_path: Path) -> None:
    """``python -m trace verify EXPORT --state DIR`` remembers the checkpoint and refuses to go back."""
    key_file = tmp_path / "operator.key"
    key_file.write_text(harness.operator_key.text() + "\n", encoding="utf-8")
    state = tmp_path / "state"
    paths = {name: tmp_path / f"{name}.export" for name in ("early", "final", "forked")}
    paths["early"].write_bytes(sample.early_export)
    paths["final"].write_bytes(sample.export)
    with other_ledger(sqlite_template, tmp_path / "fork", copy_keys_from=Path(harness.settings.key_dir)) as other:
        grow(other, sample.size - 2)  # genesis, key, events: the same size as the real ledger
        paths["forked"].write_bytes(export_bytes(other))

    def verify(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "trace", "verify", str(paths[name]), "--operator-key",
                               str(key_file), "--state", str(state), "--quiet", "--threads", "1", "--no-custody"],
                              cwd=ROOT, capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})

    first = verify("early")
    assert first.returncode == 0, first.stderr
    second = verify("final")
    assert second.returncode == 0, second.stderr
    assert f"consistent with the trusted checkpoint of size {sample.early_size}" in second.stdout
    remembered = (state / "checkpoint").read_text(encoding="utf-8")
    assert open_checkpoint(remembered, harness.operator_key).size == sample.size
    rollback = verify("early")
    assert rollback.returncode == 1 and "NOT INTACT: verify.rollback" in rollback.stderr
    fork = verify("forked")
    assert fork.returncode == 1 and f"NOT INTACT: entry {sample.size - 1}: verify.fork" in fork.stderr
    assert (state / "checkpoint").read_text(encoding="utf-8") == remembered  # a refused run changes nothing


# --- (f) a dishonest operator re-signing a forged log ------------------------------------------------------------


def test_forged_entry_signed_by_a_revoked_key(harness: LedgerHarness, sample: SampleLedger) -> None:
    leaves = export_leaves(sample.export)
    signer = harness.config.checkpoint_signer
    for revoked, at in ((sample.enterprise_b, sample.revoke_index), (sample.enterprise_a, sample.rotate_index)):
        position = at + 1
        prefix = leaves[:position]
        forged = forge_leaf(revoked, origin=TEST_ORIGIN, heads=heads_after(prefix), received=received_of(leaves[at]),
                            links=("LOT-B2",))
        error = refused(forge_export(prefix + [forged] + leaves[position:], signer), harness)
        assert (error.code, error.index) == ("key.revoked", position)
        # Appended at the very end, the same.
        forged = forge_leaf(revoked, origin=TEST_ORIGIN, heads=heads_after(leaves), received=received_of(leaves[-1]))
        error = refused(forge_export(leaves + [forged], signer), harness)
        assert (error.code, error.index) == ("key.revoked", sample.size)


def test_forged_entry_signed_by_an_unregistered_key(harness: LedgerHarness, sample: SampleLedger) -> None:
    leaves = export_leaves(sample.export)
    signer = harness.config.checkpoint_signer
    position = sample.size // 2
    prefix = leaves[:position]
    received = received_of(leaves[position - 1])
    for forged in (
            forge_leaf(seeded("ENT-GHOST", 7), origin=TEST_ORIGIN, heads=heads_after(prefix), received=received),
            # A registered author with a key the registrar never added.
            forge_leaf(seeded("ENT-C", 8), origin=TEST_ORIGIN, heads=heads_after(prefix), received=received)):
        error = refused(forge_export(prefix + [forged] + leaves[position:], signer), harness)
        assert (error.code, error.index) == ("key.unknown", position)
    # Another enterprise's registered key used to sign as ENT-C.
    forged = forge_leaf(sample.enterprise_a2, origin=TEST_ORIGIN, heads=heads_after(prefix), received=received,
                        author=sample.enterprise_c.author)
    error = refused(forge_export(prefix + [forged] + leaves[position:], signer), harness)
    assert (error.code, error.index) == ("key.wrong_author", position)


def test_backfilled_entry_is_caught_only_by_the_trusted_checkpoint(harness: LedgerHarness,
                                                                    sample: SampleLedger) -> None:
    """An entry inserted in the middle by an operator who re-signs everything obeys every rule (the idle
    enterprise's first statement), so the export alone verifies; the checkpoint remembered from before does
    not match it."""
    leaves = export_leaves(sample.export)
    position = sample.first_event_index + 3
    assert position < sample.early_size
    prefix = leaves[:position]
    forged = forge_leaf(sample.idle, origin=TEST_ORIGIN, heads=heads_after(prefix),
                        received=received_of(leaves[position - 1]))
    backfilled = forge_export(prefix + [forged] + leaves[position:], harness.config.checkpoint_signer)
    report = verify_bytes(backfilled, harness.operator_key)
    assert report.tree_size == sample.size + 1
    error = refused(backfilled, harness, trusted=final_checkpoint(sample.export, harness.operator_key))
    assert (error.code, error.index) == ("verify.fork", sample.size - 1)
    error = refused(backfilled, harness, trusted=final_checkpoint(sample.early_export, harness.operator_key))
    assert (error.code, error.index) == ("verify.fork", sample.early_size - 1)
