"""The synthetic generator's own model of custody: which lots exist, who holds how much of each, what is in
transit and what is packed. The planner (:mod:`trace.synth_flow`) changes it as it plans each statement, so every
statement it plans is one the traceability rules accept: quantities here are exactly the derived state's.

Quantities are integers in 1/``scale`` of the product's unit (``scale`` 10 for kilograms: ``12345`` is
``"1234.5"``), so the model never rounds.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Generic, Protocol, TypeVar

from .context import lot_ref
from .synth_cast import Cast, Enterprise, Product

#: ``(author, type, body, touched refs, refs never touched again)``
Plan = tuple[str, str, dict[str, Any], tuple[str, ...], tuple[str, ...]]

CHINA = timezone(timedelta(hours=8))
POOLS = ("ship", "input", "retail", "pack", "pallet_out", "pallet_in")
RETAIL_ROLES = ("retailer", "caterer")
#: Who performs each processing step of :class:`trace.synth_cast.Product`.
STEP_ROLE = {"repack": "processor", "slaughter": "processor", "cut": "processor", "mill": "processor",
             "ferment": "processor", "grade": "wholesaler"}
LOT_PREFIX = {"greens": "QG", "spinach": "BC", "pigs": "SZ", "paddy": "DG", "milk": "NN", "orange": "QC",
              "amoxicillin": "AM", "ibuprofen": "IB", "cut_greens": "JC", "carcass": "BT", "ham": "HT",
              "belly": "WH", "shoulder": "QT", "rice": "DM", "yogurt": "SN", "orange_a": "TJ", "orange_b": "YJ"}


def format_quantity(amount: int, scale: int) -> str:
    """``amount`` 1/``scale`` units as a canonical decimal string (``12345``, 10 → ``"1234.5"``)."""
    if scale == 1:
        return str(amount)
    whole, part = divmod(amount, scale)
    return str(whole) if part == 0 else f"{whole}.{part}"


def digest(*parts: object) -> str:
    """A stable SHA-256 hex digest standing in for a document scan (certificate, test report)."""
    return hashlib.sha256("/".join(str(part) for part in parts).encode()).hexdigest()


@dataclass(slots=True, eq=False)
class Lot:
    """A batch as the model sees it. ``live`` mirrors the ledger's ``outstanding``; ``places`` counts the
    holdings, shipments and pallets that still refer to it (at 0 the planner never touches it again)."""

    ref: str
    product: Product | None  # None for a logistic unit (pallet)
    creator: str
    expires: str | None
    live: int
    status: str = "active"
    recalled: bool = False
    failed: bool = False
    children: bool = False
    places: int = 0
    contents: list[tuple[Lot, int]] = field(default_factory=list)
    sold: list[str] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        """Recalled or failed its latest inspection: may not be sold, transformed or sent to a retailer."""
        return self.recalled or self.failed

    @property
    def scale(self) -> int:
        return 1 if self.product is None else self.product.scale

    @property
    def family(self) -> str:
        if self.product is not None:
            return self.product.family
        first = self.contents[0][0].product if self.contents else None
        return first.family if first is not None else "rice"


@dataclass(slots=True, eq=False)
class Holding:
    """What one enterprise holds of one lot (the ledger's ``trace_holdings`` row), with its serialised units."""

    lot: Lot
    holder: Enterprise
    qty: int
    units: list[str]
    hops: int
    pool: str = ""
    slot: int = -1


@dataclass(slots=True, eq=False)
class Shipment:
    """A shipment in transit (status ``in_transit`` in ``trace_shipments``)."""

    shipper: Enterprise
    id: str
    lot: Lot
    receiver: Enterprise
    qty: int
    units: list[str]
    carrier: Enterprise | None
    hops: int
    slot: int = -1


class _Slotted(Protocol):
    slot: int


T = TypeVar("T", bound=_Slotted)


class Pool(Generic[T]):
    """A bag of items with O(1) add, remove and uniform random pick (each item remembers its slot)."""

    def __init__(self) -> None:
        self.items: list[T] = []

    def __len__(self) -> int:
        return len(self.items)

    def add(self, item: T) -> None:
        item.slot = len(self.items)
        self.items.append(item)

    def remove(self, item: T) -> None:
        last = self.items.pop()
        if last is not item:
            self.items[item.slot] = last
            last.slot = item.slot
        item.slot = -1

    def pick(self, rng: random.Random) -> T:
        return self.items[rng.randrange(len(self.items))]


# Text the statements carry, as real records would (Chinese first).
LABS = ("福州市食品药品检验所", "江苏省食品药品监督检验研究院", "上海市食品药品检验研究院", "四川省食品检验研究院",
        "黑龙江省农产品质量安全检测中心", "赣州市农产品质量安全检测中心", "青岛市食品药品检验研究院")
TEST_ITEMS = {
    "veg": ("毒死蜱", "克百威", "氧乐果", "甲胺磷", "铅"),
    "pork": ("克伦特罗", "莱克多巴胺", "非洲猪瘟病毒核酸", "挥发性盐基氮"),
    "rice": ("镉", "黄曲霉毒素B1", "无机砷"), "dairy": ("菌落总数", "大肠菌群", "三聚氰胺"),
    "fruit": ("多菌灵", "咪鲜胺", "抑霉唑"), "drug": ("溶出度", "含量测定", "有关物质", "微生物限度"),
}
SENSOR_LIMITS = {"pork": ("0", "4"), "dairy": ("2", "6"), "veg": ("0", "8"), "fruit": ("3", "10"),
                 "rice": ("0", "30"), "drug": ("2", "25")}
DISCREPANCIES = ("运输途中部分萎蔫腐烂，已拒收", "到货包装破损，破损部分拒收", "到货数量与随货单据不符，已拍照存档",
                 "冷链温度异常，部分货物拒收", "装卸过程中部分货物跌落损坏")
DESTROY_REASONS = {"recalled": "召回产品，在市场监管部门监督下销毁", "failed": "检验不合格，依法监督销毁",
                   "expired": "超过保质期，按规定销毁", "spoiled": "储存损耗，腐烂变质部分报损销毁"}
RECALL_REASONS = ("抽检发现农药残留超标，主动召回", "产品检出致病菌，依法召回", "标签标识不符合规定，主动召回",
                  "原料批次存在质量风险，预防性召回", "经营者报告疑似质量问题，责令召回")


class World:
    """The model's state and the operations that keep it equal to the derived state, plus the queue of planned
    statements. Pools hold what waits for an action: ``ship`` (stock to send on), ``input`` (a processor's raw
    material), ``retail`` (stock to sell), ``pack`` (goods to palletise), ``pallet_out`` / ``pallet_in`` (pallets
    to ship / to unpack); ``transit`` holds open shipments."""

    def __init__(self, cast: Cast, *, seed: int, start_index: int, registrar: str) -> None:
        self.cast, self.registrar = cast, registrar
        self.rng = random.Random(f"flow:{seed}:{cast.tag}")
        self.by_code = {enterprise.code: enterprise for enterprise in cast.enterprises}
        self.next_index = start_index
        self.queue: deque[Plan] = deque()
        self.pools: dict[str, Pool[Holding]] = {name: Pool() for name in POOLS}
        self.transit: Pool[Shipment] = Pool()
        self.holdings: dict[tuple[str, str], Holding] = {}
        self.stock: dict[tuple[str, str], list[Holding]] = {}
        self.released: list[Lot] = []
        self.serial = self.pallet_serial = self.unit_serial = 0
        self.counts: Counter[str] = Counter()
        self.set_time(datetime(2026, 1, 1, tzinfo=CHINA))

    def set_time(self, now: datetime) -> None:
        """The time statements are planned at: dates (production, expiry) and sensor reading times follow it."""
        self.now = now.astimezone(CHINA).replace(microsecond=0)
        self.today = self.now.date()
        self.today_text = self.today.isoformat()
        self.yymmdd = self.today.strftime("%y%m%d")

    def emit(self, author: str, type_: str, body: dict[str, Any], touches: tuple[str, ...] = ()) -> int:
        """Queue a statement; returns the ledger index it will have (every planned statement is appended)."""
        forget = tuple(lot.ref for lot in self.released if lot.places == 0)
        self.released.clear()
        self.queue.append((author, type_, body, touches, forget))
        self.counts[type_] += 1
        self.next_index += 1
        return self.next_index - 1

    def give(self, lot: Lot, holder: Enterprise, qty: int, units: list[str], hops: int,
             pool: str | None = None) -> Holding:
        """``holder`` now holds ``qty`` more of ``lot`` (one holding per lot and holder, as in the ledger)."""
        key = (lot.ref, holder.code)
        holding = self.holdings.get(key)
        if holding is not None:
            holding.qty += qty
            holding.units.extend(units)
            return holding
        holding = Holding(lot, holder, qty, list(units), hops)
        holding.pool = pool or self._pool_for(lot, holder, hops)
        self.pools[holding.pool].add(holding)
        if holding.pool in ("input", "pack"):
            self.stock.setdefault((holder.code, holding.pool), []).append(holding)
        self.holdings[key] = holding
        lot.places += 1
        return holding

    def _pool_for(self, lot: Lot, holder: Enterprise, hops: int) -> str:
        if lot.product is None:
            return "pallet_in"
        if holder.role in RETAIL_ROLES:
            return "retail"
        step = lot.product.step
        if step is not None and STEP_ROLE[step] == holder.role and (step != "grade" or hops == 0):
            return "input"
        return "ship"

    def take(self, holding: Holding, qty: int) -> None:
        """``qty`` leaves the holding (shipped, sold, consumed, packed, destroyed); an empty holding goes."""
        holding.qty -= qty
        if holding.qty == 0:
            self.pools[holding.pool].remove(holding)
            if holding.pool in ("input", "pack"):
                self.stock[(holding.holder.code, holding.pool)].remove(holding)
            del self.holdings[(holding.lot.ref, holding.holder.code)]
            self.release(holding.lot)

    def release(self, lot: Lot) -> None:
        """One place fewer refers to ``lot``; at none, the signer may forget its head."""
        lot.places -= 1
        if lot.places == 0:
            self.released.append(lot)

    def consume(self, lot: Lot, qty: int, ending: str) -> None:
        """``qty`` of ``lot`` ceases to exist; at none left its status becomes ``ending``."""
        lot.live -= qty
        if lot.live == 0:
            lot.status = ending

    def new_lot(self, product: Product, creator: Enterprise, qty: int) -> tuple[Lot, str]:
        """A new lot of ``product`` made today, with its lot number."""
        self.serial += 1
        number = f"{LOT_PREFIX[product.key]}{self.yymmdd}{self.serial:06d}"
        expires = (self.today + timedelta(days=product.shelf_days)).isoformat()
        self.counts["lots"] += 1
        return Lot(lot_ref(product.gtin, number), product, creator.code, expires, qty), number

    def pick(self, family: str, role: str, near: Enterprise, exclude: Enterprise | None = None
             ) -> Enterprise | None:
        """An enterprise of ``family`` and ``role``, from ``near``'s cluster seven times in ten."""
        candidates = [each for each in self.cast.of(family, role) if each is not exclude]
        if not candidates:
            return None
        local = [each for each in candidates if each.cluster == near.cluster]
        return self.rng.choice(local if local and self.rng.random() < 0.7 else candidates)

    def retail(self, family: str, near: Enterprise) -> Enterprise | None:
        """A shop for ``family``'s goods: a retailer, or a caterer one time in four (drugs: pharmacies only)."""
        shop = self.pick(family, "retailer", near)
        if family != "drug" and self.rng.random() < 0.25:
            shop = self.pick(family, "caterer", near) or shop
        return shop

    def any_holding(self, *names: str) -> Holding | None:
        """A holding drawn uniformly from the pools ``names``, or ``None`` when they are empty."""
        sizes = [len(self.pools[name]) for name in names]
        point = self.rng.randrange(sum(sizes)) if sum(sizes) else -1
        for name, size in zip(names, sizes, strict=True):
            if 0 <= point < size:
                return self.pools[name].items[point]
            point -= size
        return None

    def certificates(self, product: Product, maker: Enterprise, number: str) -> list[dict[str, str]]:
        """The certificate a lot of ``product`` carries (farm products: their 承诺达标合格证)."""
        kind = {"farm": "compliance_promise", "drug": "drug_release", "gi": "gi"}.get(
            product.category, "quarantine" if product.family == "pork" else "inspection_report")
        return [{"kind": kind, "sha256": digest(kind, product.gtin, number), "issuer": maker.name,
                 "number": f"{kind[:2].upper()}-{self.yymmdd}-{number[-6:]}"}]

    def destroy(self, holding: Holding, why: str, qty: int | None = None) -> bool:
        """The holder destroys ``qty`` (default: all it holds) for reason ``why``."""
        lot = holding.lot
        qty = holding.qty if qty is None else qty
        body: dict[str, Any] = {"batch": lot.ref, "quantity": format_quantity(qty, lot.scale),
                                "reason": DESTROY_REASONS[why], "location": holding.holder.location}
        if holding.units:
            body["units"] = holding.units[:qty]
            holding.units = holding.units[qty:]
        self.consume(lot, qty, "destroyed")
        self.take(holding, qty)
        self.emit(holding.holder.code, "trace.destroy", body, (lot.ref,))
        return True
