"""Every console text has its German translation, none is left over, and
placeholders survive translation."""

from __future__ import annotations

import ast
import re
import string

from jinja2 import Environment
from jinja2.ext import extract_from_ast

from registry.console import texts
from registry.console.app import PACKAGE

MARKERS = {"_", "N_"}


def python_texts() -> set[str]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else (
                node.func.attr if isinstance(node.func, ast.Attribute) else "")
            first = node.args[0]
            if name in MARKERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return found


def template_texts() -> set[str]:
    env = Environment()
    found = set()
    for path in (PACKAGE / "templates").rglob("*.html"):
        tree = env.parse(path.read_text())
        for _line, _func, message in extract_from_ast(tree, gettext_functions=("_",)):
            # A call with keyword arguments gives (msgid, None, ...).
            first = message[0] if isinstance(message, tuple) else message
            if isinstance(first, str):
                found.add(first)
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_text_has_a_german_translation():
    used = python_texts() | template_texts()
    assert "Sign in" in used and "Skip to content" in used  # the extraction works
    missing = sorted(used - texts.GERMAN.keys())
    assert missing == [], f"add German texts to registry/console/texts.py: {missing}"


def test_no_translation_is_left_over():
    unused = sorted(texts.GERMAN.keys() - python_texts() - template_texts())
    assert unused == [], f"remove or use these texts: {unused}"


def test_translations_keep_their_placeholders():
    for msgid, german in texts.GERMAN.items():
        assert placeholders(german) == placeholders(msgid), msgid
        assert german.strip() and not re.search(r"\s{2,}", german), msgid


def test_english_is_the_msgid_and_german_the_default():
    assert texts.translate("en", "Sign in") == "Sign in"
    assert texts.translate("de", "Sign in") == "Anmelden"
    assert texts.Translator("fr").language == "de"
    assert texts.translate("de", "Signed in as {user}", user="anna") == "Angemeldet als anna"
