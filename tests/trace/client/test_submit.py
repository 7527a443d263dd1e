"""Submission against a scripted server: batching, matching answers to statements, receipts, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger import Signer
from tests.trace.client.conftest import Script, json_reply
from trace.client import ClientError, InputError, JsonClient, read_envelopes, read_receipts, submit, write_receipts
from trace.client.statements import StatementSpec, sign_specs
from trace.ledger_service import StatementWriter


def signed_file(path: Path, count: int) -> Path:
    writer = StatementWriter(Signer.from_seed("91350100MA2XYE001C", bytes(32)), "test.example/ledger", 1, None)
    envelopes = sign_specs(writer, [StatementSpec("trace.product.define", {"n": n}) for n in range(count)])
    path.write_text("".join(json.dumps(envelope) + "\n\n" for envelope in envelopes))
    return path


def result(position: int, index: int, statement_hash: str, duplicate: bool = False) -> dict[str, object]:
    return {"position": position, "index": index, "statement_hash": statement_hash, "duplicate": duplicate,
            "error": None}


def test_batches_results_and_receipts(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    items = read_envelopes(signed_file(tmp_path / "s.jsonl", 3))
    assert [item.line for item in items] == [1, 3, 5]  # blank lines are skipped, lines keep their numbers
    script.replies = [
        json_reply(200, {"results": [result(0, 10, items[0].statement_hash),
                                     result(1, 4, items[1].statement_hash, duplicate=True)], "tree_size": 11}),
        json_reply(200, {"results": [{"position": 0, "index": None, "statement_hash": items[2].statement_hash,
                                      "duplicate": False,
                                      "error": {"code": "custody.not_holder", "message": "no"}}],
                         "tree_size": 11})]
    done: list[int] = []
    outcomes, size = submit(JsonClient(url), items, batch_size=2, progress=done.append)
    assert [(outcome.status, outcome.index, outcome.code) for outcome in outcomes] == [
        ("appended", 10, None), ("duplicate", 4, None), ("refused", None, "custody.not_holder")]
    assert size == 11 and done == [2, 1]
    sent = [json.loads(request[2]) for request in script.requests]
    assert [len(body["statements"]) for body in sent] == [2, 1] and sent[0]["mode"] == "per_item"
    receipts = tmp_path / "receipts.jsonl"
    assert write_receipts(receipts, outcomes) == 2
    assert read_receipts(receipts) == [(10, items[0].statement_hash), (4, items[1].statement_hash)]


def test_an_answer_for_another_statement_is_refused(server: tuple[str, Script], tmp_path: Path) -> None:
    url, script = server
    items = read_envelopes(signed_file(tmp_path / "s.jsonl", 1))
    script.replies = [json_reply(200, {"results": [result(0, 1, "ab" * 32)], "tree_size": 2}),
                      json_reply(200, {"results": [], "tree_size": 2})]
    with pytest.raises(ClientError, match=f"acknowledged statement {'ab' * 32}, expected"):
        submit(JsonClient(url), items)
    with pytest.raises(ClientError, match="answered 0 results for 1 statements"):
        submit(JsonClient(url), items)


def test_bad_files_name_the_line(tmp_path: Path) -> None:
    path = signed_file(tmp_path / "s.jsonl", 2)
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace('"seq": 2', '"seq": 2.0')
    path.write_text("\n".join(lines))
    with pytest.raises(InputError, match="s.jsonl line 3: statement.float"):
        read_envelopes(path)
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(InputError, match="holds no statements"):
        read_envelopes(tmp_path / "empty.jsonl")
    (tmp_path / "r.jsonl").write_text('{"index": "1", "statement_hash": "x"}\n')
    with pytest.raises(InputError, match="r.jsonl line 1: expected"):
        read_receipts(tmp_path / "r.jsonl")
    with pytest.raises(InputError, match="batch size must be 1-1000"):
        submit(JsonClient("http://127.0.0.1:9"), read_envelopes(signed_file(tmp_path / "t.jsonl", 1)),
               batch_size=1001)
