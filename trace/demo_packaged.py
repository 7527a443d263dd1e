"""Demo supply chains of packaged, regulated goods: infant formula (Heilongjiang to Beijing on SSCC pallets, a
failed spot check and a recall in progress) and a drug (a Zhejiang manufacturer's serialised boxes through a
Hubei wholesaler to two Wuhan pharmacies; one box's code is sold twice, and the pharmacy that sold the copy
ends on the blacklist). Every lot is fictional; every statement goes through the same rules as real data."""

from __future__ import annotations

import hashlib

from .demo_script import REGISTRAR, DemoScript, certificate

FORMULA_LOTS = ("base_powder", "JF-260602")
FORMULA_RECALLED = ("formula_1", "BW1-260605")
FORMULA_PALLETS = ("069753112600000013", "069753112600000020")
DRUG_LOT = ("amoxicillin", "2609031")
DRUG_PREFIX = "8103715"  # the product's drug_code_prefix in fixtures/demo_products.json
DRUG_BOXES = 60
#: The box sold at the Jianghan pharmacy whose code turns up again at the Wuchang drugstore.
DRUG_COPIED_BOX = 3

DAIRY = "黑龙江北纬乳业有限公司"


def drug_codes(prefix: str, count: int, first: int = 100000001) -> list[str]:
    """``count`` 20-digit drug traceability codes: the 7-digit product prefix, a 9-digit box serial and 4
    (deterministic, made-up) trailing digits."""
    codes = []
    for serial in range(first, first + count):
        tail = int(hashlib.sha256(f"{prefix}{serial}".encode()).hexdigest(), 16) % 10_000
        codes.append(f"{prefix}{serial:09d}{tail:04d}")
    return codes


def formula(s: DemoScript) -> None:
    """Two base-powder batches canned into stage 1 and stage 2 formula, released, palletised, distributed and
    unpacked in Beijing, sold; then a regulator's spot check fails, the maker recalls the base powder (inherited
    by both canned lots and their pallet) and the goods start coming back."""
    maker, distributor, shop = "formula_maker", "jingbei", "supermarket"
    origin = {"place": "黑龙江省齐齐哈尔市克东县", "region": "230230", "farm": "北纬乳业自有牧场（生牛乳）",
              "gln": "6975311900018"}
    base = s.commission("2026-06-02 07:00", maker, *FORMULA_LOTS, "4200", "KGM", "2026-06-02", activity="produce",
                        location="factory", expires_on="2027-06-01", origin=origin,
                        certificates=[certificate("inspection_report", "基粉检验报告 BW-JF-260602", DAIRY)])
    stage1, stage2 = s.transform("2026-06-05 08:00", maker, "process", [(base, "4200")], [
        s.output(*FORMULA_RECALLED, "2400", "EA", "2026-06-05", expires_on="2028-06-04",
                 certificates=[certificate("inspection_report", "出厂检验报告 BW1-260605", DAIRY)]),
        s.output("formula_2", "BW2-260605", "2100", "EA", "2026-06-05", expires_on="2028-06-04",
                 certificates=[certificate("inspection_report", "出厂检验报告 BW2-260605", DAIRY)])],
        location="factory")
    later = s.commission("2026-07-08 07:00", maker, "base_powder", "JF-260708", "3000", "KGM", "2026-07-08",
                         activity="produce", location="factory", expires_on="2027-07-07", origin=origin,
                         certificates=[certificate("inspection_report", "基粉检验报告 BW-JF-260708", DAIRY)])
    [clean] = s.transform("2026-07-10 08:00", maker, "process", [(later, "3000")], [
        s.output("formula_1", "BW1-260710", "3600", "EA", "2026-07-10", expires_on="2028-07-09",
                 certificates=[certificate("inspection_report", "出厂检验报告 BW1-260710", DAIRY)])],
        location="factory")
    for at, lot, number in (("2026-06-08 10:00", stage1, "BW1-260605"), ("2026-07-13 10:00", clean, "BW1-260710")):
        s.inspect(at, maker, lot, "conformant", location="factory", laboratory="北纬乳业质量检验中心",
                  items=["GB 10765 全项 (full GB 10765 panel)"], report=f"BW-FX-{number}",
                  note="出厂检验合格，准予放行 (factory release test passed)")
    first, second = FORMULA_PALLETS
    pallets = (s.aggregate("2026-06-10 09:00", maker, first, [(stage1, "600"), (stage2, "480")], location="factory"),
               s.aggregate("2026-07-14 09:00", maker, second, [(clean, "720")], location="factory"))
    for pallet, sscc, sent, arrived in ((pallets[0], first, "06-10", "06-13"), (pallets[1], second, "07-14", "07-17")):
        trip = s.ship(f"2026-{sent} 14:00", maker, pallet, "1", distributor, f"BW-S26{sent.replace('-', '')}",
                      location="factory")
        s.receive(f"2026-{arrived} 10:00", distributor, trip, "1", location="dc")
        s.disaggregate(f"2026-{arrived} 11:00", distributor, sscc, location="dc")
    for at, lot, quantity, number in (("2026-06-15 08:00", stage1, "240", "011"),
                                      ("2026-06-15 08:05", stage2, "180", "012"),
                                      ("2026-07-20 08:00", clean, "300", "018")):
        trip = s.ship(at, distributor, lot, quantity, shop, f"JB-S{at[2:4]}{at[5:7]}{at[8:10]}-{number}",
                      location="dc")
        s.receive(at[:11] + "13:00", shop, trip, quantity, location="chaoyangmen")
    for at, lot, sold in (("2026-06-30 21:00", stage1, "46"), ("2026-06-30 21:01", stage2, "38"),
                          ("2026-07-31 21:00", stage1, "52"), ("2026-07-31 21:01", stage2, "41"),
                          ("2026-07-31 21:02", clean, "57"), ("2026-08-31 21:00", clean, "66")):
        s.sell(at, shop, lot, sold, location="chaoyangmen")
    s.inspect("2026-11-10 10:00", REGISTRAR, stage1, "non_conformant", items=["阪崎肠杆菌 Cronobacter spp."],
              laboratory="北京市食品质量监督检验中心", report="SP-2026-11-04562",
              note="2026 年婴幼儿配方乳粉专项抽检（惠家超市朝阳门店）：检出阪崎肠杆菌 (special spot check of infant "
                   "formula at the Chaoyangmen store: Cronobacter detected)")
    s.recall("2026-11-11 09:00", maker, base, level="1",
             reason="基粉 JF-260602 抽检检出阪崎肠杆菌，召回以其生产的全部成品（1 段 BW1-260605、2 段 BW2-260605）"
                    "(Cronobacter found in base powder JF-260602: every finished lot made from it is recalled)")
    back = s.ship("2026-11-12 10:00", shop, stage1, "142", distributor, "HJ-R261112-01", location="chaoyangmen")
    s.receive("2026-11-12 16:00", distributor, back, "142", location="dc")
    s.ship("2026-11-13 10:00", shop, stage2, "101", distributor, "HJ-R261113-02", location="chaoyangmen")
    s.ship("2026-11-14 09:00", distributor, stage1, "502", maker, "JB-R261114-01", location="dc")
    s.destroy("2026-11-16 14:00", maker, stage1, "1800", location="factory",
              reason="召回产品在市场监管部门监督下销毁 (recalled stock destroyed under the regulator's supervision)")


