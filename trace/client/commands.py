"""The handlers of ``python -m trace client …``: each takes ``(settings, args)``, prints its result and returns
the exit status (0 done, 1 refused or failed, 2 bad input). The settings are unused: the client talks to a
server over HTTP and holds no database."""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger import LedgerError, ProofError, parse_verifier_key, verify_entry_bundle
from ledger.checkpoint import VerifierKey

from ..access import key_request_message
from ..identifiers import uscc_problem
from ..ledger_service import StatementWriter
from ..settings import Settings
from .errors import ClientError, InputError, ServerError
from .http import JsonClient, quote_segment
from .keyfile import KeyFile, generate_key_file, load_key_file, read_passphrase
from .statements import StatementSpec, sign_specs, spec_from_fields, specs_from_csv, specs_from_json
from .submit import Outcome, read_envelopes, read_receipts, submit, write_receipts

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PENDING = 0, 1, 2, 3


def cmd_keygen(settings: Settings, args: argparse.Namespace) -> int:
    path = Path(args.out)
    if path.exists():
        raise ClientError(f"{path} exists: a key file is never overwritten", code="client.key_file")
    problem = uscc_problem(args.credit_code)
    if problem:
        print(f"warning: {args.credit_code} is not a valid credit code ({problem}); the registrar decides",
              file=sys.stderr)
    key = generate_key_file(path, args.credit_code, read_passphrase(confirm=True))
    print(f"key file {path} written for {key.credit_code}")
    print(f"key id:     {key.key_id}")
    print(f"public key: {key.public_key_b64}")
    return EXIT_OK


def cmd_request_key(settings: Settings, args: argparse.Namespace) -> int:
    key = _key(args)
    client = _client(args)
    origin = ledger_origin(client)
    proof = key.signer.sign(key_request_message(origin, key.credit_code, key.public_key_b64, args.label))
    answer = client.post(f"/api/v1/enterprises/{quote_segment(key.credit_code)}/key-requests", {
        "public_key": key.public_key_b64, "label": args.label,
        "proof": base64.b64encode(proof).decode("ascii")}).body
    print(f"key request {answer.get('id')}: {answer.get('status')} (key {answer.get('key_id', key.key_id)} for "
          f"{key.credit_code} on {origin})")
    print(f"follow it with: python -m trace client key-status --server {args.server} {answer.get('id')}")
    return EXIT_OK


def cmd_key_status(settings: Settings, args: argparse.Namespace) -> int:
    client = _client(args)
    deadline = time.monotonic() + args.wait
    while True:
        answer = client.get(f"/api/v1/key-requests/{quote_segment(args.request_id)}")
        status = answer.get("status")
        if status != "pending" or time.monotonic() + args.interval > deadline:
            break
        time.sleep(args.interval)
    details = [f"key {answer.get('key_id')}"]
    if answer.get("entry_index") is not None:
        details.append(f"registered at entry {answer['entry_index']}")
    if answer.get("reason"):
        details.append(f"reason: {answer['reason']}")
    print(f"key request {answer.get('id')}: {status} ({'; '.join(details)})")
    return {"approved": EXIT_OK, "rejected": EXIT_FAILED}.get(str(status), EXIT_PENDING)


def cmd_sign(settings: Settings, args: argparse.Namespace) -> int:
    envelopes = _sign(args)
    if args.out:
        _write_envelopes(Path(args.out), envelopes)
    else:
        sys.stdout.writelines(json.dumps(envelope, ensure_ascii=False) + "\n" for envelope in envelopes)
    return EXIT_OK


def cmd_submit(settings: Settings, args: argparse.Namespace) -> int:
    return _submit(args, Path(args.file))


def cmd_send(settings: Settings, args: argparse.Namespace) -> int:
    if not args.out:
        raise InputError("send needs --out FILE: the signed statements are kept there, so a failed upload can "
                         "be resubmitted with `client submit` instead of being signed again")
    _write_envelopes(Path(args.out), _sign(args))
    return _submit(args, Path(args.out))


