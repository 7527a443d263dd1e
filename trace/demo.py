"""Demo data: the enterprises of ``fixtures/demo_enterprises.json`` (registered by the registrar, with their
TEST-ONLY keys), the products of ``fixtures/demo_products.json``, and five supply chains (``trace.demo_fresh``,
``trace.demo_packaged``), all created through ordinary signed ledger statements; plus demo staff accounts.

Idempotent: an enterprise, key or product already in the ledger is skipped, and so is a chain whose first lot
exists, so running :func:`load_demo` twice appends nothing the second time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger import LedgerConfig, Signer
from ledger.keys import encode_public_key
from ledger.models import LedgerKey

from .access import create_account
from .access_models import Account
from .complaint_models import Complaint
from .complaint_service import ComplaintDraft, file_complaint
from .context import lot_ref
from .demo_fresh import (
    PORK_EXCURSION,
    PORK_LOTS,
    RICE_LOTS,
    RICE_MERGED,
    VEGETABLE_LOTS,
    VEGETABLE_RETAIL,
    pork,
    rice,
    vegetables,
)
from .demo_packaged import (
    DRUG_COPIED_BOX,
    DRUG_LOT,
    DRUG_PREFIX,
    FORMULA_LOTS,
    FORMULA_PALLETS,
    FORMULA_RECALLED,
    drug_codes,
    drugs,
    formula,
)
from .demo_script import REGISTRAR, DemoProduct, DemoScript, read_product
from .identifiers import build_digital_link, build_sscc_link
from .ledger_service import append
from .models import Batch, Enterprise, Product
from .policy import TracePolicy
from .settings import ROOT
from .workspace import DEFAULT_INVITE_HOURS, create_invite

DEMO_ENTERPRISES = ROOT / "fixtures" / "demo_enterprises.json"
DEMO_PRODUCTS = ROOT / "fixtures" / "demo_products.json"
#: The text every enterprise accepts at registration (信用承诺); the ledger records its SHA-256.
CREDIT_COMMITMENT = ("本企业承诺：依法诚信经营，如实记录并上传产品追溯信息，对所提供信息的真实性、准确性负责，"
                     "接受政府部门和社会监督。").encode()


@dataclass(frozen=True)
class DemoEnterprise:
    """An enterprise of the fixture: ``handle`` is its name in the demo chains, ``signer`` its TEST-ONLY key."""

    handle: str
    credit_code: str
    name_zh: str
    name_en: str
    roles: tuple[str, ...]
    locations: tuple[dict[str, str], ...]
    signer: Signer


@dataclass(frozen=True)
class DemoChain:
    """A supply chain of the demo: ``build`` plans its statements; it is loaded unless ``first_lot`` (product
    key, lot) is already in the ledger."""

    name: str
    first_lot: tuple[str, str]
    build: Callable[[DemoScript], None]


CHAINS = (DemoChain("vegetables", VEGETABLE_LOTS, vegetables), DemoChain("pork", PORK_LOTS, pork),
          DemoChain("rice", RICE_LOTS, rice), DemoChain("infant formula", FORMULA_LOTS, formula),
          DemoChain("drug", DRUG_LOT, drugs))


@dataclass(frozen=True)
class DemoPage:
    """A public page worth showing: a lot (``gtin`` and ``lot``), a serialised unit of a lot (and ``serial``),
    or a logistic unit (``sscc``)."""

    title: str
    title_en: str
    gtin: str | None = None
    lot: str | None = None
    serial: str | None = None
    sscc: str | None = None

    def uri(self, host: str) -> str:
        """The page's GS1 Digital Link on ``host`` (what its QR code carries)."""
        if self.sscc is not None:
            return build_sscc_link(host, self.sscc)
        assert self.gtin is not None
        return build_digital_link(host, self.gtin, lot=self.lot, serial=self.serial)


#: Staff accounts for trying the API and console locally; the password is public, so never in production.
DEMO_ACCOUNTS = (("inspector", "inspector", "示范检查员 Demo inspector"),
                 ("registrar", "registrar", "示范登记员 Demo registrar"),
                 ("admin", "administrator", "示范管理员 Demo administrator"))