def drugs(s: DemoScript) -> None:
    """A serialised drug lot: every box's 20-digit code listed at production, boxes shipped by code to two
    pharmacies and sold; one code is sold a second time elsewhere, the regulator lists that drugstore as
    abnormal and, once the copy is confirmed, blacklists it."""
    maker, wholesaler, pharmacy, drugstore = "drug_maker", "drug_wholesaler", "pharmacy", "pharmacy_b"
    codes = drug_codes(DRUG_PREFIX, DRUG_BOXES)
    lot = s.commission("2026-09-03 08:00", maker, *DRUG_LOT, str(DRUG_BOXES), "BX", "2026-09-03",
                       activity="produce", location="plant", expires_on="2028-08-31", units=codes,
                       origin={"place": "浙江省绍兴市柯桥区滨海工业区", "region": "330603", "gln": "6975313900016"},
                       certificates=[certificate("drug_release", "药品上市放行单 KH-FX-2609031",
                                                 "浙江康和制药有限公司")])
    bulk = s.ship("2026-09-08 09:00", maker, lot, str(DRUG_BOXES), wholesaler, "KH-S260908-03", location="plant")
    s.receive("2026-09-09 15:00", wholesaler, bulk, str(DRUG_BOXES), location="warehouse")
    first = s.ship("2026-09-15 09:00", wholesaler, lot, "24", pharmacy, "CK-S260915-112", location="warehouse",
                   units=codes[:24])
    s.receive("2026-09-15 14:00", pharmacy, first, "24", location="jianghanlu")
    second = s.ship("2026-09-16 09:00", wholesaler, lot, "12", drugstore, "CK-S260916-118", location="warehouse",
                    units=codes[24:36])
    s.receive("2026-09-16 15:00", drugstore, second, "12", location="shop")
    for at, boxes in (("2026-09-18 10:12", [0]), ("2026-09-20 16:45", [1, 2]), ("2026-09-27 11:03", [3]),
                      ("2026-10-08 09:31", [4]), ("2026-10-19 18:20", [5, 6])):
        s.sell(at, pharmacy, lot, str(len(boxes)), location="jianghanlu", units=[codes[box] for box in boxes])
    for at, box in (("2026-09-25 10:40", 24), ("2026-10-12 15:05", 25), ("2026-10-26 14:18", DRUG_COPIED_BOX)):
        s.sell(at, drugstore, lot, "1", location="shop", units=[codes[box]])
    copied = codes[DRUG_COPIED_BOX]
    s.set_status("2026-10-28 09:30", drugstore, "abnormal",
                 f"药品追溯码 {copied} 重复销售，立案调查中 (drug code {copied} sold twice: under investigation)")
    s.set_status("2026-11-18 16:00", drugstore, "blacklisted",
                 f"经查实销售假冒阿莫西林胶囊（追溯码 {copied} 系复制），列入严重违法失信名单 "
                 "(found selling counterfeit amoxicillin under a copied code: put on the list of seriously illegal "
                 "and dishonest enterprises)")
