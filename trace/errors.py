"""Domain errors. Each carries a stable ``code`` (``custody.not_holder``, ``enterprise.blacklisted``, ...).

They subclass :class:`ledger.LedgerError` so the sequencer refuses the statement that raised them and reports
the code; the API maps codes to HTTP statuses in one table.
"""

from __future__ import annotations

from ledger import LedgerError


class DomainError(LedgerError):
    """A statement is well formed and signed but breaks a traceability rule."""

    code = "domain.invalid"


class BodyError(DomainError):
    """A statement body is missing a field, has an unknown one, or a value of the wrong form."""

    code = "body.invalid"


class CustodyError(DomainError):
    """A custody rule is broken: the actor does not hold the goods, quantities are not conserved, ..."""

    code = "custody.invalid"


class EnterpriseError(DomainError):
    """The acting or named enterprise is unknown, lacks the role, or may not act (blacklisted, deregistered)."""

    code = "enterprise.invalid"
