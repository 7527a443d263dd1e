"""Demo supply chains of fresh farm products: vegetables (Fujian to a Shenzhen shop and a Hangzhou canteen),
pork (a Jiangsu farm and abattoir, a Shanghai cutting plant, a cold-chain excursion on the way to Beijing) and
rice (two Sichuan farmers' paddy merged by a mill, sold in Beijing). Every lot is fictional; every statement
goes through the same rules as real data."""

from __future__ import annotations

from .demo_script import REGISTRAR, DemoScript, certificate

VEGETABLE_LOTS = ("bok_choy", "QG-261114")
VEGETABLE_RETAIL = ("bok_choy", "QG-261114-SZ")
PORK_LOTS = ("live_pigs", "SM-SZ-261026")
PORK_EXCURSION = ("belly", "SC-WH-261027")
RICE_LOTS = ("paddy_coop", "TF-DG-2609A")
RICE_MERGED = ("rice", "CL-TF-261015")

COOP, MARKET = "福州闽侯绿源蔬菜专业合作社", "福州海峡农副产品批发市场有限公司"
PIG_FARM, MEAT_PLANT = "南通苏牧农牧发展有限公司", "上海申城肉类加工有限公司"
ANIMAL_HEALTH = "如皋市农业农村局动物卫生监督所"


def vegetables(s: DemoScript) -> None:
    """Harvest with 承诺达标合格证, a short receipt and a rapid pesticide test at the wholesale market, a split
    with re-issued certificates, daily sales at a fresh-food shop and a staff canteen's use."""
    coop, market, shop, canteen = "greens_coop", "strait_market", "fresh_store", "canteen"
    greens = s.commission("2026-11-14 06:30", coop, *VEGETABLE_LOTS, "480", "KGM", "2026-11-14", activity="harvest",
                          location="base", origin={"place": "福建省福州市闽侯县上街镇榕桥村", "region": "350121",
                                                   "farm": "绿源蔬菜基地 3 号大棚", "gln": "6975301900011"},
                          certificates=[certificate("compliance_promise", "LY-CN-20261114-01", COOP)])
    choy = s.commission("2026-11-14 06:50", coop, "choy_sum", "CX-261114", "260", "KGM", "2026-11-14",
                        activity="harvest", location="base",
                        origin={"place": "福建省福州市闽侯县上街镇榕桥村", "region": "350121",
                                "farm": "绿源蔬菜基地 5 号露天田块", "gln": "6975301900011"},
                        certificates=[certificate("compliance_promise", "LY-CN-20261114-02", COOP)])
    first = s.ship("2026-11-14 08:40", coop, greens, "480", market, "LY-F261114-01", location="base")
    second = s.ship("2026-11-14 08:45", coop, choy, "260", market, "LY-F261114-02", location="base")
    s.receive("2026-11-14 10:20", market, first, "472", location="market",
              discrepancy="8 kg 运输途中挤压、失水损耗 (8 kg bruised and wilted in transit)")
    s.receive("2026-11-14 10:25", market, second, "260", location="market")
    s.inspect("2026-11-14 11:10", market, greens, "conformant", location="market",
              items=["农药残留速测（有机磷和氨基甲酸酯类）Pesticide residue rapid test"],
              laboratory="海峡农副产品批发市场快速检测室", report="HX-KJ-20261114-0312",
              note="酶抑制率 8.2%，合格 (enzyme inhibition 8.2 %, pass)")
    to_shop, to_canteen = s.transform("2026-11-14 13:30", market, "split", [(greens, "472")], [
        s.output(*VEGETABLE_RETAIL, "300", "KGM", "2026-11-14",
                 certificates=[certificate("compliance_promise", "HX-CN-20261114-0107", MARKET)]),
        s.output("bok_choy", "QG-261114-HZ", "170", "KGM", "2026-11-14",
                 certificates=[certificate("compliance_promise", "HX-CN-20261114-0108", MARKET)])],
        location="market")
    south = s.ship("2026-11-14 16:30", market, to_shop, "300", shop, "HX-S261114-021", location="market")
    east = s.ship("2026-11-14 16:40", market, to_canteen, "170", canteen, "HX-S261114-022", location="market")
    more = s.ship("2026-11-14 16:50", market, choy, "120", shop, "HX-S261114-023", location="market")
    s.receive("2026-11-15 05:30", shop, south, "300", location="store")
    s.receive("2026-11-15 05:35", shop, more, "120", location="store")
    s.receive("2026-11-15 06:40", canteen, east, "170", location="kitchen")
    for day, greens_sold, choy_sold in (("15", "96.5", "41.2"), ("16", "112.8", "38.6"), ("17", "63.4", "22.9")):
        s.sell(f"2026-11-{day} 21:30", shop, to_shop, greens_sold, location="store")
        s.sell(f"2026-11-{day} 21:31", shop, choy, choy_sold, location="store")
    for day, used in (("15", "58"), ("16", "61.5"), ("17", "44")):
        s.sell(f"2026-11-{day} 10:30", canteen, to_canteen, used, location="canteen")


