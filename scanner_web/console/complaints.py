"""Console area: Complaints (to be built)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from .guard import officer_required, page

blueprint = Blueprint("console_complaints", __name__, url_prefix="/console/complaints")


@blueprint.get("/")
@officer_required("inspector")
def index() -> Any:
    return page("console/complaints/index.html")
