"""Every text the touchscreen app shows or speaks, as English msgids.

Translators work from this file (extracted into kiosk/ui/locale/*/kiosk.po).
`N_()` only marks a string for extraction; `kiosk.ui.i18n.t()` translates it
at display time. Values go in `{placeholders}` so a translation can move them.

Groups follow the screens. `SAY_*` texts are spoken prompts: they may be
longer than what the screen shows, because a blind user has no screen.
Names never appear anywhere: the kiosk does not know them.
"""

from __future__ import annotations

from typing import NamedTuple


def N_(msgid: str) -> str:
    """Marks a msgid for extraction; returns it unchanged."""
    return msgid


class Plural(NamedTuple):
    """A text that shows a number: gettext picks the form for the language
    ("1 Sekunde", "2 Sekunden"; Arabic has six forms)."""

    singular: str
    plural: str
    key: str  # the placeholder that holds the number


def NP_(singular: str, plural: str, key: str) -> Plural:
    """Marks a plural msgid pair for extraction (keyword NP_:1,2)."""
    return Plural(singular, plural, key)


# --- Every citizen screen: the bar with language and accessibility buttons ---
LANGUAGE = N_("Language")
HELP = N_("Help")
BACK = N_("Back")
CANCEL = N_("Cancel")
CONTINUE = N_("Continue")
DELETE = N_("Delete")
HIGH_CONTRAST = N_("High contrast")
LARGE_TEXT = N_("Large text")
REACH = N_("Controls lower")
SPEECH = N_("Speech")
ACCESSIBILITY = N_("Accessibility")
# Footer with the office contact; {office} is e.g. "Bürgerbüro Mitte".
OFFICE_CONTACT = N_("{office}, phone {phone}, opening hours: {hours}")
OFFICE_CONTACT_NO_PHONE = N_("{office}, opening hours: {hours}")
OFFICE_CONTACT_NAME_ONLY = N_("Please contact {office}.")

# --- Accessibility panel (opened with the accessibility button) ---
A11Y_TITLE = N_("Accessibility")
A11Y_EXPLAIN = N_("Change contrast, text size, the height of the controls and speech. "
                  "Keys: + larger text, - high contrast, F1 or ? opens the help.")
A11Y_CLOSE = N_("Done")
SAY_A11Y = N_("Accessibility settings. Choose high contrast, large text, controls lower on the screen, "
              "or switch speech on or off. Press Done to go back.")

# --- Language choice (opened from the language button) ---
LANGUAGE_TITLE = N_("Choose your language")
SAY_LANGUAGE = N_("Choose your language. Use the arrow keys and Enter, or touch a language.")

# --- Idle screen: nobody is using the box ---
IDLE_TITLE = N_("Collect your document")
IDLE_SUBTITLE = N_("ID card, passport or residence permit")
IDLE_START = N_("Start")
IDLE_HINT = N_("You need the QR code or the pickup code from your letter or message, "
               "and your 6-digit pickup PIN.")
IDLE_TIMED_OUT = N_("The last session ended because there was no input for a while. "
                    "Nothing was handed out. Touch Start to begin again.")
SAY_IDLE = N_("Welcome. Here you can collect your ID card, passport or residence permit. "
              "Press Enter or touch Start to begin. Press F1 or the question mark key for help at any time.")

# --- Scan the QR code ---
SCAN_TITLE = N_("Show your QR code")
SCAN_INSTRUCTION = N_("Hold the QR code from your letter or phone in front of the camera, inside the frame.")
SCAN_CAMERA_WHERE = N_("The camera is below the screen.")
SCAN_TYPE_INSTEAD = N_("Type the code instead")
SCAN_CAMERA_UNAVAILABLE = N_("The camera is not working at the moment. Please type your code.")
SAY_SCAN = N_("Hold the QR code from your letter or your phone in front of the camera, below the screen. "
              "Or press Enter to type your pickup code instead.")

