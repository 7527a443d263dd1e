"""Registry statements: enterprises (registered and given a status by the registrar) and products (defined by
the enterprise that owns the GTIN). None of them links a batch."""

from __future__ import annotations

import re
from dataclasses import replace

from .body import Body
from .context import ROLES, Context
from .errors import BodyError, DomainError, EnterpriseError
from .identifiers import IdentifierError, normalise_gtin, uscc_problem, uscc_region
from .records import EnterpriseRecord, ProductRecord, to_json

ENTERPRISE_REGISTER = "trace.enterprise.register"
ENTERPRISE_UPDATE = "trace.enterprise.update"
ENTERPRISE_STATUS = "trace.enterprise.status"
PRODUCT_DEFINE = "trace.product.define"

STATUSES = frozenset({"active", "abnormal", "blacklisted", "deregistered"})
#: The credit lists: the abnormal-operation list (经营异常名录) and the blacklist (严重违法失信名单).
LISTED = frozenset({"abnormal", "blacklisted"})
MAX_LEGAL_BASIS = 300
CATEGORIES = frozenset({"food", "drug", "farm", "daily", "special_equipment", "gi"})
MIN_OVERRIDE_REASON = 10
_LOCATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
_APPROVAL = re.compile(r"国药准字[HZSJBTF][0-9]{8}")
_DRUG_PREFIX = re.compile(r"[0-9]{7}")


def register_enterprise(ctx: Context) -> None:
    """Registrar only. A credit code failing its check character needs ``check_override`` with a reason."""
    _require_registrar(ctx)
    body = Body(ctx.statement.body, "body", {"credit_code", "name", "roles", "locations", "commitment_sha256"},
                {"name_en", "check_override"})
    code = body.required_text("credit_code", 18)
    if ctx.book.get(EnterpriseRecord, code) is not None:
        raise EnterpriseError(f"enterprise {code} is already registered", code="enterprise.exists")
    override = body.text("check_override", 500, optional=True)
    problem = uscc_problem(code)
    try:
        region = uscc_region(code)  # length, character set and region: structural, so no override excuses them
    except IdentifierError as exc:
        raise EnterpriseError(f"credit code {code}: {problem or exc.message}", code="enterprise.credit_code") from None
    if problem is not None:
        if override is None:
            raise EnterpriseError(f"credit code {code}: {problem}; an inspector may register it with check_override "
                                  "giving the reason", code="enterprise.credit_code")
        if len(override.strip()) < MIN_OVERRIDE_REASON:
            raise BodyError(f"check_override must give a reason of at least {MIN_OVERRIDE_REASON} characters",
                            code="body.text")
    elif override is not None:
        raise BodyError(f"credit code {code} passes its check; check_override is only for codes that fail it",
                        code="body.unknown_field")
    name = body.required_text("name", 200)
    record = EnterpriseRecord(
        credit_code=code, name=name, name_en=body.text("name_en", 200, optional=True) or "",
        roles=_roles(body), region=region, status="active", status_reason="registered",
        status_index=ctx.index, registered_index=ctx.index, check_override=override,
        commitment_sha256=body.sha256("commitment_sha256") or "", locations=_locations(body), legal_basis=None)
    ctx.book.put(record)
    ctx.summary = {"credit_code": code, "name": name, "roles": record.roles}


def update_enterprise(ctx: Context) -> None:
    """Registrar only: change an enterprise's names, roles or locations (its credit code never changes)."""
    _require_registrar(ctx)
    body = Body(ctx.statement.body, "body", {"credit_code"}, {"name", "name_en", "roles", "locations"})
    record = ctx.enterprise(body.required_text("credit_code", 18))
    if not any(body.has(name) for name in ("name", "name_en", "roles", "locations")):
        raise BodyError("an update must change at least one of name, name_en, roles, locations",
                        code="body.missing")
    changed = replace(
        record,
        name=body.required_text("name", 200) if body.has("name") else record.name,
        name_en=body.required_text("name_en", 200) if body.has("name_en") else record.name_en,
        roles=_roles(body) if body.has("roles") else record.roles,
        locations=_locations(body) if body.has("locations") else record.locations)
    ctx.book.put(changed)
    ctx.summary = {"credit_code": record.credit_code,
                   "changed": sorted(name for name in body.data if name != "credit_code" and body.has(name))}


