"""Console area: Double-random spot checks (to be built)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from .guard import officer_required, page

blueprint = Blueprint("console_spot_checks", __name__, url_prefix="/console/spot-checks")


@blueprint.get("/")
@officer_required("inspector", "administrator")
def index() -> Any:
    return page("console/spot_checks/index.html")
