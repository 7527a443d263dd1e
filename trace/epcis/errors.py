"""The one error type of the EPCIS library, with stable codes the API maps to statuses."""

from __future__ import annotations

from ledger import LedgerError


class EpcisError(LedgerError):
    """An EPCIS document or event cannot be used: ``epcis.schema`` (the official JSON Schema refuses it),
    ``epcis.unmappable`` (an event has no custody counterpart), ``epcis.too_large`` (past a size limit),
    ``epcis.unexportable`` (a ledger entry has no EPCIS counterpart)."""

    code = "epcis.invalid"