def cmd_prove(settings: Settings, args: argparse.Namespace) -> int:
    operator_key = _operator_key(args.operator_key)
    targets: list[tuple[int, str | None]] = [(index, None) for index in args.indexes]
    if args.receipts:
        targets += read_receipts(Path(args.receipts))
    if not targets:
        raise InputError("give entry indexes or --receipts FILE")
    client = _client(args)
    failed = 0
    for index, expected in targets:
        try:
            line = prove_entry(client, operator_key, index, expected)
        except LedgerError as exc:
            failed += 1
            print(f"FAILED entry {index}: {exc}", file=sys.stderr)
        else:
            print(line)
    print(f"{len(targets) - failed} of {len(targets)} entries proved", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def prove_entry(client: JsonClient, operator_key: VerifierKey, index: int, expected_hash: str | None) -> str:
    """Fetch entry ``index``'s proof bundle and verify it offline against ``operator_key``, and that it holds
    ``expected_hash`` when given; returns the OK line. Raises :class:`ledger.ProofError` or
    :class:`ServerError`."""
    bundle = client.get(f"/api/v1/ledger/entries/{index}/bundle")
    verified = verify_entry_bundle(bundle, operator_key)
    statement = verified.leaf.statement
    if verified.index != index:
        raise ProofError(f"asked for entry {index}, the bundle proves entry {verified.index}", code="proof.index")
    if expected_hash is not None and statement.hash_hex != expected_hash:
        raise ProofError(f"entry {index} holds statement {statement.hash_hex}, the receipt names {expected_hash}",
                         code="proof.receipt")
    return (f"OK entry {index}: {statement.type} by {statement.author} seq {statement.seq}, statement "
            f"{statement.hash_hex}, in checkpoint {verified.checkpoint.origin} size {verified.checkpoint.size}")


def ledger_origin(client: JsonClient) -> str:
    """The ledger origin from ``GET /api/v1/health``; raises :class:`ClientError` for an unusable answer."""
    health = client.get("/api/v1/health")
    origin = health.get("ledger", {}).get("origin") if isinstance(health, dict) else None
    if not isinstance(origin, str) or not origin:
        raise ClientError("the health answer names no ledger origin", code="client.response")
    return origin


def author_head(client: JsonClient, author: str) -> tuple[int, str | None]:
    """``(next_seq, prev)`` of ``author`` from ``GET /api/v1/authors/{author}/head``."""
    answer = client.get(f"/api/v1/authors/{quote_segment(author)}/head")
    seq, prev = (answer.get("next_seq"), answer.get("prev")) if isinstance(answer, dict) else (None, None)
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1 or not (prev is None or isinstance(prev, str)):
        raise ClientError(f"the author head answer is not {{next_seq, prev}}: {answer!r}"[:300],
                          code="client.response")
    return seq, prev


def batch_head(client: JsonClient, ref: str) -> str | None:
    """The latest statement hash on batch ``ref`` from the server's batch state; None for an unknown batch."""
    try:
        answer = client.get(f"/api/v1/batches/{ref}")
    except ServerError as exc:
        if exc.status == 404:
            return None
        raise
    head = answer.get("head") if isinstance(answer, dict) else None
    return head if isinstance(head, str) else None


def _sign(args: argparse.Namespace) -> list[dict[str, Any]]:
    specs = _specs(args)  # read the inputs before asking for a passphrase
    key = _key(args)
    client = _client(args) if args.server else None
    origin = args.origin or (ledger_origin(client) if client else None)
    if origin is None:
        raise InputError("give --server URL, or --origin, --seq and --prev to sign offline")
    if args.seq is not None:
        prev = None if args.prev in (None, "none", "null") else args.prev
        seq = args.seq
    elif client is not None:
        seq, prev = author_head(client, key.credit_code)
    else:
        raise InputError("give --server URL to read the author's position, or --seq N --prev HEX|none")
    writer = StatementWriter(key.signer, origin, seq, prev)
    envelopes = list(sign_specs(writer, specs, batch_head=(lambda ref: batch_head(client, ref)) if client else None))
    print(f"signed {len(envelopes)} statement(s) for {key.credit_code}, seq {seq}-{writer.seq - 1}; next: "
          f"--seq {writer.seq} --prev {writer.prev}", file=sys.stderr)
    return envelopes


def _specs(args: argparse.Namespace) -> list[StatementSpec]:
    if args.json:
        if args.csv or args.body or args.field or args.type:
            raise InputError("--json FILE gives type and body itself: use it without --type, --csv, --body and "
                             "--field")
        return specs_from_json(Path(args.json))
    if not args.type:
        raise InputError("give --json FILE, or --type with --csv FILE, --body JSON or --field NAME=VALUE")
    if args.csv:
        if args.body or args.field:
            raise InputError("--csv FILE gives the bodies itself: use it without --body and --field")
        return specs_from_csv(Path(args.csv), args.type)
    return [spec_from_fields(args.type, args.body, args.field or [], links_text=args.links, time=args.time)]


def _submit(args: argparse.Namespace, path: Path) -> int:
    items = read_envelopes(path)
    update, close = _progress(len(items), args.quiet)
    try:
        outcomes, tree_size = submit(_client(args), items, atomic=args.atomic, batch_size=args.batch_size,
                                     progress=update)
    finally:
        close()
    for outcome in outcomes:
        print(_describe(outcome))
    counts = {status: sum(1 for outcome in outcomes if outcome.status == status)
              for status in ("appended", "duplicate", "refused", "not_appended", "not_submitted")}
    print(", ".join(f"{count} {status.replace('_', ' ')}" for status, count in counts.items() if count) +
          (f"; tree size {tree_size}" if tree_size is not None else ""), file=sys.stderr)
    if args.receipts:
        written = write_receipts(Path(args.receipts), outcomes)
        print(f"{written} receipt(s) appended to {args.receipts}", file=sys.stderr)
    refused = [outcome for outcome in outcomes if outcome.status == "refused"]
    for outcome in refused:
        print(f"refused: line {outcome.item.line}: {outcome.code}: {outcome.message}", file=sys.stderr)
    return EXIT_OK if all(outcome.accepted for outcome in outcomes) else EXIT_FAILED


def _describe(outcome: Outcome) -> str:
    where = f"line {outcome.item.line}"
    if outcome.status == "appended":
        return f"{where}: appended at index {outcome.index} ({outcome.item.statement_hash})"
    if outcome.status == "duplicate":
        return f"{where}: duplicate of index {outcome.index} ({outcome.item.statement_hash})"
    if outcome.status == "refused":
        return f"{where}: REFUSED {outcome.code}: {outcome.message}"
    if outcome.status == "not_appended":
        return f"{where}: not appended (its atomic batch was refused)"
    return f"{where}: not submitted (an earlier atomic batch was refused)"


def _write_envelopes(path: Path, envelopes: list[dict[str, Any]]) -> None:
    try:
        with path.open("x", encoding="utf-8") as out:  # never overwrite signed statements not yet submitted
            out.writelines(json.dumps(envelope, ensure_ascii=False) + "\n" for envelope in envelopes)
    except FileExistsError:
        raise InputError(f"{path} exists: choose a new file for the signed statements") from None
    print(f"{len(envelopes)} signed statement(s) written to {path}", file=sys.stderr)


def _key(args: argparse.Namespace) -> KeyFile:
    return load_key_file(Path(args.key), read_passphrase(confirm=False))


def _client(args: argparse.Namespace) -> JsonClient:
    return JsonClient(args.server, timeout=args.timeout, retries=args.retries)


def _operator_key(path: str) -> VerifierKey:
    try:
        return parse_verifier_key(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read operator key file {path}: {exc.strerror}") from None


def _progress(total: int, quiet: bool) -> tuple[Callable[[int], None] | None, Callable[[], None]]:
    if quiet or not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm
    bar = tqdm(total=total, unit=" statements", unit_scale=True, file=sys.stderr)
    return bar.update, bar.close


def run_guarded(handler: Callable[[Settings, argparse.Namespace], int]) -> Callable[[Settings, argparse.Namespace],
                                                                                    int]:
    """Wrap a handler so client and server errors print as ``error: code: message`` and exit 1 (2 for bad
    input) instead of reaching the generic handler of ``main``."""
    def guarded(settings: Settings, args: argparse.Namespace) -> int:
        try:
            return handler(settings, args)
        except InputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except LedgerError as exc:  # ClientError, ServerError, and ledger errors such as a bad operator key
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
    guarded.__doc__ = handler.__doc__
    return guarded
