"""The public record of the double-random spot checks (双随机抽查公示): every draw with its checkpoint, criteria,
targets, assigned inspectors and results, and how anyone can re-run it (docs/console-spot-checks.md).

Each draw's page checks what is cheap to check on every view (:func:`trace.spot_checks.check_published`: the
checkpoint is the ledger's, the seed, the order of the targets, the inspectors); that no candidate was left out
the ledger's rules checked when the draw was appended, and ``python -m trace redraw`` re-checks it from an export.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _

from api.context import app_context, read_session
from ledger.canonical import canonicalize
from ledger.errors import LedgerError
from trace.inspections import draw_ref, enterprises_named, orders_for
from trace.spot_checks import ALGORITHM, SEED_DOMAIN, check_published, get_draw, list_draws, target_rank

from .console.spot_checks import category_labels, result_labels, role_labels

blueprint = Blueprint("spot_checks_public", __name__, template_folder="templates")

PAGE_SIZE = 20


@blueprint.get("/spot-checks")
def index() -> Any:
    text = request.args.get("before", "")
    before = int(text) if text.isascii() and text.isdigit() and len(text) < 16 else None
    session = read_session()
    draws = list_draws(session, limit=PAGE_SIZE + 1, before=before)
    more = len(draws) > PAGE_SIZE
    draws = draws[:PAGE_SIZE]
    names = enterprises_named(session, [code for draw in draws for code in draw.targets])
    results = {draw.index: orders_for(session, draw_ref(draw.index), "spot_check") for draw in draws}
    return render_template("spot_checks_public.html", draw=None, draws=draws, names=names, results=results,
                           older=url_for(".index", before=draws[-1].index) if more else None,
                           categories=category_labels(), roles=role_labels(), labels=result_labels())


@blueprint.get("/spot-checks/<int:index>")
def show(index: int) -> Any:
    session = read_session()
    draw = get_draw(session, index)
    if draw is None:
        abort(404, description=_("No spot-check draw is recorded as entry %(index)s.", index=index))
    try:
        check_published(session, draw)
        problem = None
    except LedgerError as error:
        problem = error.message
    orders = {(order.enterprise, order.inspector): order
              for order in orders_for(session, draw_ref(index), "spot_check")}
    seed = bytes.fromhex(draw.seed)
    ranks = {code: target_rank(seed, code).hex() for code in draw.targets}
    return render_template("spot_checks_public.html", draw=draw, problem=problem, orders=orders, ranks=ranks,
                           names=enterprises_named(session, draw.targets), algorithm=ALGORITHM,
                           domain=SEED_DOMAIN.decode("ascii").replace("\x00", "\\x00"),
                           size_hex=draw.size.to_bytes(8, "big").hex(),
                           criteria_json=canonicalize(draw.criteria.as_json()).decode("utf-8"),
                           origin=app_context().settings.ledger_origin, categories=category_labels(),
                           roles=role_labels(), labels=result_labels())
