"""The ``client`` command group of ``python -m trace``: what an enterprise runs on its own machine to make a
key, have it registered, sign statements, submit them and prove they are in the ledger."""

from __future__ import annotations

import argparse
from typing import Any

from ..csv_import import MAX_ROWS, TEMPLATES
from . import commands, csv_import, epcis
from .submit import MAX_BATCH

_EPILOG = "Errors are shown as 'error: code: message'. See docs/client.md."


def add_client_command(commands_parsers: Any) -> None:
    """Add ``client`` and its subcommands to the subparsers object of ``python -m trace``; each subcommand sets
    ``handler`` to a function of ``(settings, args)`` returning the exit status."""
    client = commands_parsers.add_parser(
        "client", help="The enterprise client: keys, signing, submitting and proving statements over HTTP.",
        description="The enterprise client. The private key stays in an encrypted key file on this machine; the "
                    "passphrase comes from TRACE_CLIENT_PASSPHRASE or is asked for.", epilog=_EPILOG)
    sub = client.add_subparsers(dest="client_command", required=True, metavar="SUBCOMMAND")

    def command(name: str, handler: Any, text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(name, help=text, description=text, epilog=_EPILOG)
        parser.set_defaults(handler=commands.run_guarded(handler))
        return parser

    keygen = command("keygen", commands.cmd_keygen, "Generate an Ed25519 key pair into a new encrypted key file "
                     "(mode 0600) that records the credit code it signs for; prints the key id and public key.")
    keygen.add_argument("--credit-code", required=True, help="the enterprise's unified social credit code")
    keygen.add_argument("--out", required=True, metavar="FILE", help="key file to create (never overwritten)")

    request = command("request-key", commands.cmd_request_key, "Ask the registrar to register the key: sends "
                      "the public key with a signature proving this machine holds the private key.")
    _server(request)
    _key(request)
    request.add_argument("--label", required=True, help="what the key is for, e.g. 'warehouse scanner 2'")

    status = command("key-status", commands.cmd_key_status, "Show a key request's status. Exit 0 approved, "
                     "1 rejected, 3 still pending.")
    _server(status)
    status.add_argument("request_id", metavar="REQUEST_ID", help="the id printed by request-key")
    status.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="poll until decided or this many seconds have passed")
    status.add_argument("--interval", type=float, default=5.0, metavar="SECONDS", help="pause between polls")

    sign = command("sign", commands.cmd_sign, "Sign statements locally and write them as JSON lines, chained "
                   "after the author's last statement (read from --server, or given with --seq and --prev).")
    _signing(sign, server_required=False)
    sign.add_argument("--out", metavar="FILE",
                      help="file to create for the signed statements (default: standard output)")

    submit = command("submit", commands.cmd_submit, "Submit signed statements (JSON lines) in batches; print "
                     "each statement's index or refusal. Exit 1 if any was refused. Safe to rerun: statements "
                     "already in the ledger are answered as duplicates with their original index.")
    _server(submit)
    submit.add_argument("file", metavar="FILE.jsonl", help="signed statements, one envelope per line")
    _submitting(submit)

    send = command("send", commands.cmd_send, "Sign and submit in one go (sign, keeping the statements in "
                   "--out, then submit that file).")
    _signing(send, server_required=True)
    send.add_argument("--out", required=True, metavar="FILE", help="file to create for the signed statements")
    _submitting(send)

    template = command("csv-template", csv_import.cmd_csv_template, "Write the CSV import template of one event "
                       "type (UTF-8 with a byte-order mark; columns in docs/csv-import.md).")
    template.add_argument("type", metavar="TYPE", choices=list(TEMPLATES), help=f"one of {', '.join(TEMPLATES)}")
    template.add_argument("--out", required=True, metavar="FILE", help="file to create (never overwritten)")

    import_csv = command("import-csv", csv_import.cmd_import_csv, "Import a CSV file all or nothing: the server "
                         "reports every bad row (exit 2), or drafts the statements, which are checked, signed here "
                         "and submitted in one atomic batch (exit 1 if refused).")
    _server(import_csv)
    _key(import_csv)
    import_csv.add_argument("--type", required=True, choices=list(TEMPLATES), metavar="TYPE",
                            help=f"the event type of every row: {', '.join(TEMPLATES)}")
    import_csv.add_argument("file", metavar="FILE.csv", help=f"the CSV file (at most {MAX_ROWS:,} rows)")
    import_csv.add_argument("--out", metavar="FILE", help="also keep the signed statements in this new file")

    prove = command("prove", commands.cmd_prove, "Fetch each entry's proof bundle and verify it offline against "
                    "the operator key pinned in --operator-key: checkpoint signature, inclusion, key "
                    "registration chain and statement signature. Exit 1 on any failure.")
    _server(prove)
    prove.add_argument("indexes", metavar="INDEX", nargs="*", type=int, help="entry indexes to prove")
    prove.add_argument("--receipts", metavar="FILE", help="also prove every entry of this receipts file (written "
                       "by submit), "
                       "checking that each holds the receipt's statement hash")
    prove.add_argument("--operator-key", required=True, metavar="FILE", help="file with the operator's verifier "
                       "key, obtained out of band (never taken from the server)")

    capture = command("epcis-capture", epcis.cmd_epcis_capture, "Capture an EPCIS 2.0 document: the server "
                      "drafts its events as this enterprise's statements, the client checks and signs them locally "
                      "and submits the signatures; prints each event's index or refusal. Exit 1 unless all were "
                      "appended.")
    _server(capture)
    _key(capture)
    capture.add_argument("document", metavar="DOC.jsonld", help="an EPCISDocument (JSON-LD)")
    capture.add_argument("--error-behaviour", choices=("rollback", "proceed"), default="rollback",
                         help="rollback (default): all events or none; proceed: append the good ones")
    capture.add_argument("--wait", type=float, default=60.0, metavar="SECONDS", help="how long to poll the job")


