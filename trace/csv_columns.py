"""The CSV import templates: for each event type its columns (English name, Chinese title accepted as an alias,
cell format, an example) and how a row's checked values become the statement body (docs/csv-import.md §2).

Cells are checked here with the same forms the traceability rules use (docs/domain.md §1.6), so a bad cell is
named with its column before anything is drafted; :mod:`trace.csv_import` reads the file and reports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger import LedgerError

from .context import MARKET_TIME, lot_ref
from .errors import BodyError
from .identifiers import IdentifierError, check_gs1_key, check_uscc, normalise_gtin
from .lots import CERTIFICATE_KINDS, LOT
from .quantities import UNITS, parse_quantity

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_SHIPMENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_APPROVAL = re.compile(r"国药准字[HZSJBTF][0-9]{8}")
_SCIENTIFIC = re.compile(r"[0-9](\.[0-9]+)?[eE]\+?[0-9]+")
_LIST_SEPARATORS = re.compile(r"[;；、]")
_LOCAL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}(:[0-9]{2})?")


class TemplateError(LedgerError):
    """A CSV template was asked for a type that has none (``csv.type``)."""

    code = "csv.type"


class CellError(Exception):
    """A cell (or a group of rows) that cannot become part of a statement; ``row`` is set when a group
    of rows names the one at fault."""

    def __init__(self, reason: str, code: str, *, column: str | None = None, row: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.code, self.column, self.row = reason, code, column, row


Reader = Callable[[str], Any]
#: The rows of one statement and its values.
Group = tuple[tuple[int, ...], dict[str, Any]]


@dataclass(frozen=True)
class Column:
    """One template column: ``name`` (English, as the header writes it), ``alias`` (the Chinese title also
    accepted), ``format`` (the cell's form in words, for the docs and the template list), ``read`` (checks a
    non-empty cell, returns its value or raises :class:`CellError`)."""

    name: str
    alias: str
    required: bool
    format: str
    example: str
    read: Reader


@dataclass(frozen=True)
class Template:
    """The columns of one event type and how a row's values (by column name) become a body; ``group`` gathers
    several rows into one statement (``trace.transform``)."""

    type: str
    title: str
    title_zh: str
    columns: tuple[Column, ...]
    build: Callable[[dict[str, Any]], dict[str, Any]]
    group: Callable[[list[tuple[int, dict[str, Any]]]], tuple[list[Group], list[CellError]]] | None = None

    def by_name(self) -> dict[str, Column]:
        """Each column under its case-folded English name and its Chinese title."""
        return {key: column for column in self.columns for key in (column.name.casefold(), column.alias)}

    def names(self) -> str:
        return ", ".join(self.columns_named())

    def columns_named(self) -> list[str]:
        return [f"{column.name} ({column.alias})" for column in self.columns]


# --- cell readers -----------------------------------------------------------------------------------------------

def text(limit: int) -> Reader:
    def read(cell: str) -> str:
        if len(cell) > limit:
            raise CellError(f"at most {limit} characters, found {len(cell)}", "csv.text")
        if _CONTROL.search(cell):
            raise CellError("must not contain line breaks or other control characters", "csv.text")
        return cell
    return read


def quantity(*, allow_zero: bool = False) -> Reader:
    def read(cell: str) -> str:
        try:
            amount = parse_quantity(cell, "quantity", allow_zero=True)
        except BodyError:
            raise CellError(f"{cell!r} is not a decimal quantity such as 500 or 12.5 (digits and one dot; no "
                            "thousands separators, sign or exponent; at most 12 digits before the dot and 6 "
                            "after)", "csv.quantity") from None
        if not amount and not allow_zero:
            raise CellError("must be greater than zero", "csv.quantity")
        return cell
    return read


def read_unit(cell: str) -> str:
    code = cell.upper()
    if code not in UNITS:
        raise CellError(f"{cell!r} is not a unit code; use one of {', '.join(UNITS)} (UN/ECE Rec. 20, e.g. KGM "
                        "for kilogram)", "csv.unit")
    return code


def read_date(cell: str) -> str:
    try:
        if not _DATE.fullmatch(cell):
            raise ValueError
        date.fromisoformat(cell)
    except ValueError:
        raise CellError(f"{cell!r} is not a date YYYY-MM-DD such as 2026-11-21 (format the column as text if "
                        "the spreadsheet rewrites dates)", "csv.date") from None
    return cell


def read_gtin(cell: str) -> str:
    _refuse_scientific(cell)
    try:
        return normalise_gtin(cell)
    except IdentifierError as exc:
        raise CellError(f"{cell!r} is not a GTIN: {exc.message}", "csv.gtin") from None


def read_gln(cell: str) -> str:
    _refuse_scientific(cell)
    try:
        check_gs1_key(cell)
        if len(cell) != 13:
            raise IdentifierError("gln.length", f"a GLN has 13 digits, found {len(cell)}")
    except IdentifierError as exc:
        raise CellError(f"{cell!r} is not a GLN: {exc.message}", "csv.gln") from None
    return cell


def read_credit_code(cell: str) -> str:
    try:
        check_uscc(cell)
    except IdentifierError as exc:
        raise CellError(f"{cell!r} is not a unified social credit code: {exc.message}", "csv.credit_code") \
            from None
    return cell


def read_lot(cell: str) -> str:
    if not LOT.fullmatch(cell):
        raise CellError(f"{cell!r} is not a lot number: 1-20 letters, digits or !\"%&'()*+,-./:;<=>?_ without "
                        "spaces", "csv.lot")
    return cell


def read_sha256(cell: str) -> str:
    if not _SHA256.fullmatch(cell):
        raise CellError("must be the SHA-256 of the document: 64 hex digits", "csv.sha256")
    return cell.lower()


def read_shipment_id(cell: str) -> str:
    if not _SHIPMENT_ID.fullmatch(cell):
        raise CellError(f"{cell!r} is not a shipment number: 1-64 letters, digits or . _ : - starting with a "
                        "letter or digit", "csv.text")
    return cell


def choice(words: dict[str, str]) -> Reader:
    """A value from ``words`` (Chinese word → value); the values themselves are accepted too."""
    def read(cell: str) -> str:
        value = words.get(cell, cell if cell in words.values() else None)
        if value is None:
            allowed = ", ".join(f"{value} ({word})" for word, value in words.items())
            raise CellError(f"{cell!r} is not one of {allowed}", "csv.choice")
        return value
    return read


def strings(limit: int, item_limit: int) -> Reader:
    def read(cell: str) -> list[str]:
        items = [item.strip() for item in _LIST_SEPARATORS.split(cell) if item.strip()]
        if len(items) > limit or any(len(item) > item_limit for item in items):
            raise CellError(f"at most {limit} items of at most {item_limit} characters, separated by ;",
                            "csv.text")
        if len(set(items)) != len(items):
            raise CellError("names an item twice", "csv.text")
        return items
    return read


def pattern(regex: re.Pattern[str], words: str) -> Reader:
    def read(cell: str) -> str:
        if not regex.fullmatch(cell):
            raise CellError(f"{cell!r} is not {words}", "csv.text")
        return cell
    return read


def parse_time(cell: str) -> str:
    """A statement time: RFC 3339 with an offset, or ``YYYY-MM-DD HH:MM[:SS]`` in China time (UTC+8)."""
    try:
        if _LOCAL_TIME.fullmatch(cell):
            return datetime.fromisoformat(cell).replace(tzinfo=MARKET_TIME).isoformat(timespec="seconds")
        moment = datetime.fromisoformat(cell)
        if moment.tzinfo is None or "T" not in cell:
            raise ValueError
    except ValueError:
        raise CellError(f"{cell!r} is not a time: write 2026-11-21 06:30 (China time) or "
                        "2026-11-21T06:30:00+08:00", "csv.time") from None
    return moment.isoformat(timespec="seconds")


def _refuse_scientific(cell: str) -> None:
    if _SCIENTIFIC.fullmatch(cell):
        raise CellError(f"{cell!r}: the spreadsheet turned the code into a number; format the column as text and "
                        "type the digits again", "csv.gtin")


# --- templates --------------------------------------------------------------------------------------------------

def col(name: str, alias: str, read: Reader, format: str, example: str, *, required: bool = False) -> Column:
    return Column(name, alias, required, format, example, read)


_ACTIVITY = {"采收": "harvest", "屠宰": "slaughter", "生产": "produce", "包装": "pack"}
_CATEGORY = {"食品": "food", "药品": "drug", "食用农产品": "farm", "日用品": "daily", "特种设备": "special_equipment",
             "地理标志产品": "gi"}
_RESULT = {"合格": "conformant", "不合格": "non_conformant"}
_KIND = {"加工": "process", "拆分": "split", "合并": "merge", "分装": "repack"}
_CERTIFICATE = {"承诺达标合格证": "compliance_promise", "检疫证明": "quarantine", "检验报告": "inspection_report",
                "产地证明": "origin", "有机认证": "organic", "地理标志证明": "gi", "药品放行证明": "drug_release",
                "其他": "other"}
assert set(_CERTIFICATE.values()) == CERTIFICATE_KINDS

_EXAMPLE_GTIN, _EXAMPLE_LOT = "6901234560015", "QG-1121"
_EXAMPLE_HASH = "a976dbc65d8f59ecd9d626602361d22ff43b3d3cd6d696d508c51049fc6017b4"
_GTIN_FORMAT = "GTIN-8/12/13/14 with its check digit (format the column as text)"
_QUANTITY_FORMAT = "decimal such as 500 or 12.5"


def _batch_columns(what: str) -> tuple[Column, ...]:
    return (col("gtin", "商品条码", read_gtin, _GTIN_FORMAT, _EXAMPLE_GTIN, required=True),
            col("lot", "批号", read_lot, f"lot number of the batch {what}", _EXAMPLE_LOT, required=True))


def _common_columns() -> tuple[Column, ...]:
    return (col("location", "地点", text(32), "id of one of your registered locations", ""),
            col("time", "时间", parse_time, "when it happened: 2026-11-21 06:30 (China time) or RFC 3339; "
                "default: when drafted", ""))


def _certificate_columns(prefix: str = "") -> tuple[Column, ...]:
    return (col(f"{prefix}certificate_kind", "证明类型" if not prefix else "产出证明类型", choice(_CERTIFICATE),
                "certificate kind: compliance_promise (承诺达标合格证), quarantine, inspection_report, origin, "
                "organic, gi, drug_release, other", "compliance_promise"),
            col(f"{prefix}certificate_sha256", "证明哈希" if not prefix else "产出证明哈希", read_sha256,
                "SHA-256 of the certificate's scan (64 hex)", _EXAMPLE_HASH),
            col(f"{prefix}certificate_number", "证明编号" if not prefix else "产出证明编号", text(200),
                "certificate number", "闽侯承诺-2026-1121-01"))


def _optional(values: dict[str, Any], *names: str, rename: dict[str, str] | None = None) -> dict[str, Any]:
    return {(rename or {}).get(name, name): values[name] for name in names if name in values}


def _certificates(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    kind, digest = values.get(f"{prefix}certificate_kind"), values.get(f"{prefix}certificate_sha256")
    if kind is None and digest is None:
        if f"{prefix}certificate_number" in values:
            raise CellError("a certificate number needs its kind and SHA-256", "csv.required",
                            column=f"{prefix}certificate_kind")
        return {}
    if kind is None or digest is None:
        missing = f"{prefix}certificate_kind" if kind is None else f"{prefix}certificate_sha256"
        raise CellError(f"a certificate needs both its kind and its SHA-256; {missing} is empty", "csv.required",
                        column=missing)
    certificate = {"kind": kind, "sha256": digest}
    if f"{prefix}certificate_number" in values:
        certificate["number"] = values[f"{prefix}certificate_number"]
    return {"certificates": [certificate]}


def _dates(values: dict[str, Any], produced: str, expires: str) -> None:
    if produced in values and expires in values and values[expires] < values[produced]:
        raise CellError(f"{values[expires]} is before the production date {values[produced]}", "csv.date",
                        column=expires)


def _build_define(values: dict[str, Any]) -> dict[str, Any]:
    return _optional(values, "gtin", "name", "category", "spec", "name_en", "approval_number", "drug_code_prefix")


def _build_commission(values: dict[str, Any]) -> dict[str, Any]:
    _dates(values, "produced_on", "expires_on")
    body = _optional(values, "gtin", "lot", "quantity", "unit", "produced_on", "expires_on", "activity", "location")
    origin = _optional(values, "origin_place", "origin_region", "origin_farm", "origin_gln",
                       rename={"origin_place": "place", "origin_region": "region", "origin_farm": "farm",
                               "origin_gln": "gln"})
    if origin and "place" not in origin:
        raise CellError("origin_place (产地) is needed when another origin column is filled", "csv.required",
                        column="origin_place")
    if origin:
        body["origin"] = origin
    return {**body, **_certificates(values)}


def _with_batch(values: dict[str, Any], *names: str) -> dict[str, Any]:
    return {"batch": lot_ref(values["gtin"], values["lot"]), **_optional(values, *names)}


def _build_receive(values: dict[str, Any]) -> dict[str, Any]:
    return {"shipment": {"from": values["from"], "id": values["shipment_id"]},
            **_optional(values, "quantity", "discrepancy", "location")}


def _group_transform(rows: list[tuple[int, dict[str, Any]]]) -> tuple[list[Group], list[CellError]]:
    """Rows sharing a ``transform_id`` are one transformation, in the order of their first row. A row gives an
    input, an output or both; an input or output repeated with the same cells is the same one. Returns the
    groups and one error for each group that cannot be one transformation."""
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for number, values in rows:
        groups.setdefault(values["transform_id"], []).append((number, values))
    plans, errors = [], []
    for members in groups.values():
        try:
            plans.append(_transformation(members))
        except CellError as exc:
            errors.append(exc)
    return plans, errors


def _transformation(members: list[tuple[int, dict[str, Any]]]) -> Group:
    first = members[0][1]
    inputs: dict[str, tuple[int, dict[str, str]]] = {}
    outputs: dict[str, tuple[int, dict[str, Any]]] = {}
    for number, values in members:
        for name in ("kind", "location", "time"):
            if values.get(name) != first.get(name):
                raise CellError(f"{name} differs from row {members[0][0]} of transformation "
                                f"{first['transform_id']}", "csv.transform", column=name, row=number)
        if _any(values, "input_gtin", "input_lot", "input_quantity"):
            if not _all(values, "input_gtin", "input_lot", "input_quantity"):
                raise CellError("an input needs input_gtin, input_lot and input_quantity", "csv.required",
                                column="input_quantity", row=number)
            item = {"batch": lot_ref(values["input_gtin"], values["input_lot"]),
                    "quantity": values["input_quantity"]}
            _merge(inputs, item["batch"], number, item, "input")
        output_names = [name for name in values if name.startswith("output_")]
        if output_names:
            if not _all(values, "output_gtin", "output_lot", "output_quantity", "output_unit"):
                raise CellError("an output needs output_gtin, output_lot, output_quantity and output_unit",
                                "csv.required", column="output_quantity", row=number)
            _dates(values, "output_produced_on", "output_expires_on")
            output = {name.removeprefix("output_"): values[name] for name in
                      ("output_gtin", "output_lot", "output_quantity", "output_unit", "output_produced_on",
                       "output_expires_on") if name in values}
            output.update(_certificates(values, "output_"))
            _merge(outputs, f"{output['gtin']}/{output['lot']}", number, output, "output")
    if not inputs or not outputs:
        raise CellError(f"transformation {first['transform_id']} needs at least one input and one output",
                        "csv.transform", column="input_gtin" if not inputs else "output_gtin",
                        row=members[0][0])
    body = {"kind": first["kind"], "inputs": [item for _, item in inputs.values()],
            "outputs": [item for _, item in outputs.values()], **_optional(first, "location")}
    return tuple(number for number, _ in members), {**body, **_optional(first, "time")}


def _merge(found: dict[str, Any], key: str, number: int, item: dict[str, Any], what: str) -> None:
    if key in found and found[key][1] != item:
        raise CellError(f"{what} {key} is given again with different cells than in row {found[key][0]}",
                        "csv.transform", row=number)
    found.setdefault(key, (number, item))


def _any(values: dict[str, Any], *names: str) -> bool:
    return any(name in values for name in names)


def _all(values: dict[str, Any], *names: str) -> bool:
    return all(name in values for name in names)


def _build_transform(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name != "time"}


def _templates() -> dict[str, Template]:
    gtin = col("gtin", "商品条码", read_gtin, _GTIN_FORMAT, _EXAMPLE_GTIN, required=True)
    templates: Sequence[Template] = (
        Template("trace.product.define", "products", "产品", (
            gtin,
            col("name", "品名", text(200), "product name", "上海青", required=True),
            col("category", "类别", choice(_CATEGORY), "food (食品), drug (药品), farm (食用农产品), daily (日用品), "
                "special_equipment (特种设备), gi (地理标志产品)", "farm", required=True),
            col("spec", "规格", text(200), "specification", "500g", required=True),
            col("name_en", "英文名", text(200), "English name", "Shanghai green"),
            col("approval_number", "批准文号", pattern(_APPROVAL, "an approval number 国药准字H12345678"),
                "drugs only: 国药准字 + letter + 8 digits", ""),
            col("drug_code_prefix", "追溯码前缀", pattern(re.compile(r"[0-9]{7}"), "7 digits"),
                "drugs only: first 7 digits of the drug traceability codes", "")), _build_define),
        Template("trace.commission", "lots produced", "生产批次", (
            gtin,
            col("lot", "批号", read_lot, "new lot number: 1-20 letters, digits or -./ without spaces", _EXAMPLE_LOT,
                required=True),
            col("quantity", "数量", quantity(), _QUANTITY_FORMAT, "500", required=True),
            col("unit", "单位", read_unit, "UN/ECE unit code: KGM, GRM, TNE, LTR, EA, BX, CT, PK, BG, …", "KGM",
                required=True),
            col("produced_on", "生产日期", read_date, "YYYY-MM-DD", "2026-11-21", required=True),
            col("expires_on", "保质期至", read_date, "YYYY-MM-DD, not before produced_on", "2026-11-28"),
            col("activity", "活动", choice(_ACTIVITY), "harvest (采收), slaughter (屠宰), produce (生产), pack (包装)",
                "harvest"),
            col("origin_place", "产地", text(200), "place of origin", "福建省福州市闽侯县上街镇"),
            col("origin_region", "产地区划", text(200), "administrative region", ""),
            col("origin_farm", "基地", text(200), "farm or base", "绿源蔬菜基地"),
            col("origin_gln", "产地GLN", read_gln, "GLN-13 of the farm", ""),
            *_certificate_columns(), *_common_columns()), _build_commission),
        Template("trace.ship", "shipments", "发货", (
            *_batch_columns("shipped"),
            col("quantity", "数量", quantity(), _QUANTITY_FORMAT, "300", required=True),
            col("to", "收货方", read_credit_code, "the receiver's unified social credit code (18 characters)",
                "91350102MA32XH7Q18", required=True),
            col("shipment_id", "发货单号", read_shipment_id, "your shipment number, new for each shipment",
                "LY-20261121-001", required=True),
            col("carrier", "承运方", read_credit_code, "the carrier's unified social credit code", ""),
            *_common_columns()), lambda values: _with_batch(values, "quantity", "to", "shipment_id", "carrier",
                                                            "location")),
        Template("trace.receive", "receipts", "收货", (
            col("from", "发货方", read_credit_code, "the shipper's unified social credit code", "93350121MA8T2K5W3U",
                required=True),
            col("shipment_id", "发货单号", read_shipment_id, "the shipper's shipment number", "LY-20261121-001",
                required=True),
            col("quantity", "实收数量", quantity(allow_zero=True), "quantity received (0 allowed)", "295",
                required=True),
            col("discrepancy", "差异说明", text(500), "required when less than shipped arrived",
                "运输途中约5公斤萎蔫，已拒收"),
            *_common_columns()), _build_receive),
        Template("trace.sell", "sales", "销售", (
            *_batch_columns("sold"),
            col("quantity", "数量", quantity(), _QUANTITY_FORMAT, "20", required=True),
            *_common_columns()), lambda values: _with_batch(values, "quantity", "location")),
        Template("trace.inspect", "inspections", "检验", (
            *_batch_columns("inspected"),
            col("result", "检验结果", choice(_RESULT), "conformant (合格) or non_conformant (不合格)", "conformant",
                required=True),
            col("items", "检验项目", strings(50, 100), "what was tested, separated by ;", "毒死蜱;克百威"),
            col("laboratory", "检验机构", text(200), "laboratory", "福州市食品药品检验所"),
            col("certificate_sha256", "报告哈希", read_sha256, "SHA-256 of the test report (64 hex)", ""),
            col("note", "备注", text(500), "note", ""),
            *_common_columns()), lambda values: _with_batch(values, "result", "items", "laboratory",
                                                            "certificate_sha256", "note", "location")),
        Template("trace.destroy", "destructions", "销毁", (
            *_batch_columns("destroyed"),
            col("quantity", "数量", quantity(), _QUANTITY_FORMAT, "180", required=True),
            col("reason", "销毁原因", text(500), "why", "召回产品，监督销毁", required=True),
            *_common_columns()), lambda values: _with_batch(values, "quantity", "reason", "location")),
        Template("trace.transform", "transformations", "加工", (
            col("transform_id", "加工单号", text(64), "your number for the transformation; rows with the same "
                "number are one transformation", "JG-1122-01", required=True),
            col("kind", "加工方式", choice(_KIND), "process (加工), split (拆分), merge (合并), repack (分装)",
                "repack", required=True),
            col("input_gtin", "投入商品条码", read_gtin, _GTIN_FORMAT, _EXAMPLE_GTIN),
            col("input_lot", "投入批号", read_lot, "lot consumed", _EXAMPLE_LOT),
            col("input_quantity", "投入数量", quantity(), "quantity consumed", "120"),
            col("output_gtin", "产出商品条码", read_gtin, _GTIN_FORMAT, "6901234560022"),
            col("output_lot", "产出批号", read_lot, "new lot made", "JC-1122"),
            col("output_quantity", "产出数量", quantity(), "quantity made", "380"),
            col("output_unit", "产出单位", read_unit, "UN/ECE unit code of the new lot", "PK"),
            col("output_produced_on", "产出生产日期", read_date, "YYYY-MM-DD (default: the day recorded)",
                "2026-11-22"),
            col("output_expires_on", "产出保质期至", read_date, "YYYY-MM-DD", "2026-11-25"),
            *_certificate_columns("output_"), *_common_columns()), _build_transform, _group_transform),
    )
    return {template.type: template for template in templates}


#: The templates by statement type, in the order a lot lives through them.
TEMPLATES: dict[str, Template] = _templates()
