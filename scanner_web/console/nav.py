"""The console's areas as the navigation and the start page list them, with the roles that see each."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from .guard import Officer


@dataclass(frozen=True)
class Area:
    endpoint: str
    title: str
    summary: str
    roles: tuple[str, ...]


def _areas() -> tuple[Area, ...]:
    """The areas with their titles in the request's language."""
    return (
        Area("console_audits.index", _("Integrity audits"),
             _("Verify the whole ledger or an uploaded export; remembered checkpoints."),
             ("inspector", "registrar", "administrator")),
        Area("console_recalls.index", _("Recalls"),
             _("Start a recall, see its downstream scope and track each holder until it is closed."),
             ("inspector", "registrar")),
        Area("console_spreadsheets.index", _("Traceability spreadsheet"),
             _("Every shipment, receipt, transformation and sale of a product over a date range."),
             ("inspector", "registrar")),
        Area("console_credit.index", _("Enterprises and credit lists"),
             _("Abnormal-operation list and blacklist, with reasons and legal basis."),
             ("inspector", "registrar")),
        Area("console_keys.index", _("Keys and workspace invites"),
             _("Approve enterprises' key requests; invite an enterprise's workspace administrator."),
             ("registrar",)),
        Area("console_complaints.index", _("Complaints"),
             _("Queue, assignment, replies to complainants, due dates and escalation."),
             ("inspector",)),
        Area("console_spot_checks.index", _("Double-random spot checks"),
             _("Draw targets and inspectors from a published checkpoint; record results."),
             ("inspector", "administrator")),
        Area("console_risks.index", _("Risk warnings"),
             _("What to look at: complaint clusters, cold-chain excursions, late records and more."),
             ("inspector",)),
        Area("console_accounts.index", _("Accounts"),
             _("Staff accounts, their roles and their signing keys."),
             ("administrator",)),
    )


def visible_areas(officer: Officer) -> list[Area]:
    return [area for area in _areas() if officer.may(*area.roles)]
