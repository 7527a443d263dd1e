"""The Chinese catalogs cover every message of the pages, and the committed ``.mo`` files match their ``.po``."""

from __future__ import annotations

from gettext import GNUTranslations
from typing import Any

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask import render_template_string

from scanner_web.i18n import DOMAINS, TRANSLATIONS

SOURCES = TRANSLATIONS.parent
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python"), ("**.txt", "ignore")]


def _catalog(domain: str):  # type: ignore[no-untyped-def]
    with (TRANSLATIONS / "zh" / "LC_MESSAGES" / f"{domain}.po").open("rb") as handle:
        return read_po(handle, locale="zh", domain=domain)


def test_every_message_of_the_pages_has_a_chinese_translation() -> None:
    translated: dict[str, str] = {}
    for domain in DOMAINS:
        for message in _catalog(domain):
            if message.id and message.string and not message.fuzzy:
                translated[str(message.id)] = str(message.string)
    missing = sorted({str(message) for _, _, message, _, _ in extract_from_dir(str(SOURCES), METHODS)
                      if isinstance(message, str) and message not in translated})
    assert missing == [], "add these to a catalog in scanner_web/translations/zh/LC_MESSAGES/"


def test_compiled_catalogs_match_their_sources() -> None:
    for domain in DOMAINS:
        source = {str(message.id): str(message.string) for message in _catalog(domain)
                  if message.id and message.string and not message.fuzzy}
        with (TRANSLATIONS / "zh" / "LC_MESSAGES" / f"{domain}.mo").open("rb") as handle:
            compiled = {key: value for key, value in GNUTranslations(handle)._catalog.items() if key}
        assert compiled == source, f"{domain}.mo is stale: run `make translations`"


def test_templates_translate_in_the_request_language_and_escape_the_variables(app: Any) -> None:
    template = "{{ _('Produced') }}|{{ _('%(what)s %(count)s times', what='<b>', count=3) }}"
    for query, expected in (("", "生产|&lt;b&gt;"), ("?lang=en", "Produced|&lt;b&gt; 3 times")):
        with app.test_request_context(f"/{query}"):
            rendered = render_template_string(template)
        assert rendered.startswith(expected), rendered
        assert "<b>" not in rendered
