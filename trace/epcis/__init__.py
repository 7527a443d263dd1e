"""GS1 EPCIS 2.0 for the traceability ledger: CBV 2.0 event hash IDs, validation against the official JSON
Schema, export of custody statements as EPCIS events, and capture of EPCIS events as statements to sign.

The official schema ``EPCIS-JSON-Schema.json`` beside this module is GS1's EPCIS 2.0 JSON Schema, as published
with the EPCIS 2.0 standard (ISO/IEC 19987:2024) artefacts; it is vendored unchanged. Pure library: no Flask,
no session; see docs/epcis.md for the mapping.
"""

from __future__ import annotations

from .capture import CaptureItem, capture_requests
from .errors import EpcisError
from .export import EXPORTED_TYPES, ExportEntry, export_document, export_event
from .hashid import event_hash_id, prehash_string
from .schema import validate_document

__all__ = ["EXPORTED_TYPES", "CaptureItem", "EpcisError", "ExportEntry", "capture_requests", "event_hash_id",
           "export_document", "export_event", "prehash_string", "validate_document"]
