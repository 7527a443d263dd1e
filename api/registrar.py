"""The registrar acting through the API: the server signs the statement with the registrar key it holds, on
behalf of a logged-in registrar account, and logs which account asked."""

from __future__ import annotations

import logging
from typing import Any

from ledger import AppendResult
from trace.access import Caller
from trace.ledger_service import append_authored
from trace.policy import TracePolicy

from .context import app_context

logger = logging.getLogger(__name__)


def append_as_registrar(caller: Caller, type: str, body: dict[str, Any]) -> AppendResult:
    """Sign ``type`` with ``body`` as the registrar and append it (a commit of its own); raises the statement's
    :class:`ledger.LedgerError` when the rules refuse it."""
    context = app_context()
    result = append_authored(context.sessions, context.keys.registrar, type, body, config=context.ledger,
                             clock=context.clock, policy=TracePolicy())
    logger.info("registrar statement appended", extra={"account": caller.name, "type": type,
                                                       "entry_index": result.index})
    return result