# --- Type the pickup code on the on-screen keypad ---
CODE_TITLE = N_("Enter your pickup code")
CODE_INSTRUCTION = N_("10 characters, letters and digits, as printed in your letter. "
                      "The letters I and O and the digits 0 and 1 do not occur.")
CODE_PROGRESS = NP_("{count} of {total} characters", "{count} of {total} characters", "count")
CODE_TOO_SHORT = NP_("The code has {total} characters. You have entered {count}.",
                     "The code has {total} characters. You have entered {count}.", "count")
CODE_TYPO = N_("This code contains a typo. Please check every character against your letter.")
CODE_NOT_IN_ALPHABET = N_("The character {char} does not occur in pickup codes.")
SAY_CODE = N_("Type your 10-character pickup code. Use the arrow keys to move over the keypad and Enter to "
              "choose a character. Backspace deletes. When all characters are entered, choose Continue.")
SAY_CODE_CHAR = N_("Character {n} of {total}: {char}")

# --- PIN entry: the pickup PIN (chosen at the application, named so in the
#     notice); not the ID card's own PIN, not the PIN letter's transport PIN ---
PIN_TITLE = N_("Enter your pickup PIN")
PIN_INSTRUCTION = N_("Your 6-digit pickup PIN from the application, as named in your notice. "
                     "Not the PIN of your ID card and not the one in the PIN letter. "
                     "Nobody should watch you typing it.")
PIN_PROGRESS = N_("Digit {n} of {total}")
SAY_PIN = N_("Code accepted. Now type your 6-digit pickup PIN on the keypad and press Enter. "
             "It is the PIN named in your notice, not the PIN of your ID card. "
             "Your digits are not spoken.")
SAY_PIN_DIGIT = N_("Digit {n} of {total}")

# --- PIN letter (ID card and eAT only: PAuswV §17 requires a confirmation in text form) ---
PIN_LETTER_TITLE = N_("Confirm your PIN letter")
PIN_LETTER_TEXT = N_("Before you take your document, the law asks you to confirm: "
                     "I have received the PIN letter for this document.")
PIN_LETTER_NOT_RECEIVED = N_("If the PIN letter has not reached you yet, choose No. "
                             "Your document stays safely in the box, and you can come back "
                             "when you have the letter.")
PIN_LETTER_YES = N_("Yes, I have received it")
PIN_LETTER_NO = N_("No, not yet")
SAY_PIN_LETTER = N_("Please confirm: I have received the PIN letter for this document. "
                    "Press Enter or touch Yes to confirm. Press Escape or touch No if the letter "
                    "has not reached you yet; your document then stays safely in the box.")

# --- The compartment is opening ---
OPENING_TITLE = N_("Compartment {number} is opening")
OPENING_WHERE = N_("The highlighted compartment on the picture is yours.")
OPENING_LOW = N_("It is in the lower part of the box.")
OPENING_HIGH = N_("It is in the upper part of the box.")
OPENING_MIDDLE = N_("It is in the middle of the box.")
OPENING_COLUMN = N_("Column {column} of {columns}, counted from the left.")
SAY_OPENING = N_("Compartment {number} is opening. Column {column} of {columns}, counted from the left, "
                 "row {row} of {rows}, counted from the floor.")

# --- The door is open ---
OPEN_TITLE = N_("Take your document and close the door")
OPEN_INSTRUCTION = N_("Compartment {number} is open. Please take your document and close the door firmly.")
OPEN_CLOSED_BUTTON = N_("I have closed the door")
SAY_OPEN = N_("Compartment {number} is open. Take your document and close the door firmly.")
SAY_OPEN_NO_SENSOR = N_("Compartment {number} is open. Take your document, close the door firmly, "
                        "then press Enter or touch I have closed the door.")

