"""The synthetic planner's processing, quality and rare events: transformations (process, split, merge, repack),
pallets (aggregate, ship, disaggregate), sensor readings, inspections and recalls, corrections, enterprise status
and update, and a drug box sold twice. Each function plans at most a few statements on the planner's model and
returns whether it planned anything."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .context import sscc_ref
from .synth_cast import sscc
from .synth_model import (
    LABS,
    RECALL_REASONS,
    SENSOR_LIMITS,
    TEST_ITEMS,
    Holding,
    Lot,
    digest,
    format_quantity,
)

if TYPE_CHECKING:
    from .synth_flow import Planner

#: Inputs a processor gathers before one transformation: (fewest, most), drawn per processor and step.
MERGE_WIDTH = {"repack": (1, 4), "mill": (5, 40), "ferment": (2, 6)}
MAX_INPUTS = 60


def transform(p: Planner) -> bool:
    """A processor (or a fruit wholesaler grading) turns held inputs into new lots."""
    if not p.pools["input"]:
        return False
    holding = p.pools["input"].pick(p.rng)
    if holding.lot.blocked:
        return p.destroy(holding, "recalled" if holding.lot.recalled else "failed")
    product = holding.lot.product
    assert product is not None and product.step is not None
    step, holder = product.step, holding.holder
    inputs = [holding]
    if step in MERGE_WIDTH:
        ready = [each for each in p.stock[(holder.code, "input")] if not each.lot.blocked
                 and each.lot.product is not None and each.lot.product.step == step]
        target = p.targets.setdefault(holder.code + step, p.rng.randint(*MERGE_WIDTH[step]))
        if len(ready) < target:
            return False
        del p.targets[holder.code + step]
        inputs = ready[:MAX_INPUTS]
    total = sum(each.qty for each in inputs)
    kind, outputs = _recipe(p, step, len(inputs), total)
    if any(qty <= 0 for _, qty in outputs):  # a remnant too small to grade or cut: process it whole
        kind, outputs = "process", [(outputs[0][0], max(1, total * 9 // 10))]
    body_inputs = [{"batch": each.lot.ref, "quantity": format_quantity(each.qty, each.lot.scale)} for each in inputs]
    touches = [each.lot.ref for each in inputs]
    hops = max(each.hops for each in inputs)
    for each in inputs:
        each.lot.children = True
        p.consume(each.lot, each.qty, "depleted")
        p.take(each, each.qty)
    body_outputs = []
    for key, qty in outputs:
        made = p.cast.products[key]
        lot, number = p.new_lot(made, holder, qty)
        pool = "pack" if key == "rice" or (key == "yogurt" and p.rng.random() < 0.5) else None
        p.give(lot, holder, qty, [], hops, pool)
        touches.append(lot.ref)
        body_outputs.append({"gtin": made.gtin, "lot": number, "quantity": format_quantity(qty, made.scale),
                             "unit": made.unit, "produced_on": p.today_text, "expires_on": lot.expires,
                             "certificates": p.certificates(made, holder, number)})
    p.emit(holder.code, "trace.transform", {"kind": kind, "inputs": body_inputs, "outputs": body_outputs,
                                            "location": holder.location}, tuple(touches))
    return True


def _recipe(p: Planner, step: str, inputs: int, total: int) -> tuple[str, list[tuple[str, int]]]:
    """The transformation kind and outputs (product key, quantity in its own scale) of ``total`` input."""
    if step == "repack":  # kilograms (×10) of greens → 300 g packs at 90 % yield
        return ("merge" if inputs > 1 else "repack"), [("cut_greens", max(1, total * 3 // 10))]
    if step == "slaughter":  # heads → kilograms (×10) of carcass
        return "process", [("carcass", total * p.rng.randrange(700, 800))]
    if step == "cut":
        return "split", [("ham", total * 35 // 100), ("belly", total * 25 // 100), ("shoulder", total * 30 // 100)]
    if step == "mill":  # kilograms (×10) of paddy → 5 kg bags of rice at 65 %
        return ("merge" if inputs > 1 else "process"), [("rice", max(1, total * 13 // 1000))]
    if step == "ferment":  # litres (×10) of milk → 200 g cups
        return ("merge" if inputs > 1 else "process"), [("yogurt", max(1, total * 45 // 100))]
    return "split", [("orange_a", total * 55 // 100), ("orange_b", total * 40 // 100)]  # grade


def aggregate(p: Planner) -> bool:
    """A processor packs one to three of its lots into a new pallet (SSCC)."""
    if not p.pools["pack"]:
        return False
    holding = p.pools["pack"].pick(p.rng)
    if holding.lot.blocked:
        return p.destroy(holding, "recalled" if holding.lot.recalled else "failed")
    holder = holding.holder
    others = [each for each in p.stock[(holder.code, "pack")] if each is not holding and not each.lot.blocked]
    contents: list[tuple[Holding, int]] = []
    for each in [holding, *others[:p.rng.randrange(0, 3)]]:
        low, high = (40, 200) if each.lot.scale == 1 and each.lot.family == "rice" else (500, 2000)
        contents.append((each, min(each.qty, p.rng.randrange(low, high))))
    p.pallet_serial += 1
    code = sscc(p.cast.tag, p.pallet_serial)
    pallet = Lot(sscc_ref(code), None, holder.code, None, 1)
    pallet.contents = [(each.lot, qty) for each, qty in contents]
    body = {"sscc": code, "contents": [{"batch": each.lot.ref, "quantity": format_quantity(qty, each.lot.scale)}
                                       for each, qty in contents], "location": holder.location}
    for each, qty in contents:
        each.lot.children = True
        each.lot.places += 1  # packed in the pallet
        p.take(each, qty)
    p.give(pallet, holder, 1, [], 0, "pallet_out")
    p.counts["pallets"] += 1
    p.emit(holder.code, "trace.aggregate", body, (pallet.ref, *(each.lot.ref for each, _ in contents)))
    return True


def ship_pallet(p: Planner) -> bool:
    """The packer ships a pallet whole to a wholesaler of its goods (or a shop when the family has none)."""
    if not p.pools["pallet_out"]:
        return False
    holding = p.pools["pallet_out"].pick(p.rng)
    family = holding.lot.family
    receiver = p.pick(family, "wholesaler", holding.holder) or p.retail(family, holding.holder)
    if receiver is None:
        return False
    p.send(holding, *p.plan_ship(holding, receiver, 1, 0))
    return True


def disaggregate(p: Planner) -> bool:
    """The receiver of a pallet unpacks it: its contents become the receiver's stock."""
    if not p.pools["pallet_in"]:
        return False
    holding = p.pools["pallet_in"].pick(p.rng)
    pallet, holder = holding.lot, holding.holder
    touches = (pallet.ref, *(content.ref for content, _ in pallet.contents))
    for content, qty in pallet.contents:
        p.give(content, holder, qty, [], holding.hops)
        p.release(content)
    pallet.contents = []
    pallet.status = "emptied"
    p.take(holding, 1)
    p.emit(holder.code, "trace.disaggregate", {"sscc": pallet.ref[3:], "location": holder.location}, touches)
    return True


