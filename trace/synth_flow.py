"""The synthetic generator's planner: which statement comes next, with a body the traceability rules accept.

First the registrar registers every enterprise of the cast and its key, and owners define the products. Then a
steady state of custody events: each step picks an action with a weight proportional to how much work waits for
it (shipments in transit wait to be received, stock at retailers waits to be sold, ...), against a constant stream
of commissions, so the model's pools stay at a few hundred to a few thousand items however long the run. Every
:data:`RARE_EVERY` steps a rare event is planned in rotation (:data:`RARE`).

The planner changes its model (:class:`trace.synth_model.World`) as it plans, never from the ledger's answers: it
relies on every statement being accepted, which :func:`trace.synth.generate` checks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ledger.keys import encode_public_key

from . import synth_events as events
from .synth_cast import COMMITMENT, RAW, Cast, Enterprise
from .synth_model import (
    DISCREPANCIES,
    Holding,
    Plan,
    Shipment,
    World,
    digest,
    format_quantity,
)

FAMILIES = ("veg", "pork", "rice", "dairy", "fruit", "drug")
FAMILY_WEIGHTS = (26, 12, 14, 12, 14, 10)
#: Wholesale hops before a family's goods reach a shop: (chance of one more hop, most hops).
HOPS = {"fruit": (0.7, 4), "drug": (0.15, 1)}
COMMISSION_WEIGHT = 10.0
COMMISSION_RANGE = {"greens": (2000, 30000), "spinach": (1000, 15000), "pigs": (20, 120), "paddy": (50000, 600000),
                    "milk": (5000, 60000), "orange": (20000, 200000), "amoxicillin": (12, 80),
                    "ibuprofen": (12, 60)}
RARE_EVERY = 200
RARE = ("recall", "correct_ship", "status", "sold_twice", "update", "correct_commission", "lose_pallet",
        "inspect_fail")


class Planner(World):
    """Plans statements one by one; :meth:`next_plan` never returns one the rules would refuse."""

    def __init__(self, cast: Cast, *, seed: int, start_index: int, registrar: str,
                 public_key: Callable[[Enterprise], bytes]) -> None:
        super().__init__(cast, seed=seed, start_index=start_index, registrar=registrar)
        self.steps = self.rare = 0
        self.targets: dict[str, int] = {}
        self.abnormal: list[Enterprise] = []
        self.lose_next_pallet = False
        self.actions: dict[str, Callable[[], bool]] = {
            "commission": self.commission, "ship": self.ship, "receive": self.receive, "sell": self.sell,
            "transform": lambda: events.transform(self), "aggregate": lambda: events.aggregate(self),
            "ship_pallet": lambda: events.ship_pallet(self), "disaggregate": lambda: events.disaggregate(self),
            "sensor": lambda: events.sensor(self), "inspect": lambda: events.inspect(self), "spoil": self.spoil}
        self.rare_actions: dict[str, Callable[[], bool]] = {
            "recall": lambda: events.recall(self), "correct_ship": lambda: events.correct_ship(self),
            "status": lambda: events.set_status(self), "sold_twice": lambda: events.sell_twice(self),
            "update": lambda: events.update_enterprise(self),
            "correct_commission": lambda: events.correct_commission(self),
            "lose_pallet": self.lose_pallet, "inspect_fail": lambda: events.inspect(self, fail=True)}
        self._setup(public_key)

    def next_plan(self) -> Plan:
        """The next statement to sign, in ledger order."""
        while not self.queue:
            self._step()
        return self.queue.popleft()

    def _step(self) -> None:
        self.steps += 1
        if self.steps % RARE_EVERY == 0:
            kind = RARE[self.rare % len(RARE)]
            self.rare += 1
            if self.rare_actions[kind]():
                return
        pools = self.pools
        stocked = len(pools["ship"]) + len(pools["retail"])
        weights = (
            ("commission", COMMISSION_WEIGHT), ("ship", 0.30 * len(pools["ship"])),
            ("receive", 0.35 * len(self.transit)), ("sell", 0.25 * len(pools["retail"])),
            ("transform", 0.12 * len(pools["input"])), ("aggregate", 0.30 * len(pools["pack"])),
            ("ship_pallet", 0.50 * len(pools["pallet_out"])), ("disaggregate", 0.50 * len(pools["pallet_in"])),
            ("sensor", 0.10 * len(self.transit) + 0.01 * stocked),
            ("inspect", 0.01 * (stocked + len(pools["input"]))), ("spoil", 0.004 * stocked))
        point = self.rng.random() * sum(weight for _, weight in weights)
        chosen = "commission"
        for name, weight in weights:
            point -= weight
            if point < 0:
                chosen = name
                break
        if not self.actions[chosen]():
            self.commission()

    def _setup(self, public_key: Callable[[Enterprise], bytes]) -> None:
        commitment = digest(COMMITMENT.decode())
        for enterprise in self.cast.enterprises:
            self.emit(self.registrar, "trace.enterprise.register", {
                "credit_code": enterprise.code, "name": enterprise.name, "name_en": enterprise.name_en,
                "roles": list(enterprise.roles), "locations": list(enterprise.locations),
                "commitment_sha256": commitment})
            self.emit(self.registrar, "ledger.key.add", {
                "subject": enterprise.code, "public_key": encode_public_key(public_key(enterprise)),
                "label": "synthetic data, TEST-ONLY key"})
        for number, product in enumerate(self.cast.products.values(), start=1):
            body: dict[str, Any] = {"gtin": product.gtin, "name": product.name, "category": product.category,
                                    "spec": product.spec, "name_en": f"Synthetic product {product.key}"}
            if product.category == "drug":
                body["approval_number"] = f"国药准字H{32020000 + number:08d}"
                body["drug_code_prefix"] = product.drug_prefix
            self.emit(product.owner, "trace.product.define", body)

    # -- commission, ship, receive, sell ---------------------------------------------------------------------

    def commission_body(self, maker: Enterprise, key: str, number: str, qty: int,
                        units: list[str]) -> dict[str, Any]:
        """The body of a commission of ``qty`` of product ``key`` as lot ``number`` by ``maker``."""
        product = self.cast.products[key]
        body: dict[str, Any] = {
            "gtin": product.gtin, "lot": number, "quantity": format_quantity(qty, product.scale),
            "unit": product.unit, "produced_on": self.today_text, "expires_on": self.expiry(product.shelf_days),
            "activity": "produce" if product.family in ("drug", "dairy", "pork") else "harvest",
            "certificates": self.certificates(product, maker, number), "location": maker.location}
        if product.family != "drug":
            body["origin"] = {"place": maker.place, "farm": maker.locations[0]["name"],
                              "gln": maker.locations[0]["gln"]}
        if units:
            body["units"] = units
        return body

    def expiry(self, days: int) -> str:
        return (self.today + timedelta(days=days)).isoformat()

    def raw_product(self, family: str) -> str:
        return self.rng.choice([key for key, each in self.cast.products.items() if each.family == family
                                and key in RAW])

    def commission(self, family: str | None = None) -> bool:
        """A producer harvests or produces a new lot of a raw product (drugs serialised by traceability code)."""
        family = family or self.rng.choices(FAMILIES, FAMILY_WEIGHTS)[0]
        maker = self.rng.choice(self.cast.of(family, "producer"))
        key = self.raw_product(family)
        product = self.cast.products[key]
        low, high = COMMISSION_RANGE[key]
        qty = self.rng.randrange(low, high)
        lot, number = self.new_lot(product, maker, qty)
        units: list[str] = []
        if product.drug_prefix is not None:
            units = [f"{product.drug_prefix}{self.unit_serial + n:013d}" for n in range(1, qty + 1)]
            self.unit_serial += qty
        self.give(lot, maker, qty, units, 0)
        self.emit(maker.code, "trace.commission", self.commission_body(maker, key, number, qty, units), (lot.ref,))
        return True

    def destination(self, holding: Holding) -> tuple[Enterprise | None, int]:
        """Where the holder sends this stock next, and the wholesale hops it will then have made."""
        family, holder = holding.lot.family, holding.holder
        if holder.role == "producer":
            processed = family in ("pork", "rice", "dairy") or (family == "veg" and self.rng.random() < 0.35)
            return self.pick(family, "processor" if processed else "wholesaler", holder), 0
        if holder.role == "wholesaler":
            chance, limit = HOPS.get(family, (0.2, 2))
            if holding.hops < limit and self.rng.random() < chance:
                other = self.pick(family, "wholesaler", holder, exclude=holder)
                if other is not None:
                    return other, holding.hops + 1
            return self.retail(family, holder), holding.hops
        if family == "pork" and self.rng.random() < 0.5:
            return self.pick(family, "wholesaler", holder), 0
        return self.retail(family, holder), 0

    def plan_ship(self, holding: Holding, receiver: Enterprise, qty: int, hops: int) -> tuple[Shipment,
                                                                                             dict[str, Any]]:
        """A shipment of ``qty`` of the holding to ``receiver`` and its statement body; changes nothing."""
        lot, shipper = holding.lot, holding.holder
        shipper.shipments += 1
        carrier = None
        if lot.family in ("pork", "dairy", "veg", "fruit") and self.rng.random() < 0.6:
            carrier = self.rng.choice(self.cast.of("*", "logistics"))
        shipment = Shipment(shipper, f"{self.yymmdd}-{shipper.shipments:06d}", lot, receiver, qty,
                            holding.units[:qty], carrier, hops)
        body: dict[str, Any] = {"batch": lot.ref, "quantity": format_quantity(qty, lot.scale), "to": receiver.code,
                                "shipment_id": shipment.id, "location": shipper.location}
        if carrier is not None:
            body["carrier"] = carrier.code
        if shipment.units:
            body["units"] = shipment.units
        return shipment, body

    def send(self, holding: Holding, shipment: Shipment, body: dict[str, Any]) -> None:
        """Record and queue a planned shipment."""
        holding.units = holding.units[shipment.qty:]
        self.transit.add(shipment)
        holding.lot.places += 1
        self.take(holding, shipment.qty)
        self.emit(holding.holder.code, "trace.ship", body, (holding.lot.ref,))

    def ship(self, holding: Holding | None = None) -> bool:
        """The holder sends all or part of its stock to the next enterprise on the chain."""
        holding = holding or self.any_holding("ship")
        if holding is None:
            return False
        if holding.lot.blocked:
            return self.destroy(holding, "recalled" if holding.lot.recalled else "failed")
        receiver, hops = self.destination(holding)
        if receiver is None:
            return False
        qty = holding.qty
        if qty >= 20 and self.rng.random() < 0.5:
            qty = max(1, qty * self.rng.randrange(20, 70) // 100)
        self.send(holding, *self.plan_ship(holding, receiver, qty, hops))
        return True

    def receive(self) -> bool:
        """The addressee receives an open shipment: in full, short with a discrepancy, or a pallet lost."""
        if not self.transit:
            return False
        shipment = self.transit.pick(self.rng)
        lot = shipment.lot
        self.transit.remove(shipment)
        received = shipment.qty
        body: dict[str, Any] = {"shipment": {"from": shipment.shipper.code, "id": shipment.id}}
        touches: tuple[str, ...] = (lot.ref,)
        if lot.product is None and self.lose_next_pallet:
            self.lose_next_pallet = False
            received = 0
            body["discrepancy"] = "整托货物在途丢失，已报承运商理赔"
            touches += tuple(content.ref for content, _ in lot.contents)
            for content, packed in lot.contents:
                self.consume(content, packed, "depleted")
                self.release(content)
            lot.contents = []
            self.counts["pallets_lost"] += 1
        elif lot.product is not None and shipment.qty > 1 and self.rng.random() < 0.04:
            received = shipment.qty - max(1, shipment.qty * self.rng.randrange(1, 10) // 100)
            body["discrepancy"] = self.rng.choice(DISCREPANCIES)
            if shipment.units:
                body["missing_units"] = shipment.units[received:]
            self.counts["short_receipts"] += 1
        body["quantity"] = format_quantity(received, lot.scale)
        body["location"] = shipment.receiver.location
        if received:
            self.give(lot, shipment.receiver, received, shipment.units[:received], shipment.hops)
        if received < shipment.qty:
            self.consume(lot, shipment.qty - received, "depleted")
        self.release(lot)
        self.emit(shipment.receiver.code, "trace.receive", body, touches)
        return True

    def lose_pallet(self) -> bool:
        """Rare: the next pallet received is lost in transit (received as ``"0"``)."""
        self.lose_next_pallet = True
        return False

    def sell(self) -> bool:
        """A shop sells part of its stock (drugs box by box, by traceability code); blocked or expired stock is
        destroyed instead."""
        if not self.pools["retail"]:
            return False
        holding = self.pools["retail"].pick(self.rng)
        lot = holding.lot
        if lot.blocked:
            return self.destroy(holding, "recalled" if lot.recalled else "failed")
        if lot.expires is not None and lot.expires <= self.today_text:
            return self.destroy(holding, "expired")
        if lot.family == "drug":
            qty = min(holding.qty, self.rng.randrange(1, 4))
        elif lot.scale == 1:
            qty = min(holding.qty, self.rng.randrange(1, 25))
        else:
            qty = min(holding.qty, self.rng.randrange(5, 200))
        if self.rng.random() < 0.2:
            qty = holding.qty
        body: dict[str, Any] = {"batch": lot.ref, "quantity": format_quantity(qty, lot.scale),
                                "location": holding.holder.location}
        if holding.units:
            body["units"] = holding.units[:qty]
            lot.sold = (lot.sold + holding.units[:qty])[-4:]
            holding.units = holding.units[qty:]
        self.consume(lot, qty, "depleted")
        self.take(holding, qty)
        self.emit(holding.holder.code, "trace.sell", body, (lot.ref,))
        return True

    def spoil(self) -> bool:
        """Part of a stock spoils and is destroyed (not serialised goods)."""
        holding = self.any_holding("retail", "ship")
        if holding is None or holding.units or holding.qty < 20:
            return False
        return self.destroy(holding, "spoiled", max(1, holding.qty * self.rng.randrange(2, 15) // 100))