# --- A problem at the door (kiosk.domain.problem_report): staff are alerted ---
PROBLEM_BUTTON = N_("Report a problem")
PROBLEM_TITLE = N_("What is wrong?")
PROBLEM_INTRO = N_("Choose what happened. Staff are alerted at once, and your pickup is put on hold.")
PROBLEM_EMPTY = N_("The compartment is empty")
PROBLEM_NOT_MINE = N_("This is not my document")
PROBLEM_DOOR = N_("The door does not open or close")
SAY_PROBLEM = N_("What is wrong? Choose: the compartment is empty; this is not my document; "
                 "or the door does not open or close.")
PROBLEM_REPORTED_TITLE = N_("Staff have been alerted")
PROBLEM_REPORTED_TEXT = N_("Your pickup does not count as collected until staff have checked the compartment.")
PROBLEM_PUT_BACK = N_("Please put the document back into the compartment and close the door.")
PROBLEM_NEXT = N_("The office will check the compartment and contact you. You can also call them:")
SAY_PROBLEM_REPORTED = N_("Staff have been alerted. Your pickup does not count as collected until they have "
                          "checked the compartment. The office will contact you.")

# --- The document kind, shown from the PIN on (orientation: which document is this?) ---
DOCUMENT_KIND = N_("Document: {kind}")
KIND_ID_CARD = N_("ID card")
KIND_PASSPORT = N_("Passport")
KIND_CHILD_PASSPORT = N_("Child passport")
KIND_RESIDENCE_PERMIT = N_("Residence permit")
KIND_OTHER = N_("Document from the office")

# --- Done ---
DONE_TITLE = N_("Thank you")
DONE_TEXT = N_("Your pickup is complete. Please keep your PIN letter safe.")
RECEIPT_TITLE = N_("Your receipt")
RECEIPT_COMPARTMENT = N_("Compartment: {number}")
RECEIPT_TIME = N_("Collected: {time}")
RECEIPT_REFERENCE = N_("Order number: {reference}")
DONE_AGAIN = N_("Collect another document")
SAY_DONE = N_("Thank you. Your pickup is complete. Goodbye.")

# --- Error screens: what went wrong, then what to do next ---
ERROR_TRY_AGAIN = N_("Try again")
ERROR_TO_START = N_("Back to the start")
ERROR_CONTACT = N_("If you need help, contact the office:")

ERR_INVALID_CODE_TITLE = N_("This is not a pickup code")
ERR_INVALID_CODE_TEXT = N_("The code could not be read. Check that it is the code from the office's letter "
                           "or message, or type the code instead.")
ERR_UNKNOWN_CODE_TITLE = N_("Code not found")
ERR_UNKNOWN_CODE_TEXT = N_("No document is waiting for this code. Check the code. "
                           "If you received the message only recently, your document may not be here yet.")
ERR_NOT_AVAILABLE_TITLE = N_("Document not available here")
ERR_NOT_AVAILABLE_TEXT = N_("The document for this code cannot be collected from this box at the moment. "
                            "Please contact the office.")
ERR_EXPIRED_TITLE = N_("The pickup period has ended")
ERR_EXPIRED_TEXT = N_("Your document has been taken back to the office. "
                      "You can collect it at the counter during opening hours.")
ERR_WRONG_PIN_TITLE = N_("Wrong PIN")
ERR_WRONG_PIN_TEXT = NP_("The pickup PIN is not correct. You have {attempts} attempt left.",
                          "The pickup PIN is not correct. You have {attempts} attempts left.", "attempts")
ERR_WRONG_PIN_LAST = N_("The pickup PIN is not correct. This is your last attempt.")
ERR_LOCKED_TITLE = N_("Pickup locked")
ERR_LOCKED_TEXT = N_("The pickup PIN was entered wrongly too often. For your protection this pickup is locked. "
                     "Please collect your document at the office.")
