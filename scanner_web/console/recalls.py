"""Console area: Recalls (to be built)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from .guard import officer_required, page

blueprint = Blueprint("console_recalls", __name__, url_prefix="/console/recalls")


@blueprint.get("/")
@officer_required("inspector", "registrar")
def index() -> Any:
    return page("console/recalls/index.html")
