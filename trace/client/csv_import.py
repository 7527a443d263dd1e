"""``client import-csv`` and ``client csv-template``: a CSV file of one event type checked locally, checked and
drafted by the server, signed here and submitted as one atomic batch, so the file is appended whole or not at all
(docs/csv-import.md).

The server's drafts are signed only after checking each is what the file asks for: the client reads the file with
the same rules as the server (:func:`trace.csv_import.parse_csv`) and compares every draft's type, author, key and
body with its own reading of the row, and the drafts' chain (``seq``, ``prev``) and hashes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from ledger import Statement, sign_statement

from ..csv_import import ImportPlan, RowError, parse_csv, template_csv
from ..settings import Settings
from .commands import ledger_origin
from .drafts import check_draft
from .errors import ClientError, InputError
from .http import JsonClient, quote_segment
from .keyfile import KeyFile, load_key_file, read_passphrase, request_signer
from .submit import MAX_BATCH, Submitted, submit

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def cmd_csv_template(settings: Settings, args: argparse.Namespace) -> int:
    path = Path(args.out)
    try:
        with path.open("xb") as out:
            out.write(template_csv(args.type))
    except FileExistsError:
        raise InputError(f"{path} exists: choose a new file for the template") from None
    print(f"template for {args.type} written to {path}; see docs/csv-import.md for its columns", file=sys.stderr)
    return EXIT_OK


def cmd_import_csv(settings: Settings, args: argparse.Namespace) -> int:
    data = _read(Path(args.file))
    plan = parse_csv(data, args.type)  # before the passphrase and the network: most mistakes are found here
    if plan.errors:
        return _report(args.file, plan.errors)
    key = load_key_file(Path(args.key), read_passphrase(confirm=False))
    client = JsonClient(args.server, timeout=args.timeout, retries=args.retries)
    path = f"/api/v1/enterprises/{quote_segment(key.credit_code)}/imports?" + urlencode({"type": args.type})
    answer = client.request("POST", path, raw=(data, "text/csv"), sign=request_signer(key)).body
    errors = [RowError(item.get("row"), item.get("column"), str(item.get("reason")), str(item.get("code")))
              for item in answer.get("errors", ())] if isinstance(answer, dict) else []
    if errors:
        return _report(args.file, errors)
    envelopes = sign_drafts(key, plan, answer.get("drafts") if isinstance(answer, dict) else None,
                            origin=ledger_origin(client))
    print(f"signed {len(envelopes)} statement(s) from {plan.rows} row(s) of {args.file}", file=sys.stderr)
    if args.out:
        _write(Path(args.out), envelopes)
    items = [Submitted(rows[0], envelope, hash_) for rows, (envelope, hash_) in zip(plan.request_rows, envelopes,
                                                                                     strict=True)]
    outcomes, tree_size = submit(client, items, atomic=True, batch_size=MAX_BATCH)
    for outcome in outcomes:
        if outcome.accepted:
            state = "duplicate of" if outcome.status == "duplicate" else "appended at"
            print(f"row {outcome.item.line}: {state} index {outcome.index} ({outcome.item.statement_hash})")
        elif outcome.status == "refused":
            print(f"row {outcome.item.line}: REFUSED {outcome.code}: {outcome.message}")
    if all(outcome.accepted for outcome in outcomes):
        print(f"all {len(outcomes)} statement(s) appended; tree size {tree_size}", file=sys.stderr)
        return EXIT_OK
    print("nothing was appended: the file is all or nothing; fix the refused rows and import it again",
          file=sys.stderr)
    return EXIT_FAILED


def sign_drafts(key: KeyFile, plan: ImportPlan, drafts: Any, *,
                origin: str) -> list[tuple[dict[str, Any], str]]:
    """Sign the server's drafts after checking them against ``plan`` (this file read here): one per statement,
    each of the plan's type, by ``key``'s author and key, with the row's body (and time when the row gives one),
    on ledger ``origin``, chained one after another, and hashed as the server said
    (:func:`trace.client.drafts.check_draft`). Returns ``(envelope, statement hash)`` pairs.
    Raises :class:`ClientError` (``client.response``) naming the row of the first draft that is not so."""
    if not isinstance(drafts, list) or len(drafts) != len(plan.requests):
        count = len(drafts) if isinstance(drafts, list) else "no"
        raise ClientError(f"the server drafted {count} statements for the {len(plan.requests)} this file asks for",
                          code="client.response")
    signed: list[tuple[dict[str, Any], str]] = []
    previous: Statement | None = None
    for draft, request, rows in zip(drafts, plan.requests, plan.request_rows, strict=True):
        fields = draft.get("statement") if isinstance(draft, dict) else None
        where = f"row {rows[0]}"
        if not isinstance(fields, dict):
            raise ClientError(f"{where}: the server sent no statement to sign", code="client.response")
        expected = {"type": request.type, "author": key.credit_code, "key": key.key_id, "body": request.body,
                    **({"time": request.time} if request.time else {})}
        for name, value in expected.items():
            if fields.get(name) != value:
                raise ClientError(f"{where}: the server's draft has {name} {json.dumps(fields.get(name))[:200]}, "
                                  f"this file asks for {json.dumps(value, ensure_ascii=False)[:200]}; nothing was "
                                  "signed", code="client.response")
        statement = check_draft(draft, key, origin=origin, previous=previous, where=where)
        signed.append((sign_statement(key.signer, statement).envelope(), statement.hash_hex))
        previous = statement
    return signed


def _report(name: str, errors: list[RowError]) -> int:
    for error in errors:
        where = "file" if error.row is None else f"row {error.row}"
        print(f"{name}: {where}{', ' + error.column if error.column else ''}: {error.reason} ({error.code})")
    print(f"{len(errors)} problem(s) in {name}; nothing was signed or sent", file=sys.stderr)
    return EXIT_USAGE


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def _write(path: Path, envelopes: list[tuple[dict[str, Any], str]]) -> None:
    try:
        with path.open("x", encoding="utf-8") as out:  # never overwrite signed statements not yet submitted
            out.writelines(json.dumps(envelope, ensure_ascii=False) + "\n" for envelope, _ in envelopes)
    except FileExistsError:
        raise InputError(f"{path} exists: choose a new file for the signed statements") from None
    print(f"{len(envelopes)} signed statement(s) written to {path}", file=sys.stderr)