ERR_THROTTLED_TITLE = N_("Please wait")
ERR_THROTTLED_TEXT = N_("There were too many attempts. Please wait a minute, then try again.")
# The real remaining wait of the throttle, counted down on screen.
THROTTLE_WAIT_SECONDS = NP_("There were too many attempts. You can try again in {seconds} second.",
                            "There were too many attempts. You can try again in {seconds} seconds.",
                            "seconds")
THROTTLE_WAIT_MINUTES = NP_("There were too many attempts. You can try again in {minutes} minute.",
                            "There were too many attempts. You can try again in {minutes} minutes.",
                            "minutes")
THROTTLE_READY = N_("You can try again now.")
ERR_PIN_LETTER_DECLINED_TITLE = N_("Pickup stopped")
ERR_PIN_LETTER_DECLINED_TEXT = N_("Your document stays safely in the box until the pickup period ends. "
                                  "Come back with your pickup code when the PIN letter has reached you.")
ERR_DOOR_FAILED_TITLE = N_("The compartment did not open")
ERR_DOOR_FAILED_TEXT = N_("We are sorry: the door did not open. Your document is safe and the office has "
                          "been informed. Please contact the office.")
SAY_ERROR = N_("{title}. {text}")

# --- Time running out (inactivity warning) ---
TIMEOUT_TITLE = N_("Do you need more time?")
TIMEOUT_TEXT = NP_("This screen will close in {seconds} second.",
                   "This screen will close in {seconds} seconds.", "seconds")
TIMEOUT_MORE = N_("I need more time")
SAY_TIMEOUT = NP_("Do you need more time? This screen closes in {seconds} second. "
                  "Press Enter or touch I need more time.",
                  "Do you need more time? This screen closes in {seconds} seconds. "
                  "Press Enter or touch I need more time.", "seconds")

# --- Help (F1, ? or the help button): a help page for the step, read aloud ---
HELP_TITLE = N_("Help")
HELP_IDLE = N_("Here you collect a document the office has put in this box for you. "
               "Have your letter or message with the QR code, and your pickup PIN, ready.")
HELP_SCAN = N_("Hold the QR code still, about 20 cm in front of the camera below the screen. "
               "On a phone, turn the brightness up. If it does not work, choose to type the code.")
HELP_CODE = N_("Type the 10 characters of the pickup code from your letter, one by one. "
               "Delete removes the last character. Then choose Continue.")
HELP_PIN = N_("Type your 6-digit pickup PIN: the one you chose when you applied. "
              "It is not the PIN of your ID card and not the PIN in the PIN letter. "
              "Cover the keypad with your hand.")
HELP_PIN_LETTER = N_("The PIN letter is the letter with the PIN of your new ID card. "
                     "Choose Yes if you have received it, No if it has not reached you yet.")
HELP_DOOR = N_("A door of the box opens by itself. Take your document and push the door shut "
               "until it clicks.")
HELP_OTHER = N_("Follow the text on the screen. Enter confirms, Escape goes back.")
HELP_KEYS = N_("Keypad: Enter confirms, Escape goes back, the arrow keys move between buttons, "
               "F1 or ? opens this help.")
HELP_PERSON = N_("To reach a person:")
HELP_BACK = N_("Back to where I was")
HELP_CALL_NOW = N_("Call a person now")
HELP_CALLING = N_("A person is being called. Please stay at the box.")
HELP_CONNECTED = N_("A person is on the line. Speak towards the box.")
HELP_CALL_FAILED = N_("The call could not be placed. Please phone the number below.")
HELP_CAMERA_WHERE = N_("Camera: below the screen")
HELP_READER_WHERE = N_("Card reader: below the camera")

# --- Step indicator on the citizen screens of a pickup ---
STEP_OF = N_("Step {n} of {total}")
STEP_CODE = N_("Code")
STEP_PIN = N_("PIN")
STEP_LETTER = N_("PIN letter")
STEP_TAKE = N_("Take it")
STATE_ON = N_("on")
STATE_OFF = N_("off")

