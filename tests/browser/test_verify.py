""""Verified on this device": scanner_web/static/verify.js checks a batch's proof bundle in headless Chromium.

The public page that will include ``_verify.html`` is not needed here: a test-only blueprint renders the partial
over a real bundle (``small_chain``), or over a tampered copy served next to it, with the server's verdict
computed by ``ledger.verify_batch_bundle`` as the public page does. Every tampered bundle must fail in the browser
with the same error code as in Python, at the same entry. The JavaScript verifier is also run directly on the
test vectors, and its canonical JSON is compared with Python's.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, jsonify, render_template_string, url_for
from sqlalchemy import select

from ledger import ProofError, Signer, batch_bundle, sign_checkpoint, verify_batch_bundle, verify_entry_bundle
from ledger.canonical import canonicalize
from ledger.checkpoint import open_checkpoint, parse_verifier_key, verifier_key
from ledger.merkle import inclusion_proof, leaf_hash, root_from_leaf_hashes
from ledger.models import Entry
from tests.api.support import Chain, small_chain
from tests.conftest import LedgerHarness
from trace import queries

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "ledger_vectors.json").read_text(encoding="utf-8"))
PAGE = '{% extends "base.html" %}{% block content %}{% include "_verify.html" %}{% endblock %}'
#: Calls the pure verifier and returns what it resolved to, or the error's code, message and entry index.
VERIFY = """async ([bundle, key, origin]) => {
  try { return {ok: await window.traceVerify.verifyBundle(bundle, key, origin)}; }
  catch (error) { return {code: error.code, message: error.message, index: error.index}; }
}"""
CANONICAL = """(text) => {
  try { return {hex: Array.from(window.traceVerify.canonicalize(window.traceVerify.parseJson(text)),
                                 (b) => b.toString(16).padStart(2, "0")).join("")}; }
  catch (error) { return {code: error.code, message: error.message}; }
}"""


@pytest.fixture
def chain(harness: LedgerHarness) -> Chain:
    return small_chain(harness)


@pytest.fixture
def served() -> dict[str, tuple[str | None, Any]]:
    """Pages the test blueprint serves: name -> (bundle URL or None for ``/_test/bundle/<name>``, bundle)."""
    return {}


@pytest.fixture
def app(app: Any, harness: LedgerHarness, served: dict[str, tuple[str | None, Any]]) -> Any:
    """The served application plus a test-only page that includes the partial, and tampered bundles."""
    blueprint = Blueprint("verify_test", __name__)

    @blueprint.get("/_test/verify/<name>")
    def page(name: str) -> Any:
        url, bundle = served[name]
        return render_template_string(PAGE, verify_bundle_url=url or url_for("verify_test.bundle", name=name),
                                      verify_server_verdict=server_verdict(bundle, harness),
                                      operator_key_text=harness.operator_key.text(), origin=harness.config.origin)

    @blueprint.get("/_test/bundle/<name>")
    def bundle(name: str) -> Any:
        return jsonify(served[name][1])

    app.register_blueprint(blueprint)
    return app


def server_verdict(bundle: Any, harness: LedgerHarness) -> dict[str, Any]:
    """What the public page computes on the server (``verify_server_verdict``)."""
    try:
        entries = verify_batch_bundle(bundle, harness.operator_key)
    except ProofError as exc:
        return {"ok": False, "tree_size": None, "checkpoint_time": None, "error": str(exc)}
    return {"ok": True, "tree_size": entries[0].checkpoint.size, "checkpoint_time": "2026-11-20 10:00",
            "error": None}


def python_error(bundle: Any, harness: LedgerHarness) -> tuple[str, str]:
    with pytest.raises(ProofError) as caught:
        verify_batch_bundle(bundle, harness.operator_key)
    return caught.value.code, caught.value.message


def real_bundle(harness: LedgerHarness, chain: Chain) -> tuple[str, dict[str, Any]]:
    url = f"/api/v1/batches/{chain.ref}/bundle"
    with harness.sessions() as session:
        bundle = batch_bundle(session, chain.ref, queries.batch_entries(session, chain.ref))
    return url, json.loads(json.dumps(bundle))  # as served: plain JSON values


def item(bundle: dict[str, Any], index: int) -> dict[str, Any]:
    return next(entry for entry in bundle["entries"] if entry["index"] == index)


def flip_base64(text: str, byte: int) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[byte] ^= 0x01
    return base64.b64encode(bytes(raw)).decode("ascii")


def resign(bundle: dict[str, Any], harness: LedgerHarness) -> dict[str, Any]:
    """A dishonest operator's bundle: the Merkle tree rebuilt over the bundle's (changed) leaves and a fresh
    checkpoint signed with the real operator key, so only the signature checks can catch the change."""
    size = open_checkpoint(bundle["checkpoint"], harness.operator_key).size
    with harness.sessions() as session:
        leaves = list(session.scalars(select(Entry.leaf).where(Entry.index < size).order_by(Entry.index)))
    for entry in bundle["entries"]:
        leaves[entry["index"]] = canonicalize(entry["leaf"], max_depth=33)
    hashes = [leaf_hash(leaf) for leaf in leaves]
    for entry in bundle["entries"]:
        entry["inclusion"] = [base64.b64encode(value).decode() for value in inclusion_proof(entry["index"], hashes)]
    bundle["checkpoint"] = sign_checkpoint(harness.config.checkpoint_signer, harness.config.origin, size,
                                           root_from_leaf_hashes(hashes))
    return bundle


def tampered_bundles(bundle: dict[str, Any], harness: LedgerHarness) -> dict[str, tuple[dict[str, Any], int | None]]:
    """name -> (tampered copy, the entry the failure must name)."""
    first, middle, last = bundle["indexes"]
    cases: dict[str, tuple[dict[str, Any], int | None]] = {}

    signature = copy.deepcopy(bundle)
    leaf = item(signature, last)["leaf"]
    leaf["signature"] = flip_base64(leaf["signature"], 5)
    cases["signature_byte"] = (signature, last)  # the leaf changed, so its inclusion proof fails first
    cases["signature_byte_resigned"] = (resign(copy.deepcopy(signature), harness), last)

    proof = copy.deepcopy(bundle)
    item(proof, middle)["inclusion"][0] = flip_base64(item(proof, middle)["inclusion"][0], 0)
    cases["proof_hash"] = (proof, middle)

    field = copy.deepcopy(bundle)
    assert item(field, middle)["leaf"]["statement"]["body"]["quantity"] == "300"
    item(field, middle)["leaf"]["statement"]["body"]["quantity"] = "3000"
    cases["statement_field"] = (copy.deepcopy(field), middle)
    cases["statement_field_resigned"] = (resign(field, harness), middle)

    gap = copy.deepcopy(bundle)
    gap["indexes"].remove(middle)
    gap["entries"] = [entry for entry in gap["entries"] if entry["index"] != middle]
    cases["missing_event"] = (gap, last)

    other = copy.deepcopy(bundle)
    note = open_checkpoint(other["checkpoint"], harness.operator_key)
    other["checkpoint"] = sign_checkpoint(Signer.generate(harness.config.origin), note.origin, note.size, note.root)
    cases["other_operator_key"] = (other, None)
    return cases


EXPECTED_CODES = {"signature_byte": "proof.root", "signature_byte_resigned": "signature.invalid",
                  "proof_hash": "proof.root", "statement_field": "proof.root",
                  "statement_field_resigned": "signature.invalid", "missing_event": "proof.batch_chain",
                  "other_operator_key": "checkpoint.signature"}
#: The Chinese line naming the check that failed, per error code.
CHECK_TEXT = {"proof.root": "默克尔包含证明与运营方签名检查点不符", "signature.invalid": "签名验证失败",
              "proof.batch_chain": "本批次的记录链断裂", "checkpoint.signature": "运营方检查点无法用运营方公钥验证"}


def result_state(page: Any) -> str:
    page.wait_for_function("['verified', 'failed'].includes(document.getElementById('verify-result').dataset.state)")
    return str(page.locator("#verify-result").get_attribute("data-state"))


def test_the_page_verifies_a_real_batch_on_the_device(live_server: str, phone: Any, harness: LedgerHarness,
                                                      chain: Chain, served: dict[str, Any], artifacts: Path) -> None:
    url, bundle = real_bundle(harness, chain)
    served["real"] = (url, bundle)
    size = open_checkpoint(bundle["checkpoint"], harness.operator_key).size

    phone.goto(f"{live_server}/_test/verify/real")
    assert result_state(phone) == "verified", phone.locator("#verify-result").inner_text()
    result = phone.locator("#verify-result")
    text = result.inner_text()
    assert "已在本设备上核验" in text
    assert f"本浏览器已自行核验本批次的 {len(bundle['indexes'])} 条记录" in text
    assert f"运营方签名检查点：共 {size} 条记录" in text
    assert result.get_attribute("data-tree-size") == str(size)
    assert phone.locator("#verify-server").get_attribute("data-ok") == "true"
    assert "服务器核验：本批次的账本证明有效" in phone.locator("#verify-server").inner_text()
    assert not phone.locator("#verify noscript").evaluate("node => node.checkVisibility()")
    phone.locator("#verify summary").click()  # the explanation and the operator key, for the screenshot
    assert harness.operator_key.text() in phone.locator("#verify details").inner_text()
    phone.screenshot(path=str(artifacts / "verify-verified.png"), full_page=True)

    phone.goto(f"{live_server}/_test/verify/real?lang=en")
    assert result_state(phone) == "verified"
    assert "Verified on this device" in phone.locator("#verify-result").inner_text()
    assert phone.js_errors == []


def test_each_tampered_bundle_fails_with_the_precise_check(live_server: str, phone: Any, harness: LedgerHarness,
                                                           chain: Chain, served: dict[str, Any],
                                                           artifacts: Path) -> None:
    _, bundle = real_bundle(harness, chain)
    cases = tampered_bundles(bundle, harness)
    assert cases.keys() == EXPECTED_CODES.keys()
    for name, (tampered, index) in cases.items():
        code, message = python_error(tampered, harness)
        assert code == EXPECTED_CODES[name], (name, code, message)
        served[name] = (None, tampered)
        phone.goto(f"{live_server}/_test/verify/{name}")
        assert result_state(phone) == "failed", name
        result = phone.locator("#verify-result")
        text = result.inner_text()
        assert result.get_attribute("data-code") == code, (name, text)
        assert result.get_attribute("data-index") == (str(index) if index is not None else None), (name, text)
        assert "本设备核验未通过" in text and CHECK_TEXT[code] in text, (name, text)
        if index is not None:
            assert f"账本记录编号 {index}" in text, (name, text)
        assert f"{code}: {message}" in text, (name, "the browser words the failure as the reference does")
        assert phone.locator("#verify-server").get_attribute("data-ok") == "false"
        assert code in phone.locator("#verify-server").inner_text()
        if name == "missing_event":
            phone.screenshot(path=str(artifacts / "verify-failed.png"), full_page=True)
    assert phone.js_errors == []


def test_without_javascript_the_server_verdict_is_shown_and_says_so(live_server: str, chromium: Any,
                                                                    harness: LedgerHarness, chain: Chain,
                                                                    served: dict[str, Any]) -> None:
    served["real"] = real_bundle(harness, chain)
    context = chromium.new_context(java_script_enabled=False, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(f"{live_server}/_test/verify/real")
        assert page.locator("#verify-result").is_hidden()
        server = page.locator("#verify-server").inner_text()
        assert "服务器核验：本批次的账本证明有效" in server
        assert "以上为服务器的核验结论。启用 JavaScript 即可在您自己的设备上核验。" in server
    finally:
        context.close()


def test_the_javascript_verifier_on_the_test_vectors(live_server: str, phone: Any) -> None:
    phone.goto(live_server + "/")
    phone.add_script_tag(url=live_server + "/static/verify.js", type="module")
    key, origin = VECTORS["operator_note_key"]["verifier_key"], VECTORS["origin"]
    bundle_text = json.dumps(VECTORS["proof_bundle"])

    result = phone.evaluate(VERIFY, [bundle_text, key, origin])
    assert result["ok"]["treeSize"] == "7"
    assert result["ok"]["root"] == VECTORS["merkle"]["roots"][7]["root"]
    assert [entry["index"] for entry in result["ok"]["entries"]] == [5]
    assert result["ok"]["entries"][0]["statementHash"] == VECTORS["entries"][5]["statement_hash"]

    # Each entry's canonical bytes, statement hash, leaf bytes and leaf hash.
    leaves = phone.evaluate("""async (texts) => Promise.all(texts.map(async (text) => {
      const leaf = await window.traceVerify.readLeaf(window.traceVerify.parseJson(text));
      const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      return [hex(leaf.canonical), leaf.statementHash, hex(leaf.bytes), hex(leaf.leafHash)];
    }))""", [entry["leaf"] for entry in VECTORS["entries"]])
    assert leaves == [[entry["canonical_hex"], entry["statement_hash"], entry["leaf_hex"], entry["leaf_hash"]]
                      for entry in VECTORS["entries"]]

    # The leaf cases at the limits of the leaf rules.
    for case in VECTORS["leaf_cases"]:
        found = phone.evaluate("""async (text) => {
          try { await window.traceVerify.readLeaf(window.traceVerify.parseJson(text)); return null; }
          catch (error) { return error.code; }
        }""", case["leaf"])
        assert found == case["error_code"], case["name"]

    # Tampered copies of the vector bundle fail as in Python.
    wrong_key_text = verifier_key(origin, Signer.from_seed(origin, bytes([9]) * 32).public_key).text()
    bad_signature = copy.deepcopy(VECTORS["proof_bundle"])
    text, _, signature_line = bad_signature["checkpoint"].rpartition("\n\u2014 ")
    name, encoded = signature_line.rstrip("\n").split(" ")
    bad_signature["checkpoint"] = f"{text}\n\u2014 {name} {flip_base64(encoded, 20)}\n"
    bad_entry = copy.deepcopy(VECTORS["proof_bundle"])
    bad_entry["entries"][1]["inclusion"].pop()
    cases = [(bad_signature, key, origin, "checkpoint.signature"), (VECTORS["proof_bundle"], wrong_key_text, origin,
             "checkpoint.signature"), (VECTORS["proof_bundle"], key, "other.example/ledger", "checkpoint.origin"),
             (bad_entry, key, origin, "proof.length")]
    for bundle, verifier_text, expected_origin, code in cases:
        found = phone.evaluate(VERIFY, [json.dumps(bundle), verifier_text, expected_origin])
        assert found.get("code") == code, found
        if expected_origin == origin:
            with pytest.raises(ProofError) as caught:
                verify_entry_bundle(bundle, parse_verifier_key(verifier_text))
            assert (caught.value.code, caught.value.message) == (code, found["message"])
    bad_id = key.replace("+8af00f27+", "+8af00f28+")
    assert phone.evaluate(VERIFY, [bundle_text, bad_id, origin])["code"] == "note.key"
    assert phone.js_errors == []


def test_the_javascript_verifier_on_the_batch_bundle_vectors(live_server: str, phone: Any) -> None:
    phone.goto(live_server + "/")
    phone.add_script_tag(url=live_server + "/static/verify.js", type="module")
    key, origin = VECTORS["operator_note_key"]["verifier_key"], VECTORS["origin"]
    for case in VECTORS["batch_bundles"]:
        found = phone.evaluate(VERIFY, [json.dumps(case["bundle"], ensure_ascii=False), key, origin])
        if case["error_code"] is not None:
            assert (found.get("code"), found.get("index")) == (case["error_code"], case["error_index"]), case["name"]
            with pytest.raises(ProofError) as caught:
                verify_batch_bundle(case["bundle"], parse_verifier_key(key))
            assert caught.value.message == found["message"], case["name"]
            continue
        result, expected = found["ok"], case["expected"]
        assert (result["format"], result["ref"], result["origin"]) == ("trace-ledger-batch-proof/1", expected["ref"],
                                                                       origin), case["name"]
        assert (result["treeSize"], result["root"]) == (str(expected["tree_size"]), expected["root"]), case["name"]
        assert (result["previous"], result["earlier"], result["complete"]) == \
            (expected["previous"], expected["earlier"], expected["complete"]), case["name"]
        assert [entry["index"] for entry in result["entries"]] == expected["indexes"], case["name"]
        assert [entry["statementHash"] for entry in result["entries"]] == expected["statement_hashes"], case["name"]
    assert phone.js_errors == []


def test_javascript_canonical_json_matches_python(live_server: str, phone: Any) -> None:
    phone.goto(live_server + "/")
    phone.add_script_tag(url=live_server + "/static/verify.js", type="module")
    for case in VECTORS["canonical_json"]["accepted"]:
        assert phone.evaluate(CANONICAL, case["input"]) == {"hex": case["canonical_hex"]}, case["name"]
    for case in VECTORS["canonical_json"]["refused"]:
        assert phone.evaluate(CANONICAL, case["input"])["code"] == case["error_code"], case["name"]

    strings = ["", "plain ASCII", '"quoted" \\ back\\slash / slash', "\b\f\n\r\t", "\x00\x01\x1f\x7f\x80\x9f",
               "\u2028\u2029\ufeff", "é中文（全角）", "\U0001d11e📦\U0010ffff", "\ue000\uffff", "a\u0000b"]
    names = ["", "a", "A", "ab", "a\x00", "é", "\ue000", "\uffff", "📦", "\U00010000", "\U0010ffff", "中", "（",
             "\x7f", "aa", "b"]
    value = {"strings": strings, "names": {name: position for position, name in enumerate(names)},
             "integers": [0, 1, -1, 10, 2**53 - 1, -(2**53 - 1)], "literals": [True, False, None, [], {}],
             "nested": {name: {"deeper": [name, {name: None}]} for name in names[-6:]}}
    expected = canonicalize(value).hex()
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False), json.dumps(value, indent=2)):
        assert phone.evaluate(CANONICAL, text) == {"hex": expected}
    for text, code in (('{"a":"\\udc00x"}', "statement.encoding"), ('{"\\ud83d":1}', "statement.encoding"),
                       ('{"a":-0}', None), ('{"a":01}', "statement.json"), ('{"a":"\x01"}', "statement.json"),
                       ('{"__proto__":1,"b":2}', None), ('{"a":1,"a":1}', "statement.duplicate_key"),
                       ("[1, 2,]", "statement.json"), ('{"a":-Infinity}', "statement.float")):
        found = phone.evaluate(CANONICAL, text)
        assert found.get("code") == code, (text, found)
        if code is None:
            assert bytes.fromhex(found["hex"]) == canonicalize(json.loads(text)), text
    assert phone.js_errors == []



def test_the_public_page_of_a_batch_verifies_on_the_device(live_server: str, phone: Any, chain: Chain,
                                                           artifacts: Path) -> None:
    """The resolver's page includes the partial and serves the bundle at ``?linkType=gs1:traceability``."""
    phone.goto(f"{live_server}/{chain.ref}")
    assert result_state(phone) == "verified", phone.locator("#verify-result").inner_text()
    assert "已在本设备上核验" in phone.locator("#verify-result").inner_text()
    assert phone.locator("#verify-server").get_attribute("data-ok") == "true"
    phone.locator("#verify").screenshot(path=str(artifacts / "verify-public-page.png"))
    assert phone.js_errors == []
