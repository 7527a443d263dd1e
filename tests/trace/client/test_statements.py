"""Statement specs from arguments, JSON and CSV files, with clear errors; signing chains seq, prev and links."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger import Signer, parse_envelope
from ledger.keys import verify_signature
from trace.client import InputError, StatementSpec, sign_specs, spec_from_fields, specs_from_csv, specs_from_json
from trace.client.statements import parse_value
from trace.ledger_service import StatementWriter

CODE = "91350100MA2XYE001C"
GTIN13 = "6901234560015"
LOT_REF = "01/06901234560015/10/QG-1121"


def writer(seq: int = 1, prev: str | None = None) -> StatementWriter:
    return StatementWriter(Signer.from_seed(CODE, bytes(32)), "test.example/ledger", seq, prev)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_field_values_are_json_when_they_parse() -> None:
    assert parse_value("5") == 5
    assert parse_value('"5"') == "5"
    assert parse_value("2.5") == "2.5"  # the ledger refuses floats, so this stays text
    assert parse_value('["a", "b"]') == ["a", "b"]
    assert parse_value("上海青") == "上海青"
    spec = spec_from_fields("trace.product.define", '{"gtin": "6901234560015"}',
                            ["name=上海青", "category=farm", "spec=standard", "origin.place=福州", "origin.gln=null"])
    assert spec.body == {"gtin": GTIN13, "name": "上海青", "category": "farm", "spec": "standard",
                         "origin": {"place": "福州", "gln": None}}


@pytest.mark.parametrize(("body", "fields", "message"), [
    ("[1]", [], "--body: must be a JSON object"),
    ('{"a": 1, "a": 2}', [], "--body: duplicate member name 'a'"),
    (None, ["novalue"], "expected NAME=VALUE"),
    (None, ["a=1", "a=2"], "field a is given twice"),
    (None, ["origin=x", "origin.place=y"], "origin is a value and also has members"),
    (None, ["origin..place=y"], "has an empty part"),
])
def test_bad_arguments_say_what_is_wrong(body: str | None, fields: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        spec_from_fields("trace.ship", body, fields)


def test_json_file_with_one_spec_or_a_list(tmp_path: Path) -> None:
    one = specs_from_json(write(tmp_path / "one.json", '{"type": "trace.product.define", "body": {"gtin": "1"}}'))
    assert one == [StatementSpec("trace.product.define", {"gtin": "1"}, None, None, str(tmp_path / "one.json"))]
    many = specs_from_json(write(tmp_path / "many.json", '[{"type": "t.a", "body": {}, "time": '
                                 '"2026-11-21T06:30:00+08:00"}, {"type": "t.b", "body": {}, "links": {"r": null}}]'))
    assert [(spec.type, spec.links, spec.time) for spec in many] == [
        ("t.a", None, "2026-11-21T06:30:00+08:00"), ("t.b", {"r": None}, None)]
    assert many[1].source.endswith("many.json statement 2")


@pytest.mark.parametrize(("text", "message"), [
    ("[]", "the list of statements is empty"),
    ('{"type": "t.a"}', "missing body"),
    ('[{"type": "t.a", "body": {}}, {"type": "t.a", "body": {}, "extra": 1}]',
     r"statement 2: unknown member\(s\) extra"),
    ('{"type": "t.a", "body": []}', "body: must be a JSON object"),
    ('{"type": "t.a", "body": {"q": 2.5}}', r"not allowed \(found 2.5\) \(write quantities as text"),
    ('{"type": "t.a", "body": {}, "links": {"r": 5}}', "must be a statement hash or null"),
    ('{"type": "t.a", "body": {}', "malformed JSON"),
])
def test_bad_json_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        specs_from_json(write(tmp_path / "specs.json", text))


def test_csv_rows_become_bodies(tmp_path: Path) -> None:
    path = write(tmp_path / "lots.csv", "\ufeffgtin,lot,quantity,unit,produced_on,origin.place,origin.farm,"
                 "certificates,expires_on,@time\n"
                 f'{GTIN13},QG-1121,500,KGM,2026-11-21,福州,绿源,"[{{""kind"": ""compliance_promise"", '
                 f'""sha256"": ""{"ab" * 32}""}}]",,2026-11-21T06:30:00+08:00\n'
                 "\n"
                 f"{GTIN13},QG-1122,20.5,KGM,2026-11-22,福州,,,2026-11-30,\n")
    first, second = specs_from_csv(path, "trace.commission")
    assert first.body == {"gtin": GTIN13, "lot": "QG-1121", "quantity": "500", "unit": "KGM",
                          "produced_on": "2026-11-21", "origin": {"place": "福州", "farm": "绿源"},
                          "certificates": [{"kind": "compliance_promise", "sha256": "ab" * 32}]}
    assert first.time == "2026-11-21T06:30:00+08:00" and first.source.endswith("lots.csv line 2")
    assert second.body["quantity"] == "20.5" and second.body["expires_on"] == "2026-11-30"
    assert "farm" not in second.body["origin"] and second.time is None
    assert second.source.endswith("lots.csv line 4")


@pytest.mark.parametrize(("text", "message"), [
    ("", "the first line must name the columns"),
    ("gtin,lot\n", "no data rows"),
    ("gtin,gtin\n1,2\n", "repeated: gtin"),
    ("gtin,,lot\n1,2,3\n", "an empty column name"),
    ("gtin,lot\n1,2,3\n", "line 2: 3 cells, the header has 2 columns"),
    ("gtin,certificates\n1,[not json\n", "line 2 column certificates: looks like JSON but is not"),
    ("gtin,origin,origin.place\n1,x,y\n", "line 2: origin is a value and also has members"),
    ("gtin,@links\n1,[]\n", "column @links links: must be a JSON object"),
])
def test_bad_csv_files_say_where(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        specs_from_csv(write(tmp_path / "bad.csv", text), "trace.commission")


def test_missing_and_undecodable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        specs_from_csv(tmp_path / "absent.csv", "trace.commission")
    (tmp_path / "latin1.csv").write_bytes(b"name\n\xe9\n")
    with pytest.raises(InputError, match="is not UTF-8"):
        specs_from_csv(tmp_path / "latin1.csv", "trace.commission")


def test_signing_chains_seq_prev_and_links() -> None:
    chain = writer(seq=4, prev="ab" * 32)
    fixed = datetime(2026, 11, 21, 6, 30, tzinfo=UTC)
    specs = [StatementSpec("trace.product.define", {"gtin": GTIN13}),
             StatementSpec("trace.commission", {"gtin": GTIN13, "lot": "QG-1121"}),
             StatementSpec("trace.ship", {"batch": LOT_REF}, time="2026-11-21T08:00:00+08:00"),
             StatementSpec("trace.sell", {"batch": LOT_REF}, links={LOT_REF: "cd" * 32})]
    signed = [parse_envelope(envelope) for envelope in sign_specs(chain, specs, clock=lambda: fixed)]
    statements = [item.statement for item in signed]
    assert [statement.seq for statement in statements] == [4, 5, 6, 7]
    assert statements[0].prev == "ab" * 32
    assert [statement.prev for statement in statements[1:]] == [statement.hash_hex for statement in statements[:-1]]
    assert statements[0].links == {}
    assert statements[1].links == {LOT_REF: None}
    assert statements[2].links == {LOT_REF: statements[1].hash_hex}
    assert statements[3].links == {LOT_REF: "cd" * 32}  # given links are used as given
    assert statements[0].time == "2026-11-21T06:30:00+00:00"
    assert statements[2].time == "2026-11-21T08:00:00+08:00"
    for item in signed:
        verify_signature(Signer.from_seed(CODE, bytes(32)).public_key, item.signature,
                         item.statement.signing_message())
    assert (chain.seq, chain.prev) == (8, statements[3].hash_hex)


def test_default_time_is_now_in_china_to_the_second() -> None:
    statement = parse_envelope(next(sign_specs(writer(), [StatementSpec("trace.product.define", {})]))).statement
    assert statement.time.endswith("+08:00") and len(statement.time) == len("2026-11-21T06:30:00+08:00")


@pytest.mark.parametrize(("spec", "message"), [
    (StatementSpec("trace.ship", {"batch": LOT_REF}, source="x.csv line 3"),
     f"x.csv line 3: the client cannot derive the links of a trace.ship \\(batch {LOT_REF} not signed"),
    (StatementSpec("trace.transform", {}), "cannot derive the links of a trace.transform"),
    (StatementSpec("trace.commission", {"gtin": "6901234560016", "lot": "A"}), "gtin '6901234560016'"),
    (StatementSpec("trace.commission", {"lot": "A"}), "trace.commission needs gtin and lot"),
    (StatementSpec("trace.product.define", {}, time="2026-11-21T06:30:00"), "has no UTC offset"),
    (StatementSpec("trace.product.define", {}, time="tomorrow"), "is not an ISO 8601 date-time"),
    (StatementSpec("Not A Type", {}), "argument: statement.field: type must be"),
])
def test_specs_that_cannot_be_signed_name_their_source(spec: StatementSpec, message: str) -> None:
    chain = writer()
    with pytest.raises(InputError, match=message):
        list(sign_specs(chain, [spec]))
    assert (chain.seq, chain.prev) == (1, None)  # nothing was consumed


def test_types_without_batches_link_nothing() -> None:
    envelopes = sign_specs(writer(), [StatementSpec("trace.enterprise.update", {}), StatementSpec("test.event", {})])
    assert [parse_envelope(envelope).statement.links for envelope in envelopes] == [{}, {}]


def test_offline_prev_must_match_seq() -> None:
    with pytest.raises(InputError, match="prev must be null when seq is 1"):
        list(sign_specs(writer(1, hashlib.sha256(b"x").hexdigest()), [StatementSpec("trace.product.define", {})]))
