"""Console area: Integrity audits (to be built)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from .guard import officer_required, page

blueprint = Blueprint("console_audits", __name__, url_prefix="/console/audits")


@blueprint.get("/")
@officer_required("inspector", "registrar", "administrator")
def index() -> Any:
    return page("console/audits/index.html")
