"""Command line: ``python -m trace <command>``, run from the repository root.

This module is the composition root of the command line: it reads settings, wires the ledger, the domain and
(for ``serve`` only) the web application, and is the single commit point of each command.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
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
    compare_live_state,
    ledger_registrar,
    rebuild_state,
    replay_state,
)

logger = logging.getLogger("trace.cli")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
VERDICT_INTERVAL_SECONDS = 2.0


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
    from .demo import (
        DEMO_ACCOUNTS,
        DEMO_PASSWORD,
        add_demo_workspace_invites,
        demo_enterprises,
        demo_pages,
        load_demo,
    )
    keys = load_authority_keys(settings)
    engine = make_engine(settings.database_url)
    try:
        appended = load_demo(make_session_factory(engine), config=ledger_config(settings, keys),
                             registrar=keys.registrar, clock=_now)
        invites = add_demo_workspace_invites(make_session_factory(engine), clock=_now)
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
    print("workspace administrator invites (open on a phone within 72 hours; each link works once):")
    for enterprise, secret in invites:
        print(f"  {enterprise.name_en}\n    {settings.public_base_url}/workspace/join#invite={secret}")
    return EXIT_OK


def cmd_workspace_invite(settings: Settings, args: argparse.Namespace) -> int:
    from .workspace import create_invite
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            secret, row = create_invite(session, credit_code=args.credit_code, staff=args.staff, role=args.role,
                                        hours=args.hours, created_by="registrar:cli", by_registrar=True,
                                        officer=None, now=_now())
            session.commit()
    finally:
        engine.dispose()
    print(f"invite {row.invite_id} for {row.staff} ({row.role}) of {row.credit_code}, approved at enrolment, "
          f"valid until {row.expires_at.isoformat(timespec='minutes')}; the link works once:")
    print(f"{settings.public_base_url}/workspace/join#invite={secret}")
    return EXIT_OK


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import threading

    from api import create_app

    from .verdicts import follow
    app = create_app({"database_url": settings.database_url})
    context = app.extensions["trace"]
    stop = threading.Event()
    threading.Thread(target=follow, args=(context.sessions, context.operator_key),
                     kwargs={"interval": VERDICT_INTERVAL_SECONDS, "stop": stop}, name="verdicts", daemon=True).start()
    print(f"serving on http://{args.host}:{args.port}/  (health: /api/v1/health)")
    try:
        app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
    finally:
        stop.set()
    return EXIT_OK


def cmd_verdicts(settings: Settings, args: argparse.Namespace) -> int:
    import threading

    from .verdicts import catch_up, follow
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    key = verifier_key(settings.ledger_origin, load_authority_keys(settings).operator.public_key)
    try:
        if args.follow:
            follow(sessions, key, interval=args.interval, stop=threading.Event())
            return EXIT_OK
        result = catch_up(sessions, key)
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        engine.dispose()
    print(f"checked the proofs of {result.checked} batches; {len(result.failed)} failed")
    for ref in result.failed:
        print(f"  FAILED: {ref} (its public page shows what failed)")
    return EXIT_FAILED if result.failed else EXIT_OK


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
    if args.report:
        return _verify_to_report(args, key, state_file, trusted, progress)
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
                        difference = compare_live_state(session, custody.rows)
                        if not difference.empty:
                            print(f"NOT INTACT: the derived state tables differ from the replayed ledger: "
                                  f"{difference.describe()}", file=sys.stderr)
                            return EXIT_FAILED
            finally:
                engine.dispose()
    except VerificationError as exc:
        print(f"NOT INTACT: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if custody is not None:
            custody.close()
    if state_file is not None and report.checkpoint is not None:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = state_file.with_suffix(".tmp")
        temporary.write_text(report.checkpoint.note, encoding="utf-8")
        os.replace(temporary, state_file)
    _print_report(report, custody)
    return EXIT_OK


def _verify_to_report(args: argparse.Namespace, key: VerifierKey, state_file: Path | None,
                      trusted: Checkpoint | None, bar: Callable[[int], None] | None) -> int:
    """``verify --report FILE``: the console's integrity audit (trace.audit_checks), its JSON report written to
    FILE whatever the outcome; the --state checkpoint is the one remembered checkpoint."""
    from .audit_checks import audit_export, audit_live, describe_export, report_bytes, report_document
    from .audits import Remembered
    known = [] if trusted is None else [Remembered(trusted.size, trusted.root, None)]
    progress = None if bar is None else (lambda _phase, done, _total: bar(done))
    started = _now()
    if args.export:
        result = audit_export(Path(args.export), key, known, progress=progress, threads=args.threads,
                              custody=not args.no_custody)
    else:
        engine = make_engine(args.database)
        try:
            result = audit_live(make_session_factory(engine), key, known, progress=progress, threads=args.threads,
                                custody=not args.no_custody)
        finally:
            engine.dispose()
    export = describe_export(Path(args.export)) if args.export else None
    data, digest = report_bytes(report_document(result, audit_id=None, operator_key=key, officer=None,
                                                started_at=started, finished_at=_now(), export=export))
    Path(args.report).write_bytes(data)
    if result.outcome != "INTACT":
        where = f"entry {result.first_bad_index}: " if result.first_bad_index is not None else ""
        print(f"NOT INTACT: {where}{result.code}: {result.reason}", file=sys.stderr)
        print(f"report written to {args.report} (SHA-256 {digest})", file=sys.stderr)
        return EXIT_FAILED
    if state_file is not None and result.checkpoint is not None:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = state_file.with_suffix(".tmp")
        temporary.write_text(result.checkpoint, encoding="utf-8")
        os.replace(temporary, state_file)
    assert result.root is not None
    print(f"INTACT: ledger {key.name}, {result.tree_size} entries, root {result.root.hex()}; custody "
          f"{'replayed over ' + str(result.events_replayed) + ' events' if result.custody else 'not replayed'}")
    print(f"report written to {args.report} (SHA-256 {digest})")
    return EXIT_OK


def cmd_rebuild_state(settings: Settings, args: argparse.Namespace) -> int:
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            if args.check:
                with replay_state(session) as replay:
                    difference = compare_live_state(session, replay.rows)
                if not difference.empty:
                    print(f"DIFFERENT: {difference.describe()}", file=sys.stderr)
                    return EXIT_FAILED
                print("the traceability tables equal the state replayed from the ledger")
                return EXIT_OK
            difference, written = rebuild_state(session)
            session.commit()
    finally:
        engine.dispose()
    before = "equal to" if difference.empty else f"different from ({difference.describe()})"
    print(f"rebuilt the traceability state from the ledger: {written} rows; the live tables were {before} "
          "the replay")
    return EXIT_OK


def cmd_spreadsheet(settings: Settings, args: argparse.Namespace) -> int:
    from .spreadsheet import batch_scope, build_rows, parse_period, product_label, product_scope
    from .spreadsheet_files import write_csv, write_xlsx
    target = Path(args.out)
    if target.suffix.lower() not in (".xlsx", ".csv"):
        print(f"spreadsheet: --out must end in .xlsx or .csv, found {target.name!r}", file=sys.stderr)
        return EXIT_USAGE
    period = parse_period(args.start, args.end)
    english = args.lang == "en"
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            scope = product_scope(session, args.gtin) if args.gtin else batch_scope(session, args.batch)
            rows = build_rows(session, scope, period, english=english,
                              entry_url=f"{settings.public_base_url}/api/v1/ledger/entries/{{index}}/bundle")
            product = product_label(session, scope.gtin, english=english)
    finally:
        engine.dispose()
    partial = target.with_name(target.name + ".partial")
    if target.suffix.lower() == ".xlsx":
        with partial.open("wb") as out:
            write_xlsx(rows, out, scope=scope, period=period, english=english, generated=_now(), product=product)
    else:
        with partial.open("w", encoding="utf-8-sig", newline="") as text:
            write_csv(rows, text, english=english)
    os.replace(partial, target)
    print(f"wrote {len(rows)} rows for {scope.gtin}{' lot ' + scope.lot if scope.lot else ''}, {period.start} to "
          f"{period.end}, to {target}")
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


def cmd_redraw(settings: Settings, args: argparse.Namespace) -> int:
    from .spot_checks import SpotCheckError, redraw, redraw_entries
    try:
        if args.export:
            done = redraw_entries(_export_leaves(Path(args.export)), args.entry,
                                  _export_leaf(Path(args.export), args.entry))
        else:
            key = _read_operator_key(args.operator_key) if args.operator_key else None
            engine = make_engine(args.database or settings.database_url)
            try:
                with make_session_factory(engine)() as session:
                    done = redraw(session, args.entry, key)
            finally:
                engine.dispose()
    except SpotCheckError as exc:
        print(f"NOT CONFIRMED: {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    criteria = ", ".join(f"{name} {value}" for name, value in done.criteria.as_json().items() if value is not None)
    checked = ("the export's leaves (verify the export itself with `verify`)" if args.export else
               "signature verified with the operator key" if done.note_verified else "signature not checked")
    print(f"CONFIRMED: draw entry {done.index} ({criteria}) re-run from the ledger")
    print(f"  checkpoint: size {done.size}, root {done.root.hex()} recomputed from the entries; {checked}")
    print(f"  seed {done.draw.seed.hex()}; {len(done.candidates)} candidate(s); pool {', '.join(done.pool)}")
    for code, item in zip(done.draw.targets, done.draw.assignments, strict=True):
        print(f"  {code}: {', '.join(item['inspectors'])}")
    return EXIT_OK


def _export_leaves(path: Path) -> Iterator[tuple[int, bytes]]:
    from ledger.export import ExportEntry, read_export
    _, items = read_export(read_lines(path))
    return ((item.index, item.leaf) for item in items if isinstance(item, ExportEntry))


def _export_leaf(path: Path, index: int) -> bytes:
    for number, leaf in _export_leaves(path):
        if number == index:
            return leaf
    raise LedgerError(f"the export {path} has no entry {index}", code="export.entry")


def _ask_password(username: str) -> str:
    import getpass
    first = getpass.getpass(f"password for {username} (12+ characters): ")
    if first != getpass.getpass("again: "):
        raise SettingsError("the two passwords differ")
    return first


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
    verdicts = command("verdicts", cmd_verdicts, "Check the proof bundle of every batch with an event since the "
                       "last run, as its public page proves it, and store the verdict the page shows (the public "
                       "pages then never build one on a view). With --follow, keep doing so; run it beside "
                       "gunicorn (the development server `serve` runs it in a thread). Exit 1 when a batch's "
                       "bundle fails the check.")
    verdicts.add_argument("--follow", action="store_true", help="keep checking new batches until interrupted")
    verdicts.add_argument("--interval", type=float, default=VERDICT_INTERVAL_SECONDS, metavar="SECONDS",
                          help="pause between two rounds with --follow")
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
    verify.add_argument("--report", metavar="FILE", help="also write a JSON report (the console's integrity "
                        "audit report, trace-audit-report/1) to FILE, whether the ledger is intact or not")
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
    sheet = command("spreadsheet", cmd_spreadsheet, "Export the traceability spreadsheet of a product (every lot "
                    "of a GTIN) or of one batch over a date range: each commissioning, shipment, receipt, "
                    "transformation input and output, sale and destruction with its key data elements, as XLSX "
                    "(sortable, header frozen) or CSV (UTF-8 with BOM).")
    subject = sheet.add_mutually_exclusive_group(required=True)
    subject.add_argument("--gtin", help="a product: GTIN-8/12/13/14, or a GS1 Digital Link or element string")
    subject.add_argument("--batch", help="one lot: GTIN/LOT, (01)GTIN(10)LOT or a Digital Link with /10/LOT")
    sheet.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD",
                       help="first day, by the event's date in China time")
    sheet.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD",
                       help="last day (included); at most 366 days after --from")
    sheet.add_argument("--out", required=True, help="file to write, FILE.xlsx or FILE.csv")
    sheet.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the headers and names")
    redraw = command("redraw", cmd_redraw, "Re-run a double-random spot-check draw from the ledger alone: replay "
                     "the entries before it, recompute its checkpoint's Merkle root from the leaves and the draw "
                     "(docs/console-spot-checks.md). Exit 0 when everything matches, 1 when not.")
    redraw.add_argument("entry", type=int, help="entry index of the trace.spot_check.draw statement")
    redraw.add_argument("--operator-key", help="also verify the database's signed checkpoint with this operator "
                        "key file")
    redraw.add_argument("--database", help="database URL (default: TRACE_DATABASE_URL)")
    redraw.add_argument("--export", help="re-run from this export file (written by `export`) instead of a database")
    invite = command("workspace-invite", cmd_workspace_invite, "Invite a person to enrol a phone in the "
                     "enterprise workspace as the registrar: prints a one-time join link (TRACE_PUBLIC_BASE_URL "
                     "/workspace/join#invite=…); the phone's key is registered as soon as it enrols.")
    invite.add_argument("credit_code", metavar="CREDIT_CODE", help="the registered enterprise")
    invite.add_argument("--staff", required=True, help="the person's name (1-100 characters), shown in the key's "
                        "label")
    invite.add_argument("--role", choices=["staff", "admin"], default="staff",
                        help="admin may invite and approve the enterprise's staff (default: staff)")
    invite.add_argument("--hours", type=int, default=72, help="hours the link stays valid, 1-720 (default 72)")
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