DEMO_PASSWORD = "demo-only-password"


def demo_enterprises(path: Path = DEMO_ENTERPRISES) -> list[DemoEnterprise]:
    """The fixture enterprises with their TEST-ONLY signing keys."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [DemoEnterprise(item["handle"], item["credit_code"], item["name_zh"], item["name_en"],
                           tuple(item["roles"]), tuple(item["locations"]),
                           Signer.from_seed(item["credit_code"], bytes.fromhex(item["test_only_key_seed"])))
            for item in data["enterprises"]]


def demo_products(path: Path = DEMO_PRODUCTS) -> dict[str, DemoProduct]:
    """The fixture products by key (GTINs as GTIN-14)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {item["key"]: read_product(item) for item in data["products"]}


def demo_pages() -> list[DemoPage]:
    """The demo's most telling public pages, for ``make run`` to print and for tests to open."""
    products = demo_products()

    def gtin(key: str) -> str:
        return products[key].gtin
    return [
        DemoPage("蔬菜零售批次：上海青，批发市场分拣后在深圳销售", "Vegetable retail lot: bok choy split at a Fuzhou "
                 "market and sold in Shenzhen", gtin(VEGETABLE_RETAIL[0]), VEGETABLE_RETAIL[1]),
        DemoPage("召回中的婴儿配方奶粉（抽检不合格）", "Infant formula under recall (failed a spot check)",
                 gtin(FORMULA_RECALLED[0]), FORMULA_RECALLED[1]),
        DemoPage("召回批次所在的托盘", "The pallet that carried recalled formula", sscc=FORMULA_PALLETS[0]),
        DemoPage("冷链运输温度超标的五花肉", "Pork belly with a cold-chain excursion", gtin(PORK_EXCURSION[0]),
                 PORK_EXCURSION[1]),
        DemoPage("两户农民稻谷合并加工的大米", "Rice milled from two farmers' paddy", gtin(RICE_MERGED[0]),
                 RICE_MERGED[1]),
        DemoPage("追溯码被重复销售的药品", "A drug box whose code was sold twice", gtin(DRUG_LOT[0]), DRUG_LOT[1],
                 serial=drug_codes(DRUG_PREFIX, DRUG_COPIED_BOX + 1)[DRUG_COPIED_BOX]),
    ]


def load_demo(sessions: sessionmaker[Session], *, config: LedgerConfig, registrar: Signer,
              clock: Callable[[], datetime]) -> int:
    """Register the demo enterprises and their keys, define the demo products, create every demo chain not yet
    in the ledger (one atomic append, one commit), the demo staff accounts and the consumers' complaints (each
    anchored by a statement of its own); returns how many statements were appended (0 when everything is
    already loaded). Raises :class:`ledger.BatchRefused` if the ledger refuses a
    statement (a demo data bug), leaving the database unchanged."""
    enterprises, products = demo_enterprises(), demo_products()
    signers = {enterprise.handle: enterprise.signer for enterprise in enterprises} | {REGISTRAR: registrar}
    with sessions() as session, sessions() as read_session:
        script = DemoScript(session, config.origin, signers, products, clock())
        _plan_registry(script, session, enterprises, products)
        for chain in CHAINS:
            if session.get(Batch, script.lot(*chain.first_lot)) is None:
                chain.build(script)
        envelopes = script.finish()
        if envelopes:
            session.rollback()
            append(session, read_session, envelopes, config=config, clock=clock, policy=TracePolicy())
            session.commit()
    with sessions() as session:
        for username, role, name in DEMO_ACCOUNTS:
            if session.get(Account, username) is None:
                create_account(session, username, DEMO_PASSWORD, [role], display_name=name, now=clock())
        session.commit()
    return len(envelopes) + add_demo_complaints(sessions, registrar, config=config, clock=clock)


#: Demo enterprises whose workspace administrator is invited by ``load-demo`` (the vegetable cooperative and the
#: supermarket): registrar invites, so the phone's key is registered as soon as it enrols.
DEMO_WORKSPACE_ADMINS = (("greens_coop", "合作社管理员"), ("supermarket", "门店管理员"))


