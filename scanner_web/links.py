"""The URIs printed in QR codes: canonical GS1 Digital Links under the deployment's public base URL."""

from __future__ import annotations

from trace.identifiers import DigitalLink, format_digital_link


def public_uri(base_url: str, key_ai: str, key: str, *, lot: str | None = None, serial: str | None = None) -> str:
    """The canonical Digital Link of a code under ``base_url`` (``https://host[:port]``; plain ``http`` is kept
    for a development server). Raises :class:`trace.identifiers.IdentifierError` for an invalid key."""
    scheme, host = base_url.split("://", 1)
    uri = format_digital_link(DigitalLink(host=host.lower(), key_ai=key_ai, key=key, lot=lot, serial=serial))
    return scheme + uri.removeprefix("https")