def _server(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--server", required=required, metavar="URL", help="base URL of the service, e.g. https://trace.example.cn")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each answer (default 60)")
    parser.add_argument("--retries", type=int, default=5, help="times to retry a network error or a "
                        "429/502/503/504 answer, with exponential backoff (default 5)")


def _key(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--key", required=True, metavar="FILE", help="the key file made by keygen")


def _signing(parser: argparse.ArgumentParser, *, server_required: bool) -> None:
    _server(parser, required=server_required)
    _key(parser)
    source = parser.add_argument_group("what to sign (one of --json, --csv with --type, or --type with --body "
                                       "and/or --field)")
    source.add_argument("--type", metavar="TYPE", help="statement type, e.g. trace.commission")
    source.add_argument("--body", metavar="JSON", help="the body as a JSON object")
    source.add_argument("--field", action="append", metavar="NAME=VALUE", help="a body member (repeatable); "
                        "VALUE is JSON when it parses, else text (quote numbers meant as text: 'quantity=\"5\"'); "
                        "dotted names nest: origin.place=...")
    source.add_argument("--links", metavar="JSON", help="the links as a JSON object {batch reference: hash or null} "
                        "(default: derived, see docs/client.md)")
    source.add_argument("--time", help="the statement time, RFC 3339 with offset (default: now, UTC+8)")
    source.add_argument("--json", metavar="FILE",
                        help="JSON file with one statement spec or a list: {type, body, links?, time?}")
    source.add_argument("--csv", metavar="FILE",
                        help="CSV file, one statement of --type per row; columns are body members")
    offline = parser.add_argument_group("signing offline (without --server)")
    offline.add_argument("--origin", help="the ledger origin (default: read from the server's health answer)")
    offline.add_argument("--seq", type=int, metavar="N", help="the author's next sequence number")
    offline.add_argument("--prev", metavar="HEX|none",
                         help="hash of the author's last statement, or 'none' when --seq is 1")


def _submitting(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--atomic", action="store_true", help="all-or-nothing per batch (default: each "
                        "statement on its own); nothing after a refused batch is sent")
    parser.add_argument("--batch-size", type=int, default=MAX_BATCH, help=f"statements per request (1-{MAX_BATCH})")
    parser.add_argument("--receipts", metavar="FILE",
                        help="append {statement_hash, index} JSON lines for accepted statements")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