def add_demo_workspace_invites(sessions: sessionmaker[Session], *, clock: Callable[[], datetime]
                               ) -> list[tuple[DemoEnterprise, str]]:
    """Invite a workspace administrator for each of :data:`DEMO_WORKSPACE_ADMINS` (registrar invites, approved
    at enrolment, 72 hours); returns each enterprise with its invite's secret. New invites on every run: a secret
    is shown once."""
    by_handle = {enterprise.handle: enterprise for enterprise in demo_enterprises()}
    invites = []
    with sessions() as session:
        for handle, staff in DEMO_WORKSPACE_ADMINS:
            enterprise = by_handle[handle]
            secret, _row = create_invite(session, credit_code=enterprise.credit_code, staff=staff, role="admin",
                                         hours=DEFAULT_INVITE_HOURS, created_by="registrar:load-demo",
                                         by_registrar=True, officer=None, now=clock())
            invites.append((enterprise, secret))
        session.commit()
    return invites


#: Consumers' complaints on the demo's telling pages (page position, category, description); two on the
#: recalled formula, so the console's complaint queue and risk warnings have something to show.
DEMO_COMPLAINTS = (
    (1, "adverse_reaction", "宝宝喝了这罐奶粉后腹泻两天，已去医院就诊。The baby had diarrhoea for two days after this "
                            "formula; we saw a doctor."),
    (1, "quality", "奶粉结块，冲调后有异味。The powder is lumpy and smells odd once mixed."),
    (5, "counterfeit", "药盒上的追溯码扫出来显示已经售出过一次，怀疑是假药。Scanning the box says it was already sold "
                       "once; we suspect a fake."),
    (3, "quality", "五花肉买回来就有异味，颜色发暗。The pork belly smelled off and looked dark when we got home."),
)


def add_demo_complaints(sessions: sessionmaker[Session], registrar: Signer, *, config: LedgerConfig,
                        clock: Callable[[], datetime]) -> int:
    """File the demo's consumer complaints through the public channel's own path (each anchored in the ledger),
    skipping those already filed; returns how many were added."""
    pages = demo_pages()
    added = 0
    for position, category, description in DEMO_COMPLAINTS:
        page = pages[position]
        assert page.gtin is not None and page.lot is not None
        ref = lot_ref(page.gtin, page.lot)
        with sessions() as session:
            filed = session.scalar(select(Complaint.ticket).where(Complaint.ref == ref,
                                                                  Complaint.description == description))
        if filed is None:
            file_complaint(sessions, registrar, ComplaintDraft(ref=ref, category=category, description=description,
                                                               contact=None, photos=()),
                           config=config, clock=clock)
            added += 1
    return added


def _plan_registry(script: DemoScript, session: Session, enterprises: Sequence[DemoEnterprise],
                   products: dict[str, DemoProduct]) -> None:
    """Plan the registrations, keys and product definitions that are not in the ledger yet, dated January 2026
    so that they precede every demo event."""
    known_keys = set(session.scalars(select(LedgerKey.key_id)))
    registered = set(session.scalars(select(Enterprise.credit_code)))
    defined = set(session.scalars(select(Product.gtin)))
    for position, enterprise in enumerate(enterprises):
        at = f"2026-01-{5 + position // 4:02d} {9 + position % 4:02d}:00"
        if enterprise.credit_code not in registered:
            script.sign(at, REGISTRAR, "trace.enterprise.register", {
                "credit_code": enterprise.credit_code, "name": enterprise.name_zh, "name_en": enterprise.name_en,
                "roles": list(enterprise.roles), "locations": list(enterprise.locations),
                "commitment_sha256": hashlib.sha256(CREDIT_COMMITMENT).hexdigest()})
        if enterprise.signer.key_id not in known_keys:
            script.sign(at, REGISTRAR, "ledger.key.add", {
                "subject": enterprise.credit_code, "public_key": encode_public_key(enterprise.signer.public_key),
                "label": f"{enterprise.name_en} (demo, test-only key)"})
    for position, product in enumerate(products.values()):
        if product.gtin not in defined:
            script.define_product(f"2026-01-{12 + position // 5:02d} {10 + position % 5}:30", product.key)
