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
    # orders: labels
    "Identity card": "Personalausweis",
    "Passport": "Reisepass",
    "Child's passport": "Kinderreisepass",
    "Residence permit": "Aufenthaltstitel",
    "Other document": "Anderes Dokument",
    "Small (S): identity card, residence permit": "Klein (S): Personalausweis, Aufenthaltstitel",
    "Medium (M): passport": "Mittel (M): Reisepass",
    "Large (L): several documents": "Groß (L): mehrere Dokumente",
    "Announced (not yet in the box)": "Angekündigt (noch nicht in der Station)",
    "In the box": "In der Station",
    "Collected": "Abgeholt",
    "Deadline passed": "Abholfrist abgelaufen",
    "Taken out by staff": "Vom Personal entnommen",
    "Cancelled": "Storniert",
    "Unknown": "Unbekannt",
    "All": "Alle",
    "Please choose": "Bitte wählen",
    "The office's box": "Abholstation des Bürgerbüros",
    # orders: navigation
    "New pickup order": "Neuer Abholauftrag",
    "Announce a document for the box; print the letter for the citizen.":
        "Ein Dokument für die Abholstation anmelden und das Anschreiben drucken.",
    "Find orders": "Aufträge suchen",
    "By reference, state or kiosk; an order's history and actions.":
        "Nach Vorgangsnummer, Status oder Station; Verlauf und Aktionen eines Auftrags.",
    # orders: new
    "Announce a document for the box. Afterwards you see the pickup code and the PIN once and can print the letter for the citizen.":
        "Melden Sie ein Dokument für die Abholstation an. Danach sehen Sie Abholcode und PIN"
        " einmalig und können das Anschreiben für die Bürgerin oder den Bürger drucken.",
    "Document": "Dokument",
    "Kind of document": "Art des Dokuments",
    "Compartment size": "Fachgröße",
    "Accessible compartment (low, reachable from a wheelchair)":
        "Barrierefreies Fach (niedrig, vom Rollstuhl aus erreichbar)",
    "Pickup box": "Abholstation",
    "Office reference (optional)": "Vorgangsnummer des Bürgerbüros (optional)",
    "Your file number, e.g. BB-2026-0815. Left empty, the registry assigns one.":
        "Ihr Aktenzeichen, z. B. BB-2026-0815. Leer gelassen, vergibt das Register eine Nummer.",
    "Citizen": "Bürgerin oder Bürger",
    "E-mail address or mobile number (optional)": "E-Mail-Adresse oder Mobilnummer (optional)",
    "For the message that the document is ready. Left empty, the letter is the only notice.":
        "Für die Nachricht, dass das Dokument bereitliegt. Leer gelassen, ist das Anschreiben"
        " die einzige Benachrichtigung.",
    "Citizen's language": "Sprache der Bürgerin oder des Bürgers",
    "For messages and the letter (the letter is in German or English).":
        "Für Nachrichten und das Anschreiben (das Anschreiben gibt es auf Deutsch oder Englisch).",
    "PIN chosen at application (optional)": "Bei der Antragstellung gewählte PIN (optional)",
    "6 digits. Left empty, a PIN is generated and shown once.":
        "6 Ziffern. Leer gelassen, wird eine PIN erzeugt und einmalig angezeigt.",
    "Name and address for the letter (optional)": "Name und Anschrift für das Anschreiben (optional)",
    "Printed in the envelope window only; not stored.":
        "Wird nur im Adressfeld des Anschreibens gedruckt und nicht gespeichert.",
    "Create order": "Auftrag anlegen",
    "Please choose the kind of document.": "Bitte wählen Sie die Art des Dokuments.",
    "Please choose a compartment size.": "Bitte wählen Sie eine Fachgröße.",
    "Please choose one of the offered languages.": "Bitte wählen Sie eine der angebotenen Sprachen.",
    "Please enter only the e-mail address or mobile number.":
        "Bitte geben Sie nur die E-Mail-Adresse oder Mobilnummer ein.",
    "This is not an e-mail address or mobile number we can send to ({detail}).":
        "Dies ist keine E-Mail-Adresse oder Mobilnummer, an die wir senden können ({detail}).",
    "A reference has letters, digits, '.', '_' and '-' only (at most 64), e.g. BB-2026-0815.":
        "Eine Vorgangsnummer besteht nur aus Buchstaben, Ziffern, '.', '_' und '-' (höchstens"
        " 64), z. B. BB-2026-0815.",
    "A reference has letters, digits, '.', '_' and '-' only.":
        "Eine Vorgangsnummer besteht nur aus Buchstaben, Ziffern, '.', '_' und '-'.",
    "The PIN has exactly 6 digits. Leave it empty to have one generated.":
        "Die PIN hat genau 6 Ziffern. Lassen Sie das Feld leer, um eine erzeugen zu lassen.",
    "The address is too long (at most 400 characters).":
        "Die Anschrift ist zu lang (höchstens 400 Zeichen).",
    # orders: registry answers
    "The registry refused this value: {message}": "Das Register hat diesen Wert abgelehnt: {message}",
    "The registry could not do this: {message}": "Das Register konnte dies nicht ausführen: {message}",
    "There is no order with this reference in your office.":
        "In Ihrem Bürgerbüro gibt es keinen Auftrag mit dieser Vorgangsnummer.",
    "An order with this reference exists already.":
        "Ein Auftrag mit dieser Vorgangsnummer existiert bereits.",
    "This order can no longer be cancelled: only orders that are announced or in the box can.":
        "Dieser Auftrag kann nicht mehr storniert werden: nur angekündigte oder in der Station"
        " liegende Aufträge können storniert werden.",
    "This order gets no new code: only orders that are announced or in the box do.":
        "Dieser Auftrag erhält keinen neuen Code: nur angekündigte oder in der Station liegende"
        " Aufträge erhalten einen.",
    "This kiosk is not enrolled in your office.": "Diese Station ist Ihrem Bürgerbüro nicht zugeordnet.",
    "Your account lacks the right for this.": "Ihrem Konto fehlt dafür die Berechtigung.",
    "This belongs to another office.": "Dies gehört zu einem anderen Bürgerbüro.",
    # orders: issued
    "Order created": "Auftrag angelegt",
    "New code issued": "Neuer Code ausgegeben",
    "Shown only now:": "Nur jetzt sichtbar:",
    "print the letter and note the PIN before you leave this page. Later, only a new code can be issued.":
        "Drucken Sie das Anschreiben und notieren Sie die PIN, bevor Sie diese Seite verlassen."
        " Später kann nur ein neuer Code ausgegeben werden.",
    "Reference": "Vorgangsnummer",
    "Pickup code": "Abholcode",
    "PIN": "PIN",
    "the PIN the citizen chose at application": "die bei der Antragstellung gewählte PIN",
    "unchanged": "unverändert",
    "QR code of order {reference}": "QR-Code des Auftrags {reference}",
    "Download the letter (PDF)": "Anschreiben herunterladen (PDF)",
    "Open the order": "Auftrag öffnen",
    "This form was sent before. The order exists, but its code can no longer be shown. If the citizen has no letter, issue a new code on the order's page.":
        "Dieses Formular wurde bereits gesendet. Der Auftrag existiert, sein Code kann aber"
        " nicht mehr angezeigt werden. Hat die Bürgerin oder der Bürger kein Anschreiben, geben"
        " Sie auf der Seite des Auftrags einen neuen Code aus.",
    "The letter is no longer available": "Das Anschreiben ist nicht mehr verfügbar",
    "The letter holds the pickup code, which is shown only right after it is issued, in the session that issued it. To print a letter now, issue a new code on the order's page (the old code stops working).":
        "Das Anschreiben enthält den Abholcode, der nur direkt nach der Ausgabe und nur in der"
        " Sitzung, die ihn ausgegeben hat, verfügbar ist. Um jetzt ein Anschreiben zu drucken,"
        " geben Sie auf der Seite des Auftrags einen neuen Code aus (der alte Code wird ungültig).",
    # orders: find
    "Opens the order directly.": "Öffnet den Auftrag direkt.",
    "State": "Status",
    "Search": "Suchen",
    "Please choose one of the offered states.": "Bitte wählen Sie einen der angebotenen Status.",
    "Orders": "Aufträge",
    "Created from": "Angelegt ab",
    "Orders per page": "Aufträge pro Seite",
    "Created up to and including": "Angelegt bis einschließlich",
    "Please enter a date as DD.MM.YYYY (e.g. 02.12.2026).":
        "Bitte geben Sie ein Datum als TT.MM.JJJJ ein (z. B. 02.12.2026).",
    "The last day must not be before the first day.":
        "Der letzte Tag darf nicht vor dem ersten Tag liegen.",
    "Created": "Angelegt",
    "Collect by": "Abholen bis",
    "No orders match.": "Keine Aufträge gefunden.",
    "Pages": "Seiten",
    "First page": "Erste Seite",
    "Next page": "Nächste Seite",
    # orders: one order
    "Order {reference}": "Auftrag {reference}",
    "Order not found": "Auftrag nicht gefunden",
    "locked after wrong PINs": "nach falschen PIN-Eingaben gesperrt",
    "accessible (low)": "barrierefrei (niedrig)",
    "Compartment {number}": "Fach {number}",
    "Actions": "Aktionen",
    "Issue a new code and PIN": "Neuen Code und neue PIN ausgeben",
    "For a lost letter or a forgotten PIN. The old code and PIN stop working at once.":
        "Bei verlorenem Anschreiben oder vergessener PIN. Der alte Code und die alte PIN werden"
        " sofort ungültig.",
    "Reason": "Grund",
    "Language of the letter": "Sprache des Anschreibens",
    "Issue a new code": "Neuen Code ausgeben",
    "Cancel the order": "Auftrag stornieren",
    "The code stops working. A document already in the box must be taken out by staff.":
        "Der Code wird ungültig. Ein Dokument, das schon in der Station liegt, muss vom Personal"
        " entnommen werden.",
    "Please give a reason; it is kept in the order's history.":
        "Bitte geben Sie einen Grund an; er wird im Verlauf des Auftrags festgehalten.",
    "The reason is too long (at most 500 characters).": "Der Grund ist zu lang (höchstens 500 Zeichen).",
    "The order is cancelled.": "Der Auftrag ist storniert.",
    "History": "Verlauf",
    "When": "Wann",
    "What": "Was",
    "Who": "Wer",
    "Details": "Details",
    "refused": "abgelehnt",
    "No entries yet.": "Noch keine Einträge.",
    "The order has changed since this page was opened.":
        "Der Auftrag hat sich geändert, seit diese Seite geöffnet wurde.",
    "Reload the page for the actions that apply now.":
        "Laden Sie die Seite neu für die Aktionen, die jetzt möglich sind.",
    # staff
    "Staff and cards": "Personal und Karten",
    "Who may open the box: add staff cards, deactivate lost ones, unlock locked ones.":
        "Wer die Station öffnen darf: Personalkarten hinzufügen, verlorene sperren,"
        " gesperrte entsperren.",
    "The staff member was added. The kiosks learn it within a minute.":
        "Die Person wurde hinzugefügt. Die Stationen erfahren es innerhalb einer Minute.",
    "The card no longer opens anything. The kiosks learn it within a minute.":
        "Die Karte öffnet nichts mehr. Die Stationen erfahren es innerhalb einer Minute.",
    "Please enter a staff id, e.g. the person's short name.":
        "Bitte geben Sie eine Personalkennung ein, z. B. das Kürzel der Person.",
    "A staff id has letters, digits, '.', '_' and '-' only (at most 64).":
        "Eine Personalkennung besteht nur aus Buchstaben, Ziffern, '.', '_' und '-' (höchstens 64).",
    "The card number is hexadecimal, e.g. 04A1B2C3D4E5F6 (as the card reader shows it).":
        "Die Kartennummer ist hexadezimal, z. B. 04A1B2C3D4E5F6 (wie das Kartenlesegerät sie"
        " anzeigt).",
    "The staff PIN has exactly 6 digits.": "Die Personal-PIN hat genau 6 Ziffern.",
    "This staff id or card is registered already.":
        "Diese Personalkennung oder Karte ist bereits registriert.",
    "Staff of your office": "Personal Ihres Bürgerbüros",
    "Staff id": "Personalkennung",
    "Card": "Karte",
    "active": "aktiv",
    "deactivated": "gesperrt",
    "Deactivate card of {name}": "Karte von {name} sperren",
    "No staff yet.": "Noch kein Personal eingetragen.",
    "Add a staff card": "Personalkarte hinzufügen",
    'When a card is lost or its PIN became known: deactivate it and add the card again under a new staff id with a new PIN.': 'Wenn eine Karte verloren ging oder ihre PIN bekannt wurde: Sperren Sie sie hier und fügen Sie die Karte unter einer neuen Personalkennung mit neuer PIN wieder hinzu.',
    # locked cards (staff.py, staff.html)
    'Locked cards': 'Gesperrte Karten',
    'A kiosk locks a card after five wrong PINs in a row. Unlock it once you know the holder tried; the same PIN then works again at every kiosk.': 'Eine Station sperrt eine Karte nach fünf falschen PINs in Folge. Entsperren Sie sie, wenn Sie wissen, dass es die Inhaberin oder der Inhaber war; dieselbe PIN gilt dann wieder an jeder Station.',
    'Locked at': 'Gesperrt an',
    'Since': 'Seit',
    'E.g. the holder mistyped; kept in the audit log.': 'Z. B. vertippt; wird im Prüfprotokoll festgehalten.',
    'Unlock card of {name}': 'Karte von {name} entsperren',
    'The card is unlocked; it works again with the same PIN once the kiosks learn it (within a minute).': 'Die Karte ist entsperrt; sie gilt wieder mit derselben PIN, sobald die Stationen es erfahren (innerhalb einer Minute).',
    "E.g. the person's short name; shown in the orders' history.":
        "Z. B. das Kürzel der Person; erscheint im Verlauf der Aufträge.",
    "Card number (UID)": "Kartennummer (UID)",
    "Hexadecimal, as the card reader shows it, e.g. 04A1B2C3D4E5F6.":
        "Hexadezimal, wie das Kartenlesegerät sie anzeigt, z. B. 04A1B2C3D4E5F6.",
    "Staff PIN": "Personal-PIN",
    "6 digits; the person enters it at the box after the card.":
        "6 Ziffern; die Person gibt sie an der Station nach der Karte ein.",
    "Add staff card": "Personalkarte hinzufügen",
    # history
    "Order cancelled": "Auftrag storniert",
    "New code and PIN issued (the old ones no longer work)":
        "Neuer Code und neue PIN ausgegeben (die alten gelten nicht mehr)",
    "Placed in the box": "In die Station eingelegt",
    "Collected by the citizen": "Von der Bürgerin oder dem Bürger abgeholt",
    "Taken out of the box by staff": "Vom Personal aus der Station entnommen",
    "Locked after wrong PINs": "Nach falschen PIN-Eingaben gesperrt",
    "Report of another kiosk refused": "Meldung einer anderen Station abgelehnt",
    "Access refused": "Zugriff verweigert",
    "Old ID card returned at the box": "Alter Ausweis an der Station zurückgegeben",
    "{name} (console or CLI user)": "{name} (Konsole oder Kommandozeile)",
    "Box {name}": "Station {name}",
    "Office software {name}": "Fachverfahren {name}",
    "{name} (registry command)": "{name} (Register-Befehl)",
    "Staff: {names}": "Personal: {names}",
    "PIN letter confirmed": "PIN-Brief bestätigt",
    "Reason: {reason}": "Grund: {reason}",

    # fleet dashboard, remote commands, alarms (fleet.py, commands.py, alarms.py)
    'A remote opening needs a reason; it goes into the audit log.': 'Eine Fernöffnung braucht einen Grund; er wird im Prüfprotokoll festgehalten.',
    'Acknowledge alarm': 'Alarm bestätigen',
    'Acknowledged': 'Bestätigt',
    'Acknowledged alarms': 'Bestätigte Alarme',
    'Acknowledged in the last 30 days': 'In den letzten 30 Tagen bestätigt',
    'The last {count} are shown; the audit log has every acknowledgement.':
        'Die letzten {count} werden gezeigt; das Prüfprotokoll enthält jede Bestätigung.',
    'Alarm': 'Alarm',
    'Alarms': 'Alarme',
    'Back to the fleet': 'Zurück zur Stationsübersicht',
    'By': 'Von',
    'Cabinet of {kiosk}': 'Schrank von {kiosk}',
    'Citizen reported a problem at the door': 'Problem an der Fachtür gemeldet',
    'Command': 'Befehl',
    'Comment': 'Kommentar',
    'Compartment': 'Fach',
    'Compartment needs inspection': 'Fach muss geprüft werden',
    'Compartment number': 'Fachnummer',
    'Compartments': 'Fächer',
    'Compartments of {kiosk}': 'Fächer von {kiosk}',
    'Detail': 'Einzelheiten',
    'Device failed': 'Gerät ausgefallen',
    'Door did not open or close': 'Tür hat sich nicht geöffnet oder geschlossen',
    'Door forced open': 'Tür aufgebrochen',
    "Kiosk not reporting": "Station meldet sich nicht",
    "Citizen could not be reached: print the letter":
        "Bürgerin oder Bürger nicht erreichbar: bitte Brief drucken",
    "Integration not reachable": "Angebundenes Fachverfahren nicht erreichbar",
    'Door left open': 'Tür offen gelassen',
    'Events not yet sent': 'Noch nicht gemeldete Ereignisse',
    'Every kiosk: online, devices, and its compartments as built.': 'Jede Station: erreichbar, Geräte und ihre Fächer, wie sie gebaut sind.',
    'Fleet': 'Stationen',
    'Forced or failed doors, failed devices, compartments to inspect: acknowledge with a comment.': 'Aufgebrochene oder klemmende Türen, ausgefallene Geräte, zu prüfende Fächer: mit Kommentar bestätigen.',
    'Kiosk': 'Station',
    'Kiosk clock jumped': 'Uhr der Station gesprungen',
    'Kiosk storage failed (e.g. disk full)': 'Speicher der Station gestört (z. B. voll)',
    'Last heartbeat': 'Zuletzt gemeldet',
    'Many wrong codes or PINs (guessing throttled)': 'Viele falsche Codes oder PINs (Raten gebremst)',
    'Marks: ● occupied, R reserved, ▯ door open, ✗ out of service, ! needs inspection; no mark: free.': 'Zeichen: ● besetzt, R reserviert, ▯ Tür offen, ✗ außer Betrieb, ! muss geprüft werden; ohne Zeichen: frei.',
    'No commands yet.': 'Noch keine Befehle.',
    'No kiosk has reported yet.': 'Noch keine Station hat sich gemeldet.',
    'No open alarms.': 'Keine offenen Alarme.',
    'Not needed for a resynchronisation.': 'Für einen Abgleich nicht nötig.',
    'Open a compartment for service': 'Fach für den Service öffnen',
    'Open alarms ({count})': 'Offene Alarme ({count})',
    'Open alarms: {count}': 'Offene Alarme: {count}',
    'Order': 'Auftrag',
    'Please choose what the kiosk should do.': 'Bitte wählen Sie, was die Station tun soll.',
    "Please enter the compartment's number, e.g. 12.": 'Bitte geben Sie die Nummer des Fachs ein, z. B. 12.',
    'Please keep the comment under {count} characters.': 'Bitte fassen Sie den Kommentar in weniger als {count} Zeichen.',
    'Please keep the reason under 200 characters.': 'Bitte fassen Sie den Grund in weniger als 200 Zeichen.',
    "Please say what was done or found, e.g. 'door closed, document still inside'.": 'Bitte schreiben Sie, was getan oder vorgefunden wurde, z. B. „Tür geschlossen, Dokument noch im Fach“.',
    'Put a compartment back in service': 'Fach wieder in Betrieb nehmen',
    'Recent commands': 'Letzte Befehle',
    'Remote command refused': 'Fernbefehl abgelehnt',
    'Remote commands for {kiosk}': 'Fernbefehle für {kiosk}',
    'Required for a remote opening; it is written to the audit log on the registry and on the kiosk.': 'Pflicht bei einer Fernöffnung; er wird im Prüfprotokoll des Registers und der Station festgehalten.',
    'Result': 'Ergebnis',
    'Resynchronise the kiosk with the registry': 'Station neu mit dem Register abgleichen',
    'Send command': 'Befehl senden',
    'Sent': 'Gesendet',
    'Since': 'Seit',
    'Size': 'Größe',
    'Staff card locked after wrong PINs': 'Personalkarte nach falschen PINs gesperrt',
    'Take a compartment out of service': 'Fach außer Betrieb nehmen',
    'The alarm was acknowledged.': 'Der Alarm wurde bestätigt.',
    'The command was sent. Its result appears below as soon as the kiosk reports it.': 'Der Befehl wurde gesendet. Sein Ergebnis erscheint unten, sobald die Station es meldet.',
    'The last commands for this kiosk and what became of them': 'Die letzten Befehle für diese Station und ihr Ergebnis',
    'There is no such alarm in your office (or it is older than 30 days).': 'Diesen Alarm gibt es in Ihrem Bürgerbüro nicht (oder er ist älter als 30 Tage).',
    'This page updates by itself when a kiosk reports something.': 'Diese Seite aktualisiert sich selbst, sobald eine Station etwas meldet.',
    'What should the kiosk do?': 'Was soll die Station tun?',
    'What was done or found; written to the audit log.': 'Was getan oder vorgefunden wurde; wird im Prüfprotokoll festgehalten.',
    'carried out': 'ausgeführt',
    'degraded': 'eingeschränkt',
    'door open': 'Tür offen',
    'expired: no kiosk took it in time': 'abgelaufen: keine Station hat ihn rechtzeitig abgeholt',
    'failed': 'ausgefallen',
    'free': 'frei',
    'needs inspection': 'muss geprüft werden',
    'occupied': 'besetzt',
    'offline': 'nicht erreichbar',
    'online': 'erreichbar',
    'out of service': 'außer Betrieb',
    'refused by the kiosk': 'von der Station abgelehnt',
    'reserved': 'reserviert',
    'taken by the kiosk': 'von der Station abgeholt',
    'waiting for the kiosk': 'wartet auf die Station',
    'working': 'in Ordnung',
    'unknown': 'unbekannt',
    '{occupied} occupied, {free} free, {out} out of service, {total} in all': '{occupied} besetzt, {free} frei, {out} außer Betrieb, {total} insgesamt',
    'Devices': 'Geräte',
    'Kiosk {kiosk}': 'Station {kiosk}',
    'Kiosks of your office': 'Stationen Ihres Bürgerbüros',
    "Point at a compartment for its order and deadline; the kiosk's page lists them all.": 'Zeigen Sie auf ein Fach für Auftrag und Abholfrist; die Seite der Station listet alle auf.',
    'Reachable': 'Erreichbar',
    '{count} to inspect': '{count} zu prüfen',
    'Collect by {when}': 'Abholen bis {when}',
    # order actions at the counter (orders.py, order.html, history.py)
    'At the counter': 'Am Schalter',
    'Back at the counter': 'Zurück am Schalter',
    'Back at the counter (the order has ended)': 'Zurück am Schalter (Auftrag beendet)',
    'By {channel}': 'Per {channel}',
    'e-mail': 'E-Mail',
    'SMS': 'SMS',
    'Mark as returned to the counter': 'Als am Schalter zurückgegeben markieren',
    'Reminder sent again': 'Erinnerung erneut gesendet',
    'Send the reminder again': 'Erinnerung erneut senden',
    'The citizen gets the document at the counter. The order ends: the box no longer accepts its code and no reminder goes out.': 'Die Bürgerin oder der Bürger erhält das Dokument am Schalter. Der Auftrag endet: Die Station nimmt den Code nicht mehr an, und es geht keine Erinnerung mehr hinaus.',
    'The document is still in the box. To hand it over at the counter, have it taken out at the box first; then mark the order as returned here.': 'Das Dokument liegt noch in der Station. Um es am Schalter auszuhändigen, lassen Sie es zuerst an der Station entnehmen; markieren Sie den Auftrag danach hier als zurückgegeben.',
    'The order has ended: the document is handed over at the counter. The box no longer accepts its code.': 'Der Auftrag ist beendet: Das Dokument wird am Schalter ausgehändigt. Die Station nimmt den Code nicht mehr an.',
    'The reminder is on its way to the citizen.': 'Die Erinnerung ist unterwegs zur Bürgerin oder zum Bürger.',
    'When the citizen lost the message: the reminder goes out once more, by e-mail or SMS as given with the order. It carries no code.': 'Wenn die Nachricht verloren gegangen ist: Die Erinnerung geht noch einmal hinaus, per E-Mail oder SMS wie beim Auftrag angegeben. Sie enthält keinen Code.',
    'Deadline extended': 'Abholfrist verlängert',
    'Extend the deadline': 'Abholfrist verlängern',
    'New last day': 'Neuer letzter Abholtag',
    'Please give the new last day as YYYY-MM-DD, e.g. 2026-12-31.': 'Bitte geben Sie den neuen letzten Tag als JJJJ-MM-TT an, z. B. 2026-12-31.',
    'The new deadline is set; the box learns it within a minute.': 'Die neue Abholfrist gilt; die Station erfährt sie innerhalb einer Minute.',
    'When the citizen asks for more time. At most 90 days from today; the document stays in its compartment.': 'Wenn die Bürgerin oder der Bürger mehr Zeit braucht. Höchstens 90 Tage ab heute; das Dokument bleibt in seinem Fach.',
    # single sign-on (oidc_signin.py)
    "Or with your organisation's account": 'Oder mit dem Konto Ihrer Verwaltung',
    'Sign in with {provider}': 'Anmelden über {provider}',
    'The identity provider did not answer: {message}': 'Der Anmeldedienst hat nicht geantwortet: {message}',
    'The identity provider refused the sign-in ({error}). Please start again.': 'Der Anmeldedienst hat die Anmeldung abgelehnt ({error}). Bitte beginnen Sie neu.',
    'The sign-in could not be checked. Please start again or ask an administrator.': 'Die Anmeldung konnte nicht geprüft werden. Bitte beginnen Sie neu oder wenden Sie sich an die Administration.',
    'The sign-in took too long or was already used. Please start again.': 'Die Anmeldung hat zu lange gedauert oder wurde schon verwendet. Bitte beginnen Sie neu.',
    'There is no such sign-in.': 'Diese Anmeldung gibt es nicht.',
    "This sign-in is for another office's staff.": 'Diese Anmeldung ist für das Personal eines anderen Bürgerbüros.',
    'This sign-in was not started in this browser. Nothing was done; please start again.': 'Diese Anmeldung wurde nicht in diesem Browser begonnen. Es ist nichts geschehen; bitte beginnen Sie neu.',
    'Your account at the identity provider is not linked to a user of this console. Please ask an administrator to link it.': 'Ihr Konto beim Anmeldedienst ist mit keinem Benutzer dieser Konsole verknüpft. Bitte lassen Sie es von der Administration verknüpfen.',
    'Your account has no role in this console. Please ask an administrator.': 'Ihr Konto hat keine Rolle in dieser Konsole. Bitte wenden Sie sich an die Administration.',
    # reports (reports.py)
    'A report covers at most {count} days.': 'Ein Bericht umfasst höchstens {count} Tage.',
    'Alarms by kind': 'Alarme nach Art',
    "Collected outside the counter's opening hours": 'Außerhalb der Öffnungszeiten abgeholt',
    'Count': 'Anzahl',
    'Day': 'Tag',
    'Days': 'Tage',
    'Days from deposit to pickup': 'Tage vom Einlegen bis zur Abholung',
    'Download all figures (CSV)': 'Alle Zahlen herunterladen (CSV)',
    'From': 'Von',
    'Hour': 'Stunde',
    'No alarms in this period.': 'Keine Alarme in diesem Zeitraum.',
    'Open data (CSV)': 'Offene Daten (CSV)',
    'Open data (JSON)': 'Offene Daten (JSON)',
    'Open data holds counts per month and hour of day only, no references; counts below {count} are withheld, so it can be published.': 'Offene Daten enthalten nur Anzahlen je Monat und Tagesstunde, keine Vorgangsnummern; Anzahlen unter {count} werden zurückgehalten, damit sie veröffentlicht werden können.',
    'Pickups': 'Abholungen',
    'Pickups per day': 'Abholungen pro Tag',
    'Pickups per day and hour, outside opening hours, returns, alarms; CSV and open data.': 'Abholungen pro Tag und Stunde, außerhalb der Öffnungszeiten, Rückgaben, Alarme; CSV und offene Daten.',
    'Pickups per hour of day': 'Abholungen nach Tagesstunde',
    'Please give a date as YYYY-MM-DD, e.g. 2026-11-01.': 'Bitte geben Sie ein Datum als JJJJ-MM-TT an, z. B. 2026-11-01.',
    'Reports': 'Berichte',
    'Returned to the counter': 'An den Schalter zurückgegeben',
    'Show': 'Anzeigen',
    'Summary': 'Überblick',
    'The end lies before the start.': 'Das Ende liegt vor dem Anfang.',
    'Until': 'Bis',
    '{share} % ({count} pickups)': '{share} % ({count} Abholungen)',
}


