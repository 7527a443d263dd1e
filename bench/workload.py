"""The benchmark's workload: synthetic enterprises in a few supply chains and the signed statements they send.

Each supply chain ("shard") has its own enterprises (two producers, a processor, a logistics company and two
retailers) and its own product batches, so its statements depend only on each other: per-author ``seq``/``prev``
chains and per-batch link heads never cross shards. Shards are therefore signed in parallel processes, each
into its own JSON-lines file, and appended by interleaving the files line by line, which keeps every author's
and every batch's order.

Statements carry ~400-600 byte bodies with Chinese text, decimal-string quantities and batch links: a
harvest opens a batch, processing links it and opens a derived batch, shipping, receiving and (one or more)
sales link the derived batch.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ledger import Signer
from trace.ledger_service import StatementWriter

SHARDS = 4
STATEMENT_TYPES = ("bench.harvest", "bench.process", "bench.ship", "bench.receive", "bench.sell")
ROLES = ("producer", "producer", "processor", "logistics", "retailer", "retailer")


class BenchPolicy:
    """The benchmark's domain policy: accepts ``bench.*`` statements whose body is an object, records nothing.

    Deliberately as cheap as the tests' policy, so the figures are the ledger's own cost.
    """

    def __init__(self) -> None:
        self.recorded = 0

    def handles(self, statement_type: str) -> bool:
        return statement_type.startswith("bench.")

    def check(self, session: Session, statement: Any, index: int, received: Any) -> None:
        if not isinstance(statement.body, dict):  # pragma: no cover - parse_statement already guarantees it
            from ledger import StatementError
            raise StatementError("bench statements have object bodies", code="bench.body")

    def record(self, session: Session, statement: Any, index: int) -> None:
        self.recorded += 1


@dataclass(frozen=True)
class Chain:
    """One supply chain's products and places (Chinese text as real records would carry it)."""

    product: str
    category: str
    unit: str
    province: str
    places: tuple[str, ...]
    process: str
    facility: str
    stores: tuple[str, ...]
    region: str


CHAINS = (
    Chain("安溪铁观音（特级，清香型）", "茶叶", "kg", "福建省",
          ("泉州市安溪县感德镇槐植村", "泉州市安溪县西坪镇松岩村"), "晒青、摇青、杀青、揉捻、烘干、拣梗",
          "安溪县感德镇茶叶初制所二号车间", ("永辉超市福州五四路店", "厦门中山路茶叶专营店"), "350524"),
    Chain("五常大米（稻花香2号）", "粮食", "kg", "黑龙江省",
          ("哈尔滨市五常市民乐朝鲜族乡", "哈尔滨市五常市龙凤山镇"), "清理、砻谷、碾米、抛光、色选、真空包装",
          "五常市龙凤山镇大米加工厂一号线", ("北京物美超市双井店", "上海盒马鲜生世纪大道店"), "230184"),
    Chain("冷鲜猪肉（二分体）", "肉类", "kg", "四川省",
          ("成都市崇州市白头镇五星村", "眉山市仁寿县文林镇"), "宰前检疫、屠宰、预冷排酸、分割、冷链包装",
          "成都天府肉类加工有限公司屠宰车间", ("成都红旗连锁春熙路店", "重庆永辉超市解放碑店"), "510184"),
    Chain("赣南脐橙（纽荷尔）", "水果", "kg", "江西省",
          ("赣州市信丰县安西镇", "赣州市寻乌县澄江镇"), "清洗、打蜡、光电分选、装箱、预冷",
          "信丰县脐橙分选包装中心", ("南昌华润万家红谷滩店", "深圳沃尔玛福田店"), "360722"),
)
PEOPLE = ("张建国", "李静", "王强", "陈丽", "刘洋", "赵敏", "黄伟", "周芳", "吴磊", "郑秀英")
NOTES = ("包装完好，温度正常，随车单据齐全", "抽检合格，农残及兽残未检出", "到货数量与单据一致，已拍照存档",
         "冷链全程记录正常，无断链报警", "按先进先出原则上架，临期商品单独标识")


