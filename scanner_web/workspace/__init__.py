"""The enterprise workspace: staff record handoffs from a phone, signing each statement with a key that never
leaves the device (WebCrypto Ed25519, kept in IndexedDB)."""

from __future__ import annotations

from flask import Flask

from . import actions, imports, pages


def init_workspace(app: Flask) -> None:
    """Register the workspace's pages on ``app``."""
    for module in (pages, actions, imports):
        app.register_blueprint(module.blueprint)


__all__ = ["init_workspace"]