def pork(s: DemoScript) -> None:
    """Pigs raised and slaughtered with quarantine certificates, half carcasses cut into frozen cuts, a
    refrigerated truck whose recorder shows an excursion, a write-off on arrival and sales in Beijing."""
    farm, plant, carrier, shop = "pig_farm", "meat_plant", "jingbei", "supermarket"
    pigs = s.commission("2026-10-26 05:00", farm, *PORK_LOTS, "24", "HD", "2026-10-26", activity="produce",
                        location="farm", origin={"place": "江苏省南通市如皋市搬经镇", "region": "320682",
                                                 "farm": "苏牧第二生猪养殖场 3 号栏舍", "gln": "6975308900014"},
                        certificates=[
                            certificate("quarantine", "动物检疫合格证明（动物 A）3206821026001", ANIMAL_HEALTH),
                            certificate("compliance_promise", "SM-CN-20261026-01", PIG_FARM)])
    [carcass] = s.transform("2026-10-26 13:30", farm, "process", [(pigs, "24")], [
        s.output("carcass", "SM-BT-261026", "2112.6", "KGM", "2026-10-26", expires_on="2026-11-01", certificates=[
            certificate("quarantine", "动物检疫合格证明（产品 A）3206821026017", ANIMAL_HEALTH),
            certificate("inspection_report", "肉品品质检验合格证 SM-PJ-20261026-04", PIG_FARM),
            certificate("compliance_promise", "SM-CN-20261026-02", PIG_FARM)])], location="abattoir")
    truck = s.ship("2026-10-26 18:00", farm, carcass, "2112.6", plant, "SM-F261026-07", location="abattoir")
    s.receive("2026-10-27 02:30", plant, truck, "2112.6", location="plant")
    cuts = (("loin", "SC-LJ-261027", "118"), ("belly", PORK_EXCURSION[1], "296"),
            ("shoulder", "SC-QT-261027", "402"), ("ham", "SC-HT-261027", "512"))
    loin, belly, _, _ = s.transform("2026-10-27 09:00", plant, "split", [(carcass, "2112.6")], [
        s.output(key, lot, quantity, "KGM", "2026-10-27", expires_on="2027-10-26",
                 certificates=[certificate("compliance_promise", f"SC-CN-20261027-0{number}", MEAT_PLANT)])
        for number, (key, lot, quantity) in enumerate(cuts, 1)], location="plant")
    loin_trip = s.ship("2026-11-03 20:00", plant, loin, "60", shop, "SC-S261103-11", location="plant",
                       carrier=carrier)
    belly_trip = s.ship("2026-11-03 20:05", plant, belly, "120", shop, "SC-S261103-12", location="plant",
                        carrier=carrier)
    device = "京北冷链车 京A·D3F21 温度记录仪 TR-07 (reefer truck recorder)"
    hours = ("03 20:00", "03 22:00", "04 00:00", "04 02:00", "04 04:00", "04 06:00", "04 08:00", "04 10:00",
             "04 12:00")
    steady = ("-19.4", "-19.1", "-18.9", "-19.0", "-18.8", "-18.6", "-18.9", "-19.2", "-19.0")
    broken = ("-19.2", "-19.0", "-18.7", "-18.9", "-17.6", "-12.4", "-9.8", "-16.1", "-18.4")
    for trip, values in ((loin_trip, steady), (belly_trip, broken)):
        s.sensor("2026-11-04 12:30", carrier, trip, [(f"2026-11-{hour}", value) for hour, value in zip(hours, values,
                                                                                                       strict=True)],
                 minimum="-25", maximum="-15", device=device)
    s.receive("2026-11-04 13:30", shop, loin_trip, "60", location="chaoyangmen")
    s.receive("2026-11-04 13:40", shop, belly_trip, "120", location="chaoyangmen")
    s.destroy("2026-11-04 15:00", shop, belly, "12", location="chaoyangmen",
              reason="运输途中冷链温度超标，外层两箱有解冻迹象，按规定销毁 (cold chain broken in transit: two outer "
                     "cartons showed thawing and were destroyed)")
    s.inspect("2026-11-04 15:30", shop, belly, "conformant", location="chaoyangmen",
              items=["中心温度 Core temperature", "感官检验 Sensory check"], laboratory="惠家超市朝阳门店质检岗",
              report="HJ-YS-20261104-022", note="余货中心温度 -16.5 ℃，感官正常，准予销售 (core -16.5 °C, sensory "
                                               "normal: released for sale)")
    for day, loin_sold, belly_sold in (("05", "18", "31"), ("06", "23", "27.5"), ("08", "9.5", "14")):
        s.sell(f"2026-11-{day} 21:00", shop, loin, loin_sold, location="chaoyangmen")
        s.sell(f"2026-11-{day} 21:01", shop, belly, belly_sold, location="chaoyangmen")


