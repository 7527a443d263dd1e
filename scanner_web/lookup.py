"""Finding a read code in the ledger's state, and what a consumer needs to know about it in one line.

Used by the typed-code look-up (which redirects to the resolver's page) and by the SMS reply (which has no page to
show). Functions take the session and the day; they raise :class:`trace.queries.NotFound` (``not_found.code``) for
a code that is not registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace import queries
from trace.codes import ProductCode
from trace.lots import unit_id_for
from trace.models import Batch, Unit
from trace.public import public_view
from trace.queries import NotFound


@dataclass(frozen=True)
class Found:
    """A registered code: the path of its public page, its batch and, for a serialised unit or a drug box, the
    unit's id and how many times it was sold."""

    code: ProductCode
    path: str
    ref: str
    unit_id: str | None = None


@dataclass(frozen=True)
class Summary:
    """What an SMS reply says about a found code: ``status`` and ``warnings`` are the public page's
    (:class:`trace.public.PublicView`)."""

    status: str
    warnings: frozenset[str]
    product_name: str | None
    lot: str | None
    sscc: str | None
    origin: str | None
    producer: str | None
    expires_on: str | None
    recall_reason: str | None


def find_code(session: Session, code: ProductCode) -> Found:
    """Find ``code`` (or, failing that, one of its other readings) in the ledger's state.

    Raises :class:`NotFound` (``not_found.code``) when no reading is registered.
    """
    for reading in (code, *code.alternatives):
        found = _find_one(session, reading)
        if found is not None:
            return found
    raise NotFound(f"code {code.display} is not registered", code="not_found.code")


def _find_one(session: Session, code: ProductCode) -> Found | None:
    if code.kind == "sscc":
        assert code.sscc is not None
        ref = queries.sscc_ref_of(code.sscc)
        return Found(code, code.resolver_path(), ref) if session.get(Batch, ref) is not None else None
    if code.kind == "drug":
        assert code.drug_code is not None
        row = session.execute(select(Unit, Batch.gtin).join(Batch, Batch.ref == Unit.ref)
                              .where(Unit.unit_id == code.drug_code).order_by(Unit.ref).limit(1)).first()
        if row is None:
            return None
        unit, gtin = row
        path = code.resolver_path(gtin) if gtin else f"/{unit.ref}"
        return Found(code, path, unit.ref, unit.unit_id)
    assert code.gtin is not None
    if code.serial is None:
        ref = queries.lot_ref_of(code.gtin, code.lot) if code.lot is not None else None
        return Found(code, code.resolver_path(), ref) if ref and session.get(Batch, ref) is not None else None
    try:
        ref = queries.unit_ref(session, code.gtin, code.serial, code.lot)
    except NotFound:
        return None
    return Found(code, code.resolver_path(), ref, unit_id_for(code.gtin, code.serial))


def summarise(session: Session, found: Found, today: date) -> Summary:
    """The product, its state and warnings as the public page shows them (:func:`trace.public.public_view`), where
    it came from (its own origin, else its first source's, else its maker) and, when recalled, why."""
    view = public_view(session, found.ref, today=today, unit_id=found.unit_id)
    root = view.batch
    places = [batch.origin.get("place") for batch in view.batches if batch.ref in (root.ref, *view.sources)]
    maker = view.parties.get(root.maker)
    warnings = {warning["code"]: warning for warning in view.warnings}
    return Summary(status=view.status, warnings=frozenset(warnings),
                   product_name=root.product["name"] if root.product else None, lot=root.lot, sscc=root.sscc,
                   origin=next((place for place in places if place), None),
                   producer=maker.name if maker is not None else None, expires_on=root.expires_on,
                   recall_reason=root.recalls[0]["reason"] if root.recalls else None)