# --- Staff: login with card and PIN ---
STAFF_PIN_TITLE = N_("Staff login")
STAFF_PIN_INSTRUCTION = N_("Card recognised. Enter your staff PIN.")
STAFF_SECOND_CARD_TITLE = N_("Second staff member")
STAFF_SECOND_CARD_TEXT = N_("Deposits need two staff members. The second person holds their card to the reader.")
STAFF_SECOND_PIN_INSTRUCTION = N_("Second card recognised. Enter the PIN of the second staff member.")
STAFF_LOGIN_FAILED = N_("Card or PIN not accepted.")
STAFF_LOGIN_WAIT = NP_("Too many failed logins. Please wait {seconds} second.",
                       "Too many failed logins. Please wait {seconds} seconds.", "seconds")
STAFF_SECOND_SAME = N_("The second login must be a different staff member.")
SAY_STAFF_PIN = N_("Staff login. Enter your PIN and press Enter.")

# --- Staff: menu and compartment overview ---
STAFF_MENU_TITLE = N_("Staff menu")
STAFF_LOGGED_IN = N_("Logged in: {staff}")
STAFF_DEPOSIT = N_("Deposit documents")
STAFF_REMOVE_EXPIRED = N_("Remove expired")
STAFF_SERVICE = N_("Compartments")
STAFF_HEALTH = N_("Device status")
STAFF_LOGOUT = N_("Log out")
STAFF_EXIT_APP = N_("Exit app")
STAFF_EXIT_CONFIRM = N_("Really exit the app? The box stays closed to citizens until it is started again.")
STAFF_EXIT_YES = N_("Yes, exit the app")
STAFF_AUTO_LOGOUT = NP_("Automatic logout in {seconds} second without input.",
                        "Automatic logout in {seconds} seconds without input.", "seconds")
STAFF_LOGGED_OUT_IDLE = N_("Staff session ended because there was no input.")
SAY_STAFF_MENU = N_("Staff menu.")

# Compartment states on the overview grid (text + pattern, never colour alone).
COMPARTMENT_FREE = N_("free")
COMPARTMENT_RESERVED = N_("reserved")
COMPARTMENT_OCCUPIED = N_("occupied")
COMPARTMENT_OPEN = N_("open")
COMPARTMENT_OUT_OF_SERVICE = N_("out of service")
COMPARTMENT_LOW = N_("low")
COMPARTMENT_LABEL = N_("No. {number}")
COMPARTMENT_DEADLINE = N_("until {date}")  # the pickup deadline of the document inside

# --- Staff: deposit ---
DEPOSIT_TITLE = N_("Deposit documents")
DEPOSIT_INSTRUCTION = N_("Scan the barcode on the document, or type the order reference.")
DEPOSIT_REFERENCE = N_("Order reference")
DEPOSIT_SUBMIT = N_("Open a compartment")
DEPOSIT_FINISH = N_("Finish")
DEPOSIT_ORDER = N_("Order {reference}")
DEPOSIT_DOOR_OPEN = N_("Put the document into compartment {number} and close the door.")
DEPOSIT_DOOR_OPEN_LOW = N_("Put the document into compartment {number} (low, accessible) and close the door.")
DEPOSIT_ABORT = N_("Cancel this deposit")
DEPOSIT_DONE = N_("Order {reference} deposited in compartment {number}.")
DEPOSIT_CANCELLED = N_("Deposit cancelled; compartment {number} is free again.")
DEPOSIT_ERR_NOT_REFERENCE = N_("This is not an order reference: scan the barcode on the document.")
DEPOSIT_ERR_UNKNOWN = N_("Order {reference} is not known at this kiosk: check the reference or wait for the next sync.")
DEPOSIT_ERR_STATUS = N_("Order {reference} cannot be deposited: it is {status}.")
DEPOSIT_ERR_NO_COMPARTMENT = N_("No free compartment of size {size} or larger.")
SAY_DEPOSIT = N_("Scan the barcode on the document.")

