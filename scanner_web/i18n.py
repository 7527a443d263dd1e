"""Languages of the pages: Chinese by default, English on request (``?lang=en``, then remembered in a cookie).

Messages are written in English in the templates and code (``_("…")``) and translated in one gettext catalog per
area of the site (``translations/zh/LC_MESSAGES/{domain}.po``); Flask-Babel merges the areas. The compiled
``.mo`` files are committed next to their ``.po`` and a test checks that they match: ``make translations``
recompiles them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, request
from flask_babel import Babel, get_locale, get_translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
#: One catalog per area of the site, so each area's strings stay together.
DOMAINS = ("public", "complaints", "scanner", "labels", "console", "console_audits", "console_recalls",
           "console_spreadsheets", "console_credit", "console_complaints", "console_spot_checks", "console_risks",
           "console_keys", "workspace", "workspace_actions", "workspace_imports")
LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh"
_COOKIE = "lang"
_COOKIE_AGE = 365 * 24 * 3600


def init_i18n(app: Flask) -> None:
    """Install Flask-Babel with every area's catalog and the language switch."""
    app.config["BABEL_DOMAIN"] = ";".join(DOMAINS)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join([str(TRANSLATIONS)] * len(DOMAINS))
    Babel(app, locale_selector=select_language, default_locale=DEFAULT_LANGUAGE,
          default_timezone="Asia/Shanghai")
    app.after_request(_remember_language)
    app.context_processor(_language_context)


def select_language() -> str:
    """``?lang=`` if it names a language we have, else the remembered choice, else Chinese."""
    for choice in (request.args.get("lang"), request.cookies.get(_COOKIE)):
        if choice in LANGUAGES:
            return choice
    return DEFAULT_LANGUAGE


def current_language() -> str:
    return str(get_locale() or DEFAULT_LANGUAGE)


def _remember_language(response: Response) -> Response:
    choice = request.args.get("lang")
    if choice in LANGUAGES and request.cookies.get(_COOKIE) != choice:
        response.set_cookie(_COOKIE, choice, max_age=_COOKIE_AGE, samesite="Lax", httponly=True,
                            secure=request.is_secure)
    return response


def _language_context() -> dict[str, Any]:
    language = current_language()
    return {"language": language, "html_lang": "zh-CN" if language == "zh" else "en",
            "other_languages": [(code, name) for code, name in LANGUAGES.items() if code != language],
            "switch_language_url": _switch_url, "gettext": _template_gettext(get_translations().ugettext)}


def _template_gettext(translate: Callable[[str], str]) -> Callable[..., str]:
    """The templates' ``_()`` for one rendering, bound to the request's catalog (``translate``), so a message costs
    a dictionary lookup: Flask-Babel's own ``_()`` looks up the locale, the domain and the catalog again for every
    message (some 40 µs each; a long public page translates hundreds). Formats as Jinja's new-style ``gettext``
    does: the translation, marked safe under autoescaping, ``%`` its (escaped) variables."""
    @pass_context
    def gettext(context: Context, string: str, **variables: Any) -> str:
        text = translate(string)
        return (Markup(text) if context.eval_ctx.autoescape else text) % variables
    return gettext


def _switch_url(language: str) -> str:
    """The current page in ``language``: the same path and query with ``lang`` replaced."""
    arguments = [(name, value) for name, value in request.args.items(multi=True) if name != "lang"]
    arguments.append(("lang", language))
    return f"{request.path}?{urlencode(arguments)}"
