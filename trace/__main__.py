"""Command line: ``python -m trace <command>``, run from the repository root.

This module is the composition root of the command line: it reads settings, wires the ledger, the domain and
(for ``serve`` only) the web application, and is the single commit point of each command.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from ledger import (
    Checkpoint,
    LedgerError,
    VerificationError,
    VerifyReport,
    open_checkpoint,
    parse_verifier_key,
    read_lines,
    verifier_key,
    verify_database,
    verify_export_lines,
    write_export,
)
from ledger.checkpoint import VerifierKey
from ledger.db import make_engine, make_session_factory

from .authority import ledger_config, load_authority_keys
from .logs import configure_logging
from .replay import CustodyReplay, genesis_registrar
from .settings import Settings, SettingsError
from .store import (
    StateDifference,
    compare_state,
    dump_book,
    dump_tables,
    ledger_registrar,
    rebuild_state,
    replay_ledger,
)

logger = logging.getLogger("trace.cli")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _now() -> datetime:
    return datetime.now(UTC)


def cmd_init_db(settings: Settings, args: argparse.Namespace) -> int:
    from .ledger_service import initialise
    keys, created = initialise(settings, _now)
    state = "created" if created else "already initialised"
    print(f"ledger {settings.ledger_origin} {state} in {_safe_url(settings.database_url)}")
    print(f"operator key: {verifier_key(settings.ledger_origin, keys.operator.public_key).text()}")
    return EXIT_OK


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from .migrate import upgrade_database
    upgrade_database(settings.database_url)
    print(f"schema up to date in {_safe_url(settings.database_url)}")
    return EXIT_OK


def cmd_load_demo(settings: Settings, args: argparse.Namespace) -> int:
    from .demo import DEMO_ACCOUNTS, DEMO_PASSWORD, demo_enterprises, demo_pages, load_demo
    keys = load_authority_keys(settings)
    engine = make_engine(settings.database_url)
    try:
        appended = load_demo(make_session_factory(engine), config=ledger_config(settings, keys),
                             registrar=keys.registrar, clock=_now)
    finally:
        engine.dispose()
    print(f"demo data: {appended} statements appended ({len(demo_enterprises())} demo enterprises)")
    scheme, host = settings.public_base_url.split("://", 1)
    print(f"inspectors' console: {scheme}://{host}/console/ — demo logins (local use only): "
          f"{', '.join(name for name, _, _ in DEMO_ACCOUNTS)}, password {DEMO_PASSWORD!r}")
    print("demo public pages, each with its QR label (append .svg for vector, /labels/sheet.pdf?code=… for A4):")
    for page in demo_pages():
        path = page.uri(host).removeprefix(f"https://{host}")
        print(f"  {page.title_en}\n    {scheme}://{host}{path}\n    {scheme}://{host}/labels{path}.png")
    return EXIT_OK


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from api import create_app
    app = create_app({"database_url": settings.database_url})
    print(f"serving on http://{args.host}:{args.port}/  (health: /api/v1/health)")
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
    return EXIT_OK


def cmd_operator_key(settings: Settings, args: argparse.Namespace) -> int:
    keys = load_authority_keys(settings)
    text = verifier_key(settings.ledger_origin, keys.operator.public_key).text()
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"operator verifier key written to {args.out}")
    else:
        print(text)
    return EXIT_OK


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    engine = make_engine(settings.database_url)
    target = Path(args.out)
    partial = target.with_name(target.name + ".partial")
    try:
        with make_session_factory(engine)() as session, partial.open("wb") as out:
            size = write_export(session, out, origin=settings.ledger_origin)
        os.replace(partial, target)
    finally:
        engine.dispose()
    print(f"exported {size} entries to {target}")
    return EXIT_OK


def cmd_verify(settings: Settings, args: argparse.Namespace) -> int:
    if bool(args.export) == bool(args.database):
        print("verify: give either an EXPORT file or --database URL", file=sys.stderr)
        return EXIT_USAGE
    key = _read_operator_key(args.operator_key)
    state_file = Path(args.state) / "checkpoint" if args.state else None
    trusted = _read_trusted(state_file, key)
    progress = _progress(args.quiet)
    custody: CustodyReplay | None = None
    try:
        if args.export:
            if not args.no_custody:
                custody = CustodyReplay(genesis_registrar(read_lines(Path(args.export))))
            report = verify_export_lines(read_lines(Path(args.export)), key, trusted=trusted, progress=progress,
                                         threads=args.threads, domain=custody)
        else:
            engine = make_engine(args.database)
            try:
                with make_session_factory(engine)() as session:
                    if not args.no_custody:
                        custody = CustodyReplay(ledger_registrar(session))
                    report = verify_database(session, key, trusted=trusted, progress=progress,
                                             threads=args.threads, domain=custody)
                    if custody is not None:
                        difference = compare_state(dump_tables(session), dump_book(custody.book))
                        if not difference.empty:
                            print(f"NOT INTACT: the derived state tables differ from the replayed ledger: "
                                  f"{_describe_difference(difference)}", file=sys.stderr)
                            return EXIT_FAILED
            finally:
                engine.dispose()
    except VerificationError as exc:
        print(f"NOT INTACT: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if state_file is not None and report.checkpoint is not None:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = state_file.with_suffix(".tmp")
        temporary.write_text(report.checkpoint.note, encoding="utf-8")
        os.replace(temporary, state_file)
    _print_report(report, custody)
    return EXIT_OK


def cmd_rebuild_state(settings: Settings, args: argparse.Namespace) -> int:
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            if args.check:
                difference = compare_state(dump_tables(session), dump_book(replay_ledger(session)))
                if not difference.empty:
                    print(f"DIFFERENT: {_describe_difference(difference)}", file=sys.stderr)
                    return EXIT_FAILED
                print("the traceability tables equal the state replayed from the ledger")
                return EXIT_OK
            difference, written = rebuild_state(session)
            session.commit()
    finally:
        engine.dispose()
    before = "equal to" if difference.empty else f"different from ({_describe_difference(difference)})"
    print(f"rebuilt the traceability state from the ledger: {written} rows; the live tables were {before} "
          "the replay")
    return EXIT_OK


def cmd_account(settings: Settings, args: argparse.Namespace) -> int:
    from .access import create_account
    password = os.environ.get("TRACE_ACCOUNT_PASSWORD") or _ask_password(args.username)
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            create_account(session, args.username, password, args.role, display_name=args.name or args.username,
                           now=_now())
            session.commit()
    finally:
        engine.dispose()
    print(f"account {args.username} created with role(s) {', '.join(sorted(set(args.role)))}")
    return EXIT_OK


def _ask_password(username: str) -> str:
    import getpass
    first = getpass.getpass(f"password for {username} (12+ characters): ")
    if first != getpass.getpass("again: "):
        raise SettingsError("the two passwords differ")
    return first


def _describe_difference(difference: StateDifference) -> str:
    parts = [f"{table}: {len(rows)} row(s) only in the live tables, first {rows[0]!r}"
             for table, rows in sorted(difference.extra.items())]
    parts += [f"{table}: {len(rows)} row(s) missing from the live tables, first {rows[0]!r}"
              for table, rows in sorted(difference.missing.items())]
    return "; ".join(parts)


def _read_operator_key(path: str) -> VerifierKey:
    try:
        return parse_verifier_key(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read operator key file {path}: {exc.strerror}") from None


def _read_trusted(state_file: Path | None, key: VerifierKey) -> Checkpoint | None:
    if state_file is None or not state_file.exists():
        return None
    return open_checkpoint(state_file.read_text(encoding="utf-8"), key)


def _progress(quiet: bool) -> Callable[[int], None] | None:
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm
    bar = tqdm(unit=" entries", unit_scale=True, file=sys.stderr)

    def update(done: int) -> None:
        bar.update(done - bar.n)
    return update


def _print_report(report: VerifyReport, custody: CustodyReplay | None) -> None:
    rate = report.tree_size / report.seconds if report.seconds else 0.0
    print(f"INTACT: ledger {report.origin}, {report.tree_size} entries, root {report.root.hex()}")
    print(f"  {report.checkpoints_checked} operator checkpoint(s) verified; {report.authors} authors; "
          f"{report.keys} keys ({report.revoked_keys} revoked)")
    if report.trusted_size is not None:
        print(f"  consistent with the trusted checkpoint of size {report.trusted_size}")
    else:
        print("  no trusted checkpoint given (--state): consistency with an earlier run was not checked")
    if custody is not None:
        print(f"  custody rules replayed over {custody.events} traceability events: none broken")
    else:
        print("  custody rules not replayed (--no-custody)")
    print(f"  {report.seconds:.2f} s, {rate:,.0f} entries/s")


def _safe_url(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trace", description=(
        "Product traceability on a signed, hash-chained ledger. Settings come from TRACE_* environment "
        "variables; the database from TRACE_DATABASE_URL (default: the SQLite file var/trace.db)."))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    Handler = Callable[[Settings, argparse.Namespace], int]

    def command(name: str, handler: Handler, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(handler=handler)
        return sub

    command("init-db", cmd_init_db, "Migrate the schema, create the operator and registrar keys if absent "
            "(encrypted with TRACE_KEY_PASSPHRASE) and append the genesis entry.")
    command("migrate", cmd_migrate, "Apply schema migrations only.")
    command("load-demo", cmd_load_demo, "Load the demo data from fixtures/ through signed statements "
            "(idempotent).")
    serve = command("serve", cmd_serve, "Serve the web application (development server; use gunicorn in "
                    "production, see docs/operations.md).")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    key = command("operator-key", cmd_operator_key, "Print the operator's public key in signed-note verifier-key "
                  "form (<name>+<key id>+<base64 key>), to hand to inspectors out of band.")
    key.add_argument("--out", help="write the key to this file instead of printing it")
    export = command("export", cmd_export, "Write the whole ledger, up to its latest checkpoint, to an export "
                     "file for offline verification.")
    export.add_argument("--out", required=True, help="export file to write")
    verify = command("verify", cmd_verify, "Verify an export file (or a database) offline: signatures, hash "
                     "links, Merkle root against the operator checkpoint, and consistency with the checkpoint "
                     "remembered from the last run. Exit 0 when intact, 1 when not.")
    verify.add_argument("export", nargs="?", help="export file written by `export`")
    verify.add_argument("--database", help="verify this database URL instead of an export")
    verify.add_argument("--operator-key", required=True, help="file with the operator's verifier key, obtained "
                        "out of band (never from the export)")
    verify.add_argument("--state", help="directory remembering the last verified checkpoint; a later run "
                        "refuses a rollback or a fork")
    verify.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="signature-checking threads")
    verify.add_argument("--quiet", action="store_true", help="no progress bar")
    verify.add_argument("--no-custody", action="store_true", help="check the ledger only, without replaying "
                        "the traceability rules (holders, quantities, recalls, ...) over its events")
    rebuild = command("rebuild-state", cmd_rebuild_state, "Replay the whole ledger into empty traceability "
                      "tables (holdings, shipments, batches, ...) in one transaction, replacing them; the result "
                      "must equal the live state. With --check, only compare and exit 1 on a difference.")
    rebuild.add_argument("--check", action="store_true", help="compare only; change nothing")
    account = command("add-account", cmd_account, "Create a staff account (inspector, registrar, administrator) "
                      "for the API and console. The password comes from TRACE_ACCOUNT_PASSWORD or is asked for.")
    account.add_argument("username")
    account.add_argument("--role", action="append", required=True, choices=["inspector", "registrar",
                                                                             "administrator"],
                         help="a role; repeat for several")
    account.add_argument("--name", help="display name")
    from .client.cli import add_client_command
    add_client_command(commands)
    from .synth_cli import add_synth_command
    add_synth_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.load()
        configure_logging(settings.log_level, "text" if sys.stderr.isatty() else settings.log_format)
        return int(args.handler(settings, args))
    except (SettingsError, LedgerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