def set_enterprise_status(ctx: Context) -> None:
    """Registrar only: active, abnormal-operation list, blacklist, or deregistered (final). History stays.

    ``legal_basis`` (the provision the decision rests on) is optional here, so statements written before the
    field existed still replay; the registrar's console and its form require it for the two credit lists
    (:data:`LISTED`). When given it is stored on the enterprise and in the event's summary."""
    _require_registrar(ctx)
    body = Body(ctx.statement.body, "body", {"credit_code", "status", "reason"}, {"legal_basis"})
    record = ctx.enterprise(body.required_text("credit_code", 18))
    status = body.choice("status", STATUSES)
    reason = body.required_text("reason", 500)
    legal_basis = body.text("legal_basis", MAX_LEGAL_BASIS, optional=True)
    if record.status == "deregistered":
        raise EnterpriseError(f"enterprise {record.credit_code} is deregistered; its status is final",
                              code="enterprise.deregistered")
    if status == record.status:
        raise EnterpriseError(f"enterprise {record.credit_code} is already {status}", code="enterprise.status")
    ctx.book.put(replace(record, status=status, status_reason=reason, status_index=ctx.index,
                         legal_basis=legal_basis))
    ctx.summary = {"credit_code": record.credit_code, "status": status, "previous": record.status,
                   "reason": reason}
    if legal_basis is not None:
        ctx.summary["legal_basis"] = legal_basis


def define_product(ctx: Context) -> None:
    """An active enterprise defines a product under a GTIN nobody has defined yet."""
    enterprise = ctx.acting_enterprise(ROLES - {"logistics"})
    body = Body(ctx.statement.body, "body", {"gtin", "name", "category", "spec"},
                {"name_en", "approval_number", "drug_code_prefix"})
    gtin = parse_gtin(body.required_text("gtin", 14), "body.gtin")
    if ctx.book.get(ProductRecord, gtin) is not None:
        raise DomainError(f"product {gtin} is already defined", code="product.exists")
    category = body.choice("category", CATEGORIES)
    approval = body.text("approval_number", 20, pattern=_APPROVAL, optional=True)
    prefix = body.text("drug_code_prefix", 7, pattern=_DRUG_PREFIX, optional=True)
    if category == "drug" and approval is None:
        raise BodyError("a drug needs its approval number (国药准字…)", code="body.missing")
    if category != "drug" and (approval is not None or prefix is not None):
        raise BodyError("approval_number and drug_code_prefix are for drugs only", code="body.unknown_field")
    name = body.required_text("name", 200)
    ctx.book.put(ProductRecord(gtin=gtin, owner=enterprise.credit_code, name=name,
                               name_en=body.text("name_en", 200, optional=True) or "", category=category,
                               spec=body.required_text("spec", 200), approval_number=approval, drug_prefix=prefix,
                               defined_index=ctx.index))
    ctx.summary = {"gtin": gtin, "name": name, "category": category}


def parse_gtin(value: str, field: str) -> str:
    """A valid GTIN-8/12/13/14 as its GTIN-14 form; raises :class:`BodyError` (``body.gtin``)."""
    try:
        return normalise_gtin(value)
    except ValueError as exc:
        raise BodyError(f"{field}: {exc}", code="body.gtin") from None


def _require_registrar(ctx: Context) -> None:
    if not ctx.is_registrar:
        raise EnterpriseError(f"{ctx.statement.type} is the registrar's statement, not {ctx.actor}'s",
                              code="enterprise.not_registrar")


def _roles(body: Body) -> str:
    roles = body.strings("roles", len(ROLES), 20)
    unknown = set(roles) - ROLES
    if unknown:
        raise BodyError(f"unknown role(s) {', '.join(sorted(unknown))}; roles are {', '.join(sorted(ROLES))}",
                        code="body.choice")
    return ",".join(sorted(roles))


def _locations(body: Body) -> str:
    locations = []
    for position, item in enumerate(body.items("locations", 50, minimum=1)):
        location = Body(item, f"body.locations[{position}]", {"id", "name", "address"}, {"gln"})
        gln = location.gs1_key("gln", 13, "GLN-13", "body.gln", optional=True)
        entry = {"id": location.required_text("id", 32, pattern=_LOCATION_ID),
                 "name": location.required_text("name", 200), "address": location.required_text("address", 300)}
        if gln is not None:
            entry["gln"] = gln
        locations.append(entry)
    ids = [entry["id"] for entry in locations]
    if len(set(ids)) != len(ids):
        raise BodyError("body.locations has two locations with one id", code="body.duplicate")
    return to_json(locations)