def N_(msgid: str) -> str:
    """Marks a text for the catalog where it is defined; ``_()`` translates it later."""
    return msgid


# users and roles (registry/console/users.py): a block of its own, for easy merges
GERMAN.update({
    "Users and roles": "Benutzer und Rollen",
    "Who may sign in: add users, change roles, deactivate, reset passwords.":
        "Wer sich anmelden darf: Benutzer anlegen, Rollen ändern, deaktivieren, Passwörter"
        " zurücksetzen.",
    "Users you manage": "Benutzer, die Sie verwalten",
    "Roles": "Rollen",
    "Office": "Dienststelle",
    "Single sign-on": "Einmalanmeldung (SSO)",
    "Last sign-in": "Letzte Anmeldung",
    "linked": "verknüpft",
    "not linked": "nicht verknüpft",
    "not known": "nicht bekannt",
    "all offices": "alle Dienststellen",
    "All offices (operator)": "Alle Dienststellen (Betreiber)",
    "No users yet.": "Noch keine Benutzer.",
    "Add a user": "Benutzer anlegen",
    "Add user": "Benutzer anlegen",
    "The registry makes a one-time initial password and shows it once; give it to the person"
    " in person or by phone.":
        "Das Register erzeugt ein einmaliges Startpasswort und zeigt es einmal an; geben Sie es"
        " der Person persönlich oder telefonisch weiter.",
    "E.g. the person's short name; letters, digits, '.', '_', '-' or '@'.":
        "Z. B. das Kürzel der Person; Buchstaben, Ziffern, '.', '_', '-' oder '@'.",
    "Only the roles you may grant are offered.":
        "Angeboten werden nur die Rollen, die Sie vergeben dürfen.",
    "Clerk": "Sachbearbeitung",
    "Supervisor": "Sachgebietsleitung",
    "Technician": "Technik",
    "Auditor": "Prüfung (Revision)",
    "Office software": "Fachverfahren",
    "Administrator": "Administration",
    "User {name}": "Benutzer {name}",
    "All users": "Alle Benutzer",
    "Change roles": "Rollen ändern",
    "Save roles": "Rollen speichern",
    "A reset makes a new one-time password, shown once; the old one stops working and the user"
    " is signed out.":
        "Das Zurücksetzen erzeugt ein neues einmaliges Passwort, das einmal angezeigt wird; das"
        " alte gilt nicht mehr und der Benutzer wird abgemeldet.",
    "Reset the password of {name}": "Passwort von {name} zurücksetzen",
    "{subject} at {issuer}": "{subject} bei {issuer}",
    "Remove this link": "Diese Verknüpfung entfernen",
    "Not linked to an identity provider's account.":
        "Nicht mit einem Konto eines Identitätsanbieters verknüpft.",
    "Access": "Zugang",
    "Deactivating ends the user's open sessions at once; password and single sign-on stop"
    " working.":
        "Das Deaktivieren beendet die offenen Sitzungen des Benutzers sofort; Passwort und"
        " Einmalanmeldung funktionieren nicht mehr.",
    "Deactivate {name}": "{name} deaktivieren",
    "Reactivate {name}": "{name} wieder aktivieren",
    "Password of {name}": "Passwort von {name}",
    "The user {name} was added.": "Der Benutzer {name} wurde angelegt.",
    "The password of {name} was reset; the old one no longer works.":
        "Das Passwort von {name} wurde zurückgesetzt; das alte gilt nicht mehr.",
    "One-time password (shown only now):": "Einmaliges Passwort (wird nur jetzt angezeigt):",
    "Give it to the person directly, not by e-mail. Nobody can show it again; if it is lost,"
    " reset the password.":
        "Geben Sie es der Person direkt, nicht per E-Mail. Niemand kann es erneut anzeigen; geht"
        " es verloren, setzen Sie das Passwort zurück.",
    "The password was shown once already and is not kept. If it is lost, reset the password.":
        "Das Passwort wurde bereits einmal angezeigt und wird nicht aufbewahrt. Geht es"
        " verloren, setzen Sie das Passwort zurück.",
    "Back to the user": "Zurück zum Benutzer",
    "The roles were changed.": "Die Rollen wurden geändert.",
    "The single sign-on link was removed.": "Die Verknüpfung zur Einmalanmeldung wurde entfernt.",
    "The user can sign in again.": "Der Benutzer kann sich wieder anmelden.",
    "The user was deactivated and signed out everywhere.":
        "Der Benutzer wurde deaktiviert und überall abgemeldet.",
    "Please enter a user name.": "Bitte geben Sie einen Benutzernamen ein.",
    "A user name has 1 to 64 letters, digits, '.', '_', '-' or '@'.":
        "Ein Benutzername hat 1 bis 64 Buchstaben, Ziffern, '.', '_', '-' oder '@'.",
    "This user name is taken. Please choose another one.":
        "Dieser Benutzername ist vergeben. Bitte wählen Sie einen anderen.",
    "There is no such office.": "Diese Dienststelle gibt es nicht.",
    "Please choose at least one role.": "Bitte wählen Sie mindestens eine Rolle.",
    "Please choose roles from the list.": "Bitte wählen Sie Rollen aus der Liste.",
    "Only administrators (and supervisors beside it) may be for all offices. Please choose an"
    " office.":
        "Nur die Administration (und daneben die Sachgebietsleitung) darf für alle Dienststellen"
        " gelten. Bitte wählen Sie eine Dienststelle.",
    "Only the operator's administrators may create users for all offices.":
        "Nur die Administration des Betreibers darf Benutzer für alle Dienststellen anlegen.",
    "You may not grant or take a role above your own.":
        "Sie dürfen keine Rolle vergeben oder entziehen, die über Ihrer eigenen steht.",
    "You manage only the users of your office.":
        "Sie verwalten nur die Benutzer Ihrer Dienststelle.",
    "You are the last administrator here and cannot remove your own administrator right. Make"
    " another user an administrator first.":
        "Sie sind hier die letzte Administration und können sich dieses Recht nicht selbst"
        " entziehen. Machen Sie zuerst einen anderen Benutzer zur Administration.",
    "This user was changed in the meantime. Nothing was done; the page shows the current state."
    " Please check and repeat your change.":
        "Dieser Benutzer wurde inzwischen geändert. Es wurde nichts ausgeführt; die Seite zeigt"
        " den aktuellen Stand. Bitte prüfen und wiederholen Sie Ihre Änderung.",
    "There is no such user.": "Diesen Benutzer gibt es nicht.",
    "This was done already.": "Das ist bereits geschehen.",
    "This sign-in is not linked to this user.":
        "Diese Anmeldung ist nicht mit diesem Benutzer verknüpft.",
    "The password is too short.": "Das Passwort ist zu kurz.",
})


