"""CSV import over the API: templates for download, a file checked and drafted for the enterprise, and the
all-or-nothing rule: a file with one bad row appends nothing, the same file fixed appends every row."""

from __future__ import annotations

from typing import Any

from ledger import Signer, build_statement, sign_statement
from tests.api.support import login, signed, token_for
from tests.conftest import LedgerHarness
from tests.trace.world import greens_lot
from trace.csv_import import TEMPLATES
from trace.drafts import statement_fields

HEADER = "商品条码,批号,数量,收货方,发货单号"


def _path(code: str, type_: str = "trace.ship", key: str | None = None) -> str:
    return f"/api/v1/enterprises/{code}/imports?type={type_}" + (f"&key={key}" if key else "")


def _upload(client: Any, signer: Signer, code: str, data: bytes, type_: str = "trace.ship") -> Any:
    path = _path(code, type_)
    return client.post(path, data=data, headers={**signed(signer, "POST", path, data), "Content-Type": "text/csv"})


def _sign(signer: Signer, fields: dict[str, Any]) -> dict[str, Any]:
    statement = build_statement(ledger=fields["ledger"], type=fields["type"], author=fields["author"],
                                key=fields["key"], seq=fields["seq"], prev=fields["prev"], time=fields["time"],
                                body=fields["body"], links=fields["links"])
    assert statement_fields(statement) == fields
    return sign_statement(signer, statement).envelope()


def test_templates_are_listed_and_downloadable(client: Any) -> None:
    listing = client.get("/api/v1/csv-templates")
    assert listing.status_code == 200
    templates = listing.get_json()["templates"]
    assert [template["type"] for template in templates] == list(TEMPLATES)
    ship = templates[2]
    assert ship["url"] == "/api/v1/csv-templates/trace.ship.csv"
    assert {"name": "lot", "alias": "批号", "required": True} .items() <= ship["columns"][1].items()
    download = client.get(ship["url"])
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="trace.ship.csv"' in download.headers["Content-Disposition"]
    assert download.data.startswith("\ufeffgtin,lot,quantity,to,shipment_id".encode())
    missing = client.get("/api/v1/csv-templates/trace.recall.csv")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found.csv_template"


def test_a_file_with_one_bad_row_appends_nothing_and_fixed_appends_all(client: Any, harness: LedgerHarness) -> None:
    world, farm, market, greens = greens_lot(harness)
    rows = [f"{greens},QG-1,200,{market.code},S-1", f"{greens},QG-1,400,{market.code},S-2",
            f"{greens},QG-1,50,{market.code},S-3"]
    size = world.ledger_size()
    answer = _upload(client, farm.signer, farm.code, "\n".join([HEADER, *rows]).encode())
    assert answer.status_code == 200, answer.get_json()
    report = answer.get_json()
    assert report["rows"] == 3 and report["drafts"] == [] and report["totals"] == {}
    assert [(error["row"], error["column"], error["code"]) for error in report["errors"]] == [
        (3, None, "custody.over_quantity")]
    assert answer.headers["Cache-Control"] == "private, no-store"
    assert world.ledger_size() == size

    rows[1] = f"{greens},QG-1,250,{market.code},S-2"
    answer = _upload(client, farm.signer, farm.code, "\n".join([HEADER, *rows]).encode())
    report = answer.get_json()
    assert report["errors"] == [] and len(report["drafts"]) == 3 and report["totals"] == {"KGM": "500"}
    assert world.ledger_size() == size  # drafting writes nothing
    envelopes = [_sign(farm.signer, draft["statement"]) for draft in report["drafts"]]

    # the signer submits the file as one atomic batch: a tampered last statement refuses the whole file
    bad = [*envelopes[:2], _sign(farm.signer, {**report["drafts"][2]["statement"],
                                               "body": {**report["drafts"][2]["statement"]["body"],
                                                        "quantity": "51"}})]
    refused = client.post("/api/v1/events/batch", json={"statements": bad, "mode": "atomic"})
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "batch.refused"
    assert world.ledger_size() == size
    submitted = client.post("/api/v1/events/batch", json={"statements": envelopes, "mode": "atomic"})
    assert submitted.status_code == 200 and submitted.get_json()["appended"] == 3
    assert world.ledger_size() == size + 3


def test_cell_errors_are_reported_before_drafting(client: Any, harness: LedgerHarness) -> None:
    _world_, farm, market, greens = greens_lot(harness)
    data = "\n".join([HEADER, f"{greens},QG-1,1,5,S-1", f"{greens},QG-1,x,{market.code},S-2"]).encode("gb18030")
    report = _upload(client, farm.signer, farm.code, data).get_json()
    assert [(error["row"], error["column"], error["code"]) for error in report["errors"]] == [
        (2, "to", "csv.credit_code"), (3, "quantity", "csv.quantity")]
    assert all(error["reason"] for error in report["errors"])


def test_callers_keys_and_requests(client: Any, harness: LedgerHarness) -> None:
    _world_, farm, market, greens = greens_lot(harness)
    data = f"{HEADER}\n{greens},QG-1,1,{market.code},S-1\n".encode()

    def post(path: str, headers: dict[str, str], content_type: str = "text/csv") -> Any:
        return client.post(path, data=data, headers={**headers, "Content-Type": content_type})

    anonymous = post(_path(farm.code), {})
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["code"] == "auth.required"
    foreign = _upload(client, market.signer, farm.code, data)
    assert foreign.status_code == 403 and foreign.get_json()["error"]["code"] == "auth.forbidden"
    inspector = post(_path(farm.code, key=farm.signer.key_id), login(client, harness, "li.inspector", "inspector"))
    assert inspector.status_code == 403
    token = token_for(harness, farm.code)
    no_key = post(_path(farm.code), token)
    assert no_key.status_code == 400 and no_key.get_json()["error"]["code"] == "request.parameter"
    with_key = post(_path(farm.code, key=farm.signer.key_id), token)
    assert with_key.status_code == 200 and len(with_key.get_json()["drafts"]) == 1
    foreign_key = post(_path(farm.code, key=market.signer.key_id), token)
    assert foreign_key.status_code == 422 and foreign_key.get_json()["error"]["code"] == "key.unknown"
    bad_type = post(_path(farm.code, "trace.recall", key=farm.signer.key_id), token)
    assert bad_type.status_code == 422 and "type" in bad_type.get_json()["error"]["fields"]
    as_json = post(_path(farm.code, key=farm.signer.key_id), token, "application/json")
    assert as_json.status_code == 400 and as_json.get_json()["error"]["code"] == "request.content_type"


def test_the_workspace_page_is_chinese_by_default_and_english_on_request(client: Any) -> None:
    page = client.get("/workspace/import")
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    text = page.get_data(as_text=True)
    assert "导入 CSV 文件" in text and "下载模板" in text and "/api/v1/csv-templates/trace.ship.csv" in text
    assert "<script>" not in text  # data and words travel in JSON blocks; only this site's scripts run
    english = client.get("/workspace/import?lang=en").get_data(as_text=True)
    assert "Import a CSV file" in english and "Sign all and submit" in english
