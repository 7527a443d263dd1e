"""The registrar acting through the API: the statement is signed by the logged-in officer's own registrar key
(:mod:`trace.officers`), so the ledger records which officer acted."""

from __future__ import annotations

import logging
from typing import Any

from ledger import AppendResult
from trace.access import Caller

from .context import app_context

logger = logging.getLogger(__name__)


def append_as_registrar(caller: Caller, type: str, body: dict[str, Any]) -> AppendResult:
    """Sign ``type`` with ``body`` as the registrar, with the key of ``caller``'s account, and append it (a
    commit of its own); raises the statement's :class:`ledger.LedgerError` when the rules refuse it."""
    assert caller.username is not None, "only a logged-in account acts as the registrar"
    context = app_context()
    result = context.officers.append(caller.username, type, body, clock=context.clock)
    logger.info("registrar statement appended", extra={"account": caller.name, "type": type,
                                                       "entry_index": result.index})
    return result
