"""Placeholder: filled in by its issue's work."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("csv_import", __name__)
