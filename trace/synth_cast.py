"""The cast of a synthetic ledger (TEST-ONLY data): enterprises with valid credit codes and deterministic keys,
products with valid GTINs, and the identifiers they use, all derived from a seed and a run tag.

The run tag keeps identifiers of two runs into one ledger apart: it is part of every credit code, GTIN, GLN and
SSCC the run makes. Nothing here touches a database; :mod:`trace.synth` checks that the cast is new to the ledger.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace

from .identifiers import USCC_CHARSET, gs1_check_digit, uscc_check_character

#: Text every synthetic enterprise "signs" at registration; the ledger records its SHA-256.
COMMITMENT = "本企业承诺：依法诚信经营，如实记录并上传产品追溯信息（合成测试数据）。".encode()
#: Enterprises per cluster: one regional supply network with every family and role (see :data:`CLUSTER`).
MAX_CLUSTERS = 14

# (region code, province and city, district or county) — real administrative division codes.
REGIONS = (
    ("350121", "福建省福州市", "闽侯县"), ("350102", "福建省福州市", "鼓楼区"), ("320500", "江苏省苏州市", "姑苏区"),
    ("310115", "上海市", "浦东新区"), ("510184", "四川省成都市", "崇州市"), ("230184", "黑龙江省哈尔滨市", "五常市"),
    ("360722", "江西省赣州市", "信丰县"), ("440304", "广东省深圳市", "福田区"), ("110105", "北京市", "朝阳区"),
    ("370211", "山东省青岛市", "黄岛区"), ("420106", "湖北省武汉市", "武昌区"), ("330106", "浙江省杭州市", "西湖区"),
    ("610113", "陕西省西安市", "雁塔区"), ("500103", "重庆市", "渝中区"),
)
BRANDS = ("绿源", "丰收", "金穗", "康宁", "华东", "鲜达", "恒信", "宏达", "佳禾", "万家", "永盛", "瑞丰", "田园",
          "惠民", "天府", "嘉禾", "润丰", "金桥", "新港", "百川", "福満", "盛世", "优品", "安心")
TOWNS = ("上街镇", "南通镇", "白头镇", "龙凤山镇", "安西镇", "感德镇", "文林镇", "民乐乡", "澄江镇", "西坪镇")


@dataclass(frozen=True)
class Product:
    """A product line. ``step`` says what a processor does with a lot of it (``None``: sold as it is)."""

    key: str
    family: str
    name: str
    category: str
    unit: str
    spec: str
    shelf_days: int
    scale: int  # quantities are integers of 1/scale unit
    step: str | None = None
    gtin: str = ""
    owner: str = ""
    drug_prefix: str | None = None


# Every product line of the synthetic world, by family. Raw products are commissioned by producers; the others
# are made by a processor's transformation (``step`` of the input names the recipe in trace.synth_flow).
PRODUCT_LINES = (
    Product("greens", "veg", "上海青", "farm", "KGM", "散装，按公斤计", 6, 10, "repack"),
    Product("spinach", "veg", "菠菜", "farm", "KGM", "散装，按公斤计", 5, 10, "repack"),
    Product("cut_greens", "veg", "鲜切蔬菜组合 300g", "farm", "PK", "300g/盒", 4, 1),
    Product("pigs", "pork", "生猪", "food", "HD", "育肥猪，出栏体重约110kg", 3, 1, "slaughter"),
    Product("carcass", "pork", "白条猪（冷鲜二分体）", "food", "KGM", "按公斤计", 5, 10, "cut"),
    Product("ham", "pork", "冷鲜猪后腿肉", "food", "KGM", "按公斤计", 5, 10),
    Product("belly", "pork", "冷鲜五花肉", "food", "KGM", "按公斤计", 5, 10),
    Product("shoulder", "pork", "冷鲜前腿肉", "food", "KGM", "按公斤计", 5, 10),
    Product("paddy", "rice", "稻谷（稻花香2号）", "farm", "KGM", "散装原粮", 300, 10, "mill"),
    Product("rice", "rice", "五常大米 5kg", "gi", "BG", "5kg/袋，真空包装", 540, 1),
    Product("milk", "dairy", "生鲜乳", "farm", "LTR", "散装，冷藏运输", 3, 10, "ferment"),
    Product("yogurt", "dairy", "原味酸奶 200g", "food", "EA", "200g/杯", 21, 1),
    Product("orange", "fruit", "赣南脐橙（纽荷尔）", "farm", "KGM", "散装，按公斤计", 40, 10, "grade"),
    Product("orange_a", "fruit", "赣南脐橙 特级果", "farm", "KGM", "果径80-90mm", 35, 10),
    Product("orange_b", "fruit", "赣南脐橙 一级果", "farm", "KGM", "果径70-80mm", 35, 10),
    Product("amoxicillin", "drug", "阿莫西林胶囊", "drug", "BX", "0.25g×24粒/盒", 720, 1),
    Product("ibuprofen", "drug", "布洛芬缓释胶囊", "drug", "BX", "0.3g×20粒/盒", 720, 1),
)
RAW = {"greens", "spinach", "pigs", "paddy", "milk", "orange", "amoxicillin", "ibuprofen"}
COLD_CHAIN = {"pork": ("0", "4"), "dairy": ("2", "6"), "veg": ("0", "8")}

# One cluster: (family, role, what the enterprise is called, roles it registers). Supermarkets, caterers and the
# carrier serve every family but drugs; ``"*"`` marks them. A cluster has 26 enterprises.
CLUSTER = (
    ("veg", "producer", "蔬菜专业合作社", ("producer",)),
    ("veg", "producer", "蔬菜专业合作社", ("producer",)),
    ("veg", "producer", "农业专业合作社", ("producer",)),
    ("veg", "wholesaler", "蔬菜批发市场有限公司", ("wholesaler",)),
    ("veg", "processor", "净菜加工有限公司", ("processor",)),
    ("pork", "producer", "生猪养殖场", ("producer",)),
    ("pork", "producer", "畜牧发展有限公司", ("producer",)),
    ("pork", "processor", "肉类食品有限公司", ("processor", "wholesaler")),
    ("pork", "wholesaler", "冷鲜肉批发有限公司", ("wholesaler",)),
    ("rice", "producer", "水稻种植专业合作社", ("producer",)),
    ("rice", "producer", "粮食种植专业合作社", ("producer",)),
    ("rice", "processor", "米业有限公司", ("processor",)),
    ("rice", "wholesaler", "粮油批发有限公司", ("wholesaler",)),
    ("dairy", "producer", "奶牛养殖场", ("producer",)),
    ("dairy", "processor", "乳业有限公司", ("processor",)),
    ("fruit", "producer", "脐橙种植专业合作社", ("producer",)),
    ("fruit", "wholesaler", "果品批发有限公司", ("wholesaler",)),
    ("fruit", "wholesaler", "水果批发市场有限公司", ("wholesaler",)),
    ("drug", "producer", "制药有限公司", ("producer",)),
    ("drug", "wholesaler", "医药配送有限公司", ("wholesaler",)),
    ("*", "logistics", "冷链物流有限公司", ("logistics",)),
    ("*", "retailer", "生鲜超市有限公司", ("retailer",)),
    ("*", "retailer", "连锁超市有限公司", ("retailer",)),
    ("*", "caterer", "餐饮管理有限公司", ("caterer",)),
    ("drug", "retailer", "大药房有限公司", ("retailer",)),
    ("drug", "retailer", "医药连锁有限公司", ("retailer",)),
)
RETAIL_FAMILIES = ("veg", "pork", "rice", "dairy", "fruit")


@dataclass
class Enterprise:
    """A synthetic enterprise: its code, roles, locations and the TEST-ONLY key seed it signs with."""

    code: str
    name: str
    name_en: str
    family: str
    role: str
    roles: tuple[str, ...]
    region: str
    place: str
    locations: list[dict[str, str]]
    key_seed: bytes
    shipments: int = 0
    cluster: int = 0
    status: str = "active"

    @property
    def location(self) -> str:
        return self.locations[0]["id"]


@dataclass
class Cast:
    """Everyone and everything of one run, in registration order."""

    tag: int
    enterprises: list[Enterprise]
    products: dict[str, Product]
    by_role: dict[tuple[str, str], list[Enterprise]]

    def of(self, family: str, role: str) -> list[Enterprise]:
        return self.by_role.get((family, role), [])


def run_tag(seed: int, start_size: int) -> int:
    """A number in [0, 29791) naming the run: from the seed and the ledger's size when the run started."""
    digest = hashlib.sha256(f"synth-run:{seed}:{start_size}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 31 ** 3


def credit_code(region: str, kind: str, tag: int, serial: int) -> str:
    """A check-valid unified social credit code: ``9{kind}{region}MA{tag in 3 characters}{serial:04d}{check}``."""
    letters = "".join(USCC_CHARSET[(tag // 31 ** power) % 31] for power in (2, 1, 0))
    body = f"9{kind}{region}MA{letters}{serial:04d}"
    return body + uscc_check_character(body)


def gs1_key(prefix: str, tag: int, serial: int, width: int) -> str:
    """A GS1 key ``{prefix}69{tag:05d}{serial:0{width}d}{check}`` (GTIN-14, GLN-13 or SSCC-18)."""
    body = f"{prefix}69{tag:05d}{serial:0{width}d}"
    return body + gs1_check_digit(body)


def gtin(tag: int, item: int) -> str:
    return gs1_key("0", tag, item, 5)


def gln(tag: int, serial: int) -> str:
    return gs1_key("", tag, 90000 + serial, 5)


def sscc(tag: int, serial: int) -> str:
    return gs1_key("0", tag, serial, 9)


def clusters_for(entries: int) -> int:
    """How many regional clusters a run of ``entries`` entries gets: 1 per 80,000 entries, 1 to 14."""
    return max(1, min(MAX_CLUSTERS, entries // 80_000))


def build_cast(seed: int, tag: int, clusters: int) -> Cast:
    """The run's enterprises and products. Deterministic in ``(seed, tag, clusters)``."""
    rng = random.Random(f"cast:{seed}:{tag}")
    enterprises: list[Enterprise] = []
    by_role: dict[tuple[str, str], list[Enterprise]] = {}
    for cluster in range(clusters):
        region, city, county = REGIONS[cluster % len(REGIONS)]
        for family, role, trade, roles in CLUSTER:
            serial = len(enterprises) + 1
            kind = "3" if trade.endswith("合作社") else "1"
            code = credit_code(region, kind, tag, serial)
            brand = BRANDS[(serial * 7 + cluster) % len(BRANDS)]
            town = city[3:] if len(city) > 3 else city
            name = f"{town}{brand}{trade}" if family == "*" else f"{town}{county}{brand}{trade}"
            place = f"{city}{county}{rng.choice(TOWNS) if role == 'producer' else '经济开发区'}"
            locations = [{"id": "main", "name": f"{brand}{'基地' if role == 'producer' else '总部'}",
                          "address": f"{place}{rng.randrange(1, 300)}号", "gln": gln(tag, serial)}]
            if role in {"wholesaler", "retailer", "logistics"}:
                locations.append({"id": "wh1", "name": f"{brand}一号仓",
                                  "address": f"{place}物流园{rng.randrange(1, 40)}号"})
            enterprise = Enterprise(
                code=code, name=name[:200], name_en=f"Synthetic {family} {role} {serial} (test data)",
                family=family, role=role, roles=roles, region=region, place=place, locations=locations,
                key_seed=hashlib.sha256(f"synth-test-only-key:{seed}:{code}".encode()).digest(), cluster=cluster)
            enterprises.append(enterprise)
            by_role.setdefault((family, role), []).append(enterprise)
            if family == "*" and role != "logistics":
                for each in RETAIL_FAMILIES:
                    by_role.setdefault((each, role), []).append(enterprise)
    products: dict[str, Product] = {}
    for item, line in enumerate(PRODUCT_LINES, start=1):
        maker_role = "producer" if line.key in RAW else "wholesaler" if line.family == "fruit" else "processor"
        prefix = f"8{tag % 1000:03d}{item:03d}" if line.category == "drug" else None
        products[line.key] = replace(line, gtin=gtin(tag, item), owner=by_role[(line.family, maker_role)][0].code,
                                     drug_prefix=prefix)
    return Cast(tag, enterprises, products, by_role)