@dataclass(frozen=True)
class Enterprise:
    credit_code: str
    role: str
    shard: int

    @property
    def signer(self) -> Signer:
        return Signer.from_seed(self.credit_code, hashlib.sha256(b"bench-only-key:" + self.credit_code.encode())
                                .digest())


def enterprises(shard: int) -> list[Enterprise]:
    """The shard's enterprises, with deterministic (benchmark-only) keys and plausible 18-character codes."""
    region = CHAINS[shard % len(CHAINS)].region
    return [Enterprise(f"91{region}MA{shard:02d}{number:02d}BE{_check(shard, number)}", role, shard)
            for number, role in enumerate(ROLES)]


def _check(shard: int, number: int) -> str:
    return hashlib.sha256(f"{shard}/{number}".encode()).hexdigest()[:2].upper()


def all_enterprises(shards: int = SHARDS) -> list[Enterprise]:
    return [enterprise for shard in range(shards) for enterprise in enterprises(shard)]


class _Batch:
    __slots__ = ("serial", "ref", "derived", "stage", "sales", "quantity")

    def __init__(self, serial: int, ref: str, quantity: int) -> None:
        self.serial, self.ref, self.derived, self.stage, self.sales, self.quantity = serial, ref, "", 0, 0, quantity


def shard_statements(shard: int, count: int, origin: str, start: datetime, seed: int = 20240601) -> Iterator[
        dict[str, Any]]:
    """``count`` signed envelopes of one supply chain, in the order they must be appended."""
    rng = random.Random(seed * 1000 + shard)
    chain = CHAINS[shard % len(CHAINS)]
    members = enterprises(shard)
    writers = {member.role + str(i): StatementWriter(member.signer, origin, 1, None)
               for i, member in enumerate(members)}
    producers = [writers["producer0"], writers["producer1"]]
    processor, logistics = writers["processor2"], writers["logistics3"]
    retailers = [writers["retailer4"], writers["retailer5"]]
    active: list[_Batch] = []
    heads: dict[str, str] = {}
    serial = 0

    def emit(writer: StatementWriter, type_: str, body: dict[str, Any], moment: datetime,
             links: dict[str, str | None]) -> dict[str, Any]:
        body["recorder"] = {"name": rng.choice(PEOPLE), "device": f"PDA-{rng.randrange(10**4):04d}",
                            "site": chain.province + rng.choice(chain.places)}
        envelope = writer.sign(type_, body, moment, links=links)
        for ref in links:
            heads[ref] = writer.prev or ""
        return envelope

    for n in range(count):
        moment = start + timedelta(seconds=n)
        when = moment.isoformat(timespec="seconds")
        if len(active) < 48 or rng.random() < 0.18:
            serial += 1
            producer = rng.choice(producers)
            batch = _Batch(serial, f"{producer.signer.author}:{moment.year}-H{serial:07d}", rng.randrange(200, 20_000))
            active.append(batch)
            place = rng.choice(chain.places)
            body: dict[str, Any] = {
                "batch": batch.ref,
                "product": {"name": chain.product, "category": chain.category,
                            "gtin": f"069{rng.randrange(10**10):010d}"},
                "quantity": f"{batch.quantity}.{rng.randrange(1000):03d}", "unit": chain.unit,
                "origin": {"address": chain.province + place,
                           "plot": f"{chr(65 + rng.randrange(8))}-{rng.randrange(1, 40):02d}",
                           "lat": f"{rng.uniform(22, 46):.6f}", "lon": f"{rng.uniform(100, 127):.6f}"},
                "harvested_at": when, "operator": rng.choice(PEOPLE),
                "certificates": [{"type": "绿色食品",
                                  "number": f"LB-{rng.randrange(10, 99)}-{rng.randrange(10**10)}A"}],
                "note": rng.choice(NOTES),
            }
            yield emit(producer, "bench.harvest", body, moment, {batch.ref: None})
            continue
        batch = active[rng.randrange(len(active))]
        if batch.stage == 0:
            batch.derived = f"{processor.signer.author}:{moment.year}-P{batch.serial:07d}-{rng.randrange(100):02d}"
            body = {
                "input": batch.ref, "output": batch.derived, "process": chain.process, "facility": chain.facility,
                "quantity_in": f"{batch.quantity}.000", "quantity_out": f"{batch.quantity * 9 // 10}.500",
                "unit": chain.unit, "lot": f"L{moment:%y%m%d}{rng.randrange(10**4):04d}",
                "inspection": {"result": "合格", "inspector": rng.choice(PEOPLE),
                               "report": f"QI-{moment.year}-{rng.randrange(10**6):06d}"},
                "note": rng.choice(NOTES),
            }
            envelope = emit(processor, "bench.process", body, moment,
                            {batch.ref: heads.pop(batch.ref), batch.derived: None})
        elif batch.stage == 1:
            body = {
                "batch": batch.derived, "from": chain.facility, "to": rng.choice(chain.stores),
                "vehicle": f"闽D·{rng.randrange(10**5):05d}", "driver": rng.choice(PEOPLE),
                "cold_chain": {"min_c": "0", "max_c": "4", "logger": f"TL-{rng.randrange(10**6):06d}"},
                "packages": rng.randrange(10, 400), "waybill": f"SF{rng.randrange(10**13):013d}",
                "departed_at": when, "note": rng.choice(NOTES),
            }
            envelope = emit(logistics, "bench.ship", body, moment, {batch.derived: heads[batch.derived]})
        elif batch.stage == 2:
            body = {
                "batch": batch.derived, "store": rng.choice(chain.stores), "received_by": rng.choice(PEOPLE),
                "quantity": f"{batch.quantity * 9 // 10}.500", "unit": chain.unit, "condition": rng.choice(NOTES),
                "shelf_life_days": rng.randrange(7, 720),
                "location": f"{chain.province}仓储区{rng.randrange(1, 9)}号库",
                "received_at": when,
            }
            envelope = emit(rng.choice(retailers), "bench.receive", body, moment,
                            {batch.derived: heads[batch.derived]})
        else:
            batch.sales += 1
            body = {
                "batch": batch.derived, "channel": rng.choice(("门店零售", "线上商城", "社区团购")),
                "sold_quantity": f"{rng.randrange(1, 200)}.{rng.randrange(1000):03d}", "unit": chain.unit,
                "price_cny": f"{rng.randrange(5, 900)}.{rng.randrange(100):02d}",
                "period": {"from": when, "days": rng.randrange(1, 8)}, "returns": rng.randrange(3),
                "note": rng.choice(NOTES) + "；消费者扫码查询" + str(rng.randrange(10, 5000)) + "次",
            }
            envelope = emit(rng.choice(retailers), "bench.sell", body, moment,
                            {batch.derived: heads[batch.derived]})
            if batch.sales >= 2 or rng.random() < 0.5:
                active.remove(batch)
                del heads[batch.derived]
        batch.stage += 1
        yield envelope


def write_shard(args: tuple[int, int, str, str, str]) -> tuple[int, int]:
    """Worker entry point: sign one shard's statements into ``path``; returns (shard, bytes written)."""
    shard, count, origin, start_iso, path = args
    written = 0
    with Path(path).open("w", encoding="utf-8") as out:
        for envelope in shard_statements(shard, count, origin, datetime.fromisoformat(start_iso)):
            line = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")) + "\n"
            written += len(line.encode("utf-8"))
            out.write(line)
    return shard, written


def default_start(total_per_shard: int) -> datetime:
    """Author times one second apart per shard, ending a minute before now (never in the future)."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=total_per_shard + 60)
