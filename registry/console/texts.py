"""Every text of the console, in German (the default) and English.

Msgids are the English texts; ``GERMAN`` maps each to its German
translation. Templates and Python code mark texts with ``_("...")`` (named
placeholders as ``{name}``, filled by keyword); a test extracts every marked
text from the package and checks that each has a German translation and that
no translation is left over. A small module rather than gettext catalogs: the
console's texts are few, and a dict keeps the check and the lookup trivial.

To add a language, add a dict like ``GERMAN`` and an entry to ``LANGUAGES``.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

DEFAULT_LANGUAGE = "de"
# Each language is offered under its own name, so anyone finds theirs.
LANGUAGES = {"de": "Deutsch", "en": "English"}

GERMAN: dict[str, str] = {
    # frame
    "Pickup box office console": "Bürgerbüro-Konsole Abholstation",
    "Skip to content": "Zum Inhalt springen",
    "Main navigation": "Hauptnavigation",
    "Language": "Sprache",
    "Start": "Start",
    "Signed in as {user}": "Angemeldet als {user}",
    "Roles: {roles}": "Rollen: {roles}",
    "Sign out": "Abmelden",
    "Error": "Fehler",
    "Please correct the marked fields.": "Bitte korrigieren Sie die markierten Felder.",
    "Back to the start page": "Zurück zur Startseite",
    # sign-in
    "Sign in": "Anmelden",
    "User name": "Benutzername",
    "Password": "Passwort",
    "Please enter your user name.": "Bitte geben Sie Ihren Benutzernamen ein.",
    "Please enter your password.": "Bitte geben Sie Ihr Passwort ein.",
    "Wrong user name or password.": "Benutzername oder Passwort ist falsch.",
    "Too many wrong passwords for this user name. Try again in 15 minutes or ask an administrator.":
        "Zu viele falsche Passwörter für diesen Benutzernamen. Versuchen Sie es in 15 Minuten"
        " erneut oder wenden Sie sich an die Administration.",
    "This account is blocked. Please ask an administrator.":
        "Dieses Konto ist gesperrt. Bitte wenden Sie sich an die Administration.",
    "You were signed out after {minutes} minutes without activity. Please sign in again.":
        "Sie wurden nach {minutes} Minuten ohne Aktivität abgemeldet. Bitte melden Sie sich"
        " erneut an.",
    "Please sign in to continue.": "Bitte melden Sie sich an, um fortzufahren.",
    "You are signed out.": "Sie sind abgemeldet.",
    # refusals and stale forms
    "Not allowed": "Nicht erlaubt",
    "Your account lacks the right for this ({right}). Please ask a supervisor or an administrator.":
        "Ihrem Konto fehlt dafür die Berechtigung ({right}). Bitte wenden Sie sich an die"
        " Sachgebietsleitung oder die Administration.",
    "This form has expired":
        "Dieses Formular ist abgelaufen",
    "The form was old or not sent from this console. Nothing was done. Please open the page again and repeat your entry.":
        "Das Formular war veraltet oder stammt nicht aus dieser Konsole. Es wurde nichts"
        " ausgeführt. Bitte öffnen Sie die Seite erneut und wiederholen Sie Ihre Eingabe.",
    "You will be signed out in one minute because nothing was done.":
        "Sie werden in einer Minute abgemeldet, weil nichts getan wurde.",
    "Stay signed in": "Angemeldet bleiben",
    # start page
    "What would you like to do?": "Was möchten Sie tun?",
}


def N_(msgid: str) -> str:
    """Marks a text for the catalog where it is defined; ``_()`` translates it later."""
    return msgid


def translate(language: str, msgid: str, **values: object) -> str:
    text = msgid
    if language == "de":
        text = GERMAN.get(msgid, msgid)
        if msgid not in GERMAN:  # a test makes sure this does not happen; show English, not nothing
            log.warning("no German text for %r", msgid)
    return text.format(**values) if values else text


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


class Translator:
    """``_`` for one request: ``_("Signed in as {user}", user=name)``."""

    def __init__(self, language: str) -> None:
        self.language = language_of(language)

    def __call__(self, msgid: str, **values: object) -> str:
        return translate(self.language, msgid, **values)
