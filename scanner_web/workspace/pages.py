"""Placeholder: filled in by its issue's work."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("workspace_pages", __name__)