# --- Staff: removal of expired documents ---
REMOVAL_TITLE = N_("Remove expired documents")
REMOVAL_DOOR_OPEN = N_("Take the document out of compartment {number} and close the door.")
REMOVAL_DONE = NP_("{count} document removed.", "{count} documents removed.", "count")
REMOVAL_NONE = N_("There are no documents to remove.")

# --- Staff: service opening and out of service ---
SERVICE_TITLE = N_("Compartments")
SERVICE_CHOOSE = N_("Choose a compartment, then an action.")
SERVICE_SELECTED = N_("Compartment {number}: {state}")
SERVICE_OPEN = N_("Open for service")
SERVICE_OUT = N_("Out of service")
SERVICE_IN = N_("Back in service")
SERVICE_REASON_TITLE = N_("Why are you opening compartment {number}?")
SERVICE_REASON_CHECK = N_("Check the compartment")
SERVICE_REASON_CLEAN = N_("Cleaning")
SERVICE_REASON_REPAIR = N_("Repair of lock or door")
SERVICE_REASON_CITIZEN = N_("Citizen needs help at the box")
SERVICE_REASON_FOUND = N_("Item left behind")
SERVICE_DOOR_OPEN = N_("Compartment {number} is open for service. Close the door when you are done.")
SERVICE_CLOSED = N_("Compartment {number} closed after service.")
SERVICE_ERR_NO_REASON = N_("Give a reason for opening the compartment.")
STAFF_DOOR_FAILED = N_("Compartment {number} did not open and is now out of service.")
STAFF_DOOR_FAILED_DEPOSIT = N_("Compartment {number} did not open and is now out of service. "
                               "Scan the document again for another compartment.")
STAFF_CLOSE_FIRST = N_("Close the open compartment first.")
STAFF_DOOR_CLOSED_BUTTON = N_("The door is closed")

# --- Staff: device health ---
HEALTH_TITLE = N_("Device status")
HEALTH_OK = N_("working")
HEALTH_DEGRADED = N_("degraded")
HEALTH_FAILED = N_("failed")
HEALTH_DEVICE = N_("{device}: {status}")
# Device names on the status page (the driver's own names stay for the rest).
DEVICE_LOCK_BOARD = N_("lock board {name}")
DEVICE_SPEECH = N_("speech output")
DEVICE_HELP_CALL = N_("help call ({name})")  # the call button or intercom; name: the vendor's device

# Order states named in deposit errors ("it is {status}").
ORDER_ANNOUNCED = N_("announced")
ORDER_DEPOSITED = N_("already deposited")
ORDER_COLLECTED = N_("already collected")
ORDER_EXPIRED = N_("expired")
ORDER_REMOVED = N_("removed")
ORDER_CANCELLED = N_("cancelled")

# --- Old ID card return (optional step after collecting an ID card or eAT;
#     only when the office configured a return compartment) ---
RETURN_TITLE = N_("Return your old ID card")
RETURN_OFFERED = N_("Please lay your old ID card on the card reader. Compartment {number} will then open for it. "
                    "Only whether it is a German ID card is checked; no data is read from it.")
RETURN_SKIP = N_("I have no old ID card with me")
RETURN_NOT_AN_EID = N_("This card is not a German ID card. Please try again with your old ID card, or skip this step.")
RETURN_OPENING = N_("Compartment {number} is opening for your old ID card.")
RETURN_DOOR_OPEN = N_("Put your old ID card into compartment {number} and close the door.")
RETURN_DONE = N_("Thank you. Your old ID card has been returned.")
RETURN_DOOR_FAILED = N_("The compartment did not open. Please keep your old ID card and hand it in at the office.")
RETURN_FINISH = N_("Finish")
SAY_RETURN_OFFERED = N_("If you have your old ID card with you, lay it on the card reader now. "
                        "Otherwise press Escape or touch I have no old ID card with me.")