# one's own password (registry/console/password.py): a block of its own, for easy merges
GERMAN.update({
    "Change my password": "Mein Passwort ändern",
    "Choose your own password": "Eigenes Passwort wählen",
    "You signed in with a password an administrator gave you. Before you continue, please"
    " choose your own; nobody else will know it.":
        "Sie haben sich mit einem Passwort angemeldet, das Sie von der Administration erhalten"
        " haben. Bitte wählen Sie vor dem Weiterarbeiten Ihr eigenes; niemand sonst kennt es"
        " dann.",
    "Current password": "Bisheriges Passwort",
    "New password": "Neues Passwort",
    "New password again": "Neues Passwort wiederholen",
    "At least {minimum} characters, not the current one. A few words are easier to remember"
    " than a jumble of characters.":
        "Mindestens {minimum} Zeichen, nicht das bisherige. Einige Wörter merken sich leichter"
        " als ein Zeichensalat.",
    "Save my password": "Mein Passwort speichern",
    "Your password was changed. Your other sessions were signed out.":
        "Ihr Passwort wurde geändert. Ihre anderen Sitzungen wurden abgemeldet.",
    "Continue": "Weiter",
    "Please enter your current password.": "Bitte geben Sie Ihr bisheriges Passwort ein.",
    "The current password is wrong.": "Das bisherige Passwort ist falsch.",
    "Please enter a new password.": "Bitte geben Sie ein neues Passwort ein.",
    "The new password needs at least {minimum} characters.":
        "Das neue Passwort braucht mindestens {minimum} Zeichen.",
    "The new password must differ from the current one.":
        "Das neue Passwort muss sich vom bisherigen unterscheiden.",
    "The two entries of the new password differ. Please type it twice the same.":
        "Die beiden Eingaben des neuen Passworts unterscheiden sich. Bitte geben Sie es zweimal"
        " gleich ein.",
    "Your password was changed in the meantime (in another window or by an administrator)."
    " Nothing was done; please sign in again if asked.":
        "Ihr Passwort wurde inzwischen geändert (in einem anderen Fenster oder von der"
        " Administration). Es wurde nichts ausgeführt; melden Sie sich bitte erneut an, falls"
        " Sie dazu aufgefordert werden.",
    "This account cannot change its password here.":
        "Dieses Konto kann sein Passwort hier nicht ändern.",
    "issued by an administrator: to be replaced at the next sign-in":
        "von der Administration vergeben: bei der nächsten Anmeldung zu ersetzen",
    "chosen by the user": "vom Benutzer gewählt",
})


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


# For rules that word their refusals and are also called outside a request
# (tests, other callers): the msgids themselves, filled in.
ENGLISH = Translator("en")