def sensor(p: Planner) -> bool:
    """Cold-chain or warehouse readings: by the shipper, carrier or addressee of a shipment in transit, or by a
    holder; about one in sixteen has an excursion."""
    extra: dict[str, Any] = {}
    if p.transit and p.rng.random() < 0.75:
        shipment = p.transit.pick(p.rng)
        lot = shipment.lot
        author = p.rng.choice([shipment.shipper, shipment.receiver, *([shipment.carrier] if shipment.carrier else [])])
        extra["shipment"] = {"from": shipment.shipper.code, "id": shipment.id}
    else:
        held = p.any_holding("ship", "retail")
        if held is None:
            return False
        lot, author = held.lot, held.holder
    humid = lot.family in ("rice", "fruit") and p.rng.random() < 0.3
    low, high = ("40", "75") if humid else SENSOR_LIMITS[lot.family]
    bottom, span = float(low), float(high) - float(low)
    count, excursion = p.rng.randrange(4, 25), p.rng.random() < 0.06
    readings = []
    for k in range(count):
        value = bottom + span * (0.2 + 0.6 * p.rng.random())
        if excursion and k >= count - 3:
            value = float(high) + 0.5 + 3 * p.rng.random()
        readings.append({"time": (p.now - timedelta(minutes=30 * (count - k))).isoformat(),
                         "value": f"{value:.1f}"})
    body = {"batch": lot.ref, "measurement": "humidity" if humid else "temperature", "uom": "P1" if humid else "CEL",
            "minimum": low, "maximum": high, "readings": readings, "device": f"TL-{p.rng.randrange(10 ** 6):06d}",
            **extra}
    p.emit(author.code, "trace.sensor", body, (lot.ref,))
    return True


def inspect(p: Planner, *, fail: bool = False) -> bool:
    """A spot check by the regulator (registrar), the maker or a holder; about 3 % fail, and half of the failed
    lots that have gone into nothing else are then recalled."""
    holding = p.any_holding("ship", "retail", "input")
    if holding is None or holding.lot.failed:
        return False
    lot = holding.lot
    assert lot.product is not None
    who = p.rng.random()
    author = None if who < 0.35 else p.by_code[lot.creator] if who < 0.6 else holding.holder
    failed = fail or p.rng.random() < 0.03
    items = p.rng.sample(TEST_ITEMS[lot.family], 2)
    body: dict[str, Any] = {"batch": lot.ref, "result": "non_conformant" if failed else "conformant", "items": items,
                            "laboratory": p.rng.choice(LABS), "certificate_sha256": digest("report", lot.ref, p.steps)}
    if failed:
        body["note"] = f"{items[0]}检测值超出标准限量，判定不合格"
    if author is not None:
        body["location"] = author.location
    lot.failed = failed
    p.emit(p.registrar if author is None else author.code, "trace.inspect", body, (lot.ref,))
    if failed and not lot.children and not lot.recalled and p.rng.random() < 0.5:
        recall(p, lot)
    return True