def rice(s: DemoScript) -> None:
    """Two farmers' paddy merged by a mill into one lot of bagged rice, a conformant regulator spot check with its
    report, a wholesaler in Beijing and a supermarket's sales."""
    coop, farm, mill, wholesaler, shop = "rice_coop", "rice_farm", "rice_mill", "jingbei", "supermarket"
    ours = s.commission("2026-09-18 08:00", coop, *RICE_LOTS, "6200", "KGM", "2026-09-18", activity="harvest",
                        location="fields", origin={"place": "四川省成都市郫都区唐昌街道", "region": "510117",
                                                   "farm": "天府稻田 2 号片区（社员 12 户）", "gln": "6975303900019"},
                        certificates=[certificate("compliance_promise", "TF-CN-20260918-01",
                                                  "成都天府稻米农民专业合作社")])
    theirs = s.commission("2026-09-22 09:00", farm, "paddy_farm", "DX-2609-01", "3800", "KGM", "2026-09-22",
                          activity="harvest", location="fields",
                          origin={"place": "四川省眉山市东坡区太和镇", "region": "511402", "farm": "稻香家庭农场东片",
                                  "gln": "6975309900013"},
                          certificates=[certificate("compliance_promise", "DX-CN-20260922-01",
                                                    "眉山市东坡区稻香家庭农场")])
    first = s.ship("2026-09-25 10:00", coop, ours, "6200", mill, "TF-F260925-01", location="fields")
    s.receive("2026-09-25 16:00", mill, first, "6200", location="mill")
    second = s.ship("2026-09-26 09:00", farm, theirs, "3800", mill, "DX-F260926-01", location="fields")
    s.receive("2026-09-26 14:00", mill, second, "3800", location="mill")
    [bags] = s.transform("2026-10-15 08:00", mill, "merge", [(ours, "6200"), (theirs, "3800")], [
        s.output(*RICE_MERGED, "1290", "BG", "2026-10-15", expires_on="2027-10-14", certificates=[
            certificate("inspection_report", "出厂检验报告 CL-JY-20261015", "四川川粮米业有限公司")])],
        location="mill")
    s.inspect("2026-10-20 10:00", REGISTRAR, bags, "conformant",
              items=["镉（以 Cd 计）Cadmium", "无机砷 Inorganic arsenic", "黄曲霉毒素 B1 Aflatoxin B1",
                     "苯并[a]芘 Benzo[a]pyrene"],
              laboratory="成都市粮油产品质量检验中心", report="SP-2026-51-03187",
              note="2026 年第三季度食品安全监督抽检，所检项目符合 GB 2762、GB 2761 (Q3 2026 food safety spot check: "
                   "all items conform)")
    north = s.ship("2026-10-22 09:00", mill, bags, "400", wholesaler, "CL-S261022-05", location="mill")
    s.receive("2026-10-25 15:00", wholesaler, north, "400", location="dc")
    local = s.ship("2026-10-28 08:00", wholesaler, bags, "120", shop, "JB-S261028-031", location="dc")
    s.receive("2026-10-28 11:30", shop, local, "120", location="chaoyangmen")
    for day, sold in (("10-31", "34"), ("11-07", "41"), ("11-14", "29")):
        s.sell(f"2026-{day} 21:00", shop, bags, sold, location="chaoyangmen")