def recall(p: Planner, lot: Lot | None = None) -> bool:
    """The regulator or the maker recalls a lot that has gone into nothing else (so only the lot itself is
    affected and the model knows every holder to stop)."""
    for _ in range(30 if lot is None else 0):
        held = p.any_holding("ship", "retail", "input")
        if held is not None and not held.lot.children and not held.lot.recalled:
            lot = held.lot
            break
    if lot is None:
        return False
    issuer = p.registrar if p.rng.random() < 0.4 else lot.creator
    lot.recalled = True
    p.emit(issuer, "trace.recall", {"batch": lot.ref, "reason": p.rng.choice(RECALL_REASONS),
                                    "level": p.rng.choice("123")}, (lot.ref,))
    return True


def correct_ship(p: Planner) -> bool:
    """A shipment recorded with the wrong quantity, declared erroneous at once, then shipped again."""
    holding = p.any_holding("ship")
    if holding is None or holding.lot.blocked or holding.qty < 2:
        return False
    receiver, hops = p.destination(holding)
    if receiver is None:
        return False
    _, body = p.plan_ship(holding, receiver, holding.qty // 2, hops)
    wrong = p.emit(holding.holder.code, "trace.ship", body, (holding.lot.ref,))
    author = holding.holder.code if p.rng.random() < 0.8 else p.registrar
    p.emit(author, "trace.correct", {"entry": wrong, "reason": "发货数量录入错误，作废后按实际数量重新发货"},
           (holding.lot.ref,))
    p.counts["corrections"] += 1
    return p.ship(holding)


def correct_commission(p: Planner) -> bool:
    """A harvest recorded ten times too large, voided by a correction, and recorded again under the same lot."""
    family = p.rng.choice(("veg", "fruit", "pork", "rice", "dairy"))
    maker = p.rng.choice(p.cast.of(family, "producer"))
    key = p.raw_product(family)
    qty = p.rng.randrange(200, 5000)
    lot, number = p.new_lot(p.cast.products[key], maker, qty)
    wrong = p.emit(maker.code, "trace.commission", p.commission_body(maker, key, number, qty * 10, []), (lot.ref,))
    p.emit(maker.code, "trace.correct", {"entry": wrong, "reason": "数量录入错误（多录一位），作废后重新登记"},
           (lot.ref,))
    p.give(lot, maker, qty, [], 0)
    p.emit(maker.code, "trace.commission", p.commission_body(maker, key, number, qty, []), (lot.ref,))
    p.counts["corrections"] += 1
    return True


def set_status(p: Planner) -> bool:
    """The registrar lists an enterprise as abnormal (经营异常名录), or takes the earliest one off the list."""
    if p.abnormal:
        enterprise, status, reason = p.abnormal.pop(0), "active", "已补报年度报告，移出经营异常名录"
    else:
        enterprise, status = p.rng.choice(p.cast.enterprises), "abnormal"
        reason = "未按规定期限公示年度报告，列入经营异常名录"
        p.abnormal.append(enterprise)
    enterprise.status = status
    p.emit(p.registrar, "trace.enterprise.status", {"credit_code": enterprise.code, "status": status,
                                                    "reason": reason})
    return True


def update_enterprise(p: Planner) -> bool:
    """The registrar records a new site of an enterprise (the whole location list is replaced)."""
    enterprise = p.rng.choice(p.cast.enterprises)
    number = len(enterprise.locations) + 1
    enterprise.locations = [*enterprise.locations, {
        "id": f"site{number}", "name": f"{enterprise.name[:40]}第{number}经营场所",
        "address": f"{enterprise.place}{p.rng.randrange(1, 500)}号"}]
    p.emit(p.registrar, "trace.enterprise.update", {"credit_code": enterprise.code,
                                                    "locations": list(enterprise.locations)})
    return True


def sell_twice(p: Planner) -> bool:
    """A pharmacy sells a drug box whose traceability code was already sold (accepted, flagged
    ``unit.sold_twice``: a counterfeiting or diversion signal)."""
    for holding in p.pools["retail"].items:
        lot = holding.lot
        if lot.family == "drug" and lot.sold and not lot.blocked and (lot.expires or "") > p.today_text:
            p.consume(lot, 1, "depleted")
            p.take(holding, 1)
            p.counts["sold_twice"] += 1
            p.emit(holding.holder.code, "trace.sell", {"batch": lot.ref, "quantity": "1", "units": [lot.sold[-1]],
                                                       "location": holding.holder.location}, (lot.ref,))
            return True
    return False
