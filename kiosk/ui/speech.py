"""Speech output: everything on screen is also spoken (EN 301 549, two senses).

The kiosk speaks through Debian's espeak-ng, one process per utterance. A new
utterance interrupts the one before it (its process is killed), so speech
never lags behind the screen, and `stop()` silences it when the user acts.

Pass the text in logical order, as the translation has it: never the output
of `kiosk.ui.shaping`, which is reordered for display only.

Capture mode writes each utterance to a WAV file instead of the speaker and
appends what was said to `<dir>/speech.jsonl`; the tests use it, and so can a
kiosk without a sound card. Turn it on with `capture_dir` or the environment
variable PICKUPBOX_SPEECH_CAPTURE.

Privacy: the text is never logged, at any level. The UI passes only
"digit 3 of 6"-style texts for PINs, but a log must not depend on that.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import threading
import unicodedata
from pathlib import Path

log = logging.getLogger(__name__)

CAPTURE_ENV = "PICKUPBOX_SPEECH_CAPTURE"
CAPTURE_LOG = "speech.jsonl"

# espeak-ng voice per UI language (all in Debian's espeak-ng-data, checked
# with `espeak-ng --voices`). British English: the kiosk stands in Europe.
VOICES: dict[str, str] = {
    "de": "de",
    "en": "en-gb",
    "tr": "tr",
    "uk": "uk",
    "ru": "ru",
    "pl": "pl",
    "ar": "ar",
}
DEFAULT_VOICE = VOICES["de"]

# Words per minute: a little slower than espeak-ng's 175, for people who hear
# the box for the first time, in a language that may not be their own.
RATE = 150
# How long a killed process may take to go before it is killed hard.
_TERMINATE_GRACE_S = 0.5


SPEECH_DEVICE = "speech output"


class Speaker:
    """Speaks one text at a time; a new text interrupts the one before."""

    def __init__(
        self,
        *,
        enabled: bool = True,
        capture_dir: Path | None = None,
        command: str = "espeak-ng",
    ) -> None:
        if capture_dir is None and os.environ.get(CAPTURE_ENV):
            capture_dir = Path(os.environ[CAPTURE_ENV])
        self._capture_dir = capture_dir
        if capture_dir is not None:
            capture_dir.mkdir(parents=True, exist_ok=True)
        self._command = shutil.which(command)
        if self._command is None:
            log.warning(
                "speech output is off: %r was not found. Install it with "
                "'apt-get install espeak-ng' (tools/setup does this).",
                command,
            )
        self._enabled = enabled
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._last: tuple[str, str] | None = None
        self._utterances = self._count_captured()
        self._warned = False
        self._problem = ""  # the last playback failure, for the staff's device status
        self._warn_lock = threading.Lock()  # watcher threads warn too
        self._closed = False

    # --- What the UI calls -------------------------------------------------

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._enabled = value
        if not value:
            self.stop()

    def say(self, text: str, lang: str) -> None:
        """Starts speaking `text` in `lang` and returns at once.

        Whatever is being said is cut off. The text is remembered for
        `repeat()` even while speech is off, so switching speech on and
        pressing the help key speaks the current prompt.
        """
        self._last = (text, lang)
        if not self._enabled or self._closed:
            return
        with self._lock:
            self._stop_locked()
            self._start_locked(text, lang)

    def repeat(self) -> None:
        """Says the last text again (the help key)."""
        if self._last is not None:
            self.say(*self._last)

    def stop(self) -> None:
        """Silences the current utterance, if any."""
        with self._lock:
            self._stop_locked()

    def close(self) -> None:
        """Stops speaking for good; later calls to `say` do nothing."""
        self._closed = True
        self.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Waits until the current utterance is finished; False on timeout.

        The kiosk does not need this (speech runs beside the UI); it is for
        a caller that must know the WAV file is complete, such as a test.
        """
        process = self._process
        if process is None:
            return True
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    # --- How ---------------------------------------------------------------

    def _start_locked(self, text: str, lang: str) -> None:
        voice = VOICES.get(lang, DEFAULT_VOICE)
        if lang == "ar":
            # Presentation forms (from text shaped for display by mistake)
            # back to plain letters, which espeak-ng can pronounce.
            text = unicodedata.normalize("NFKC", text)
        args = ["-v", voice, "-s", str(RATE), "-b", "1"]  # -b 1: UTF-8 input
        if self._capture_dir is not None:
            self._utterances += 1
            wav = self._capture_dir / f"{self._utterances}-{lang}.wav"
            args += ["-w", str(wav)]
            with open(self._capture_dir / CAPTURE_LOG, "a", encoding="utf-8") as f:
                f.write(json.dumps({"lang": lang, "voice": voice, "text": text},
                                   ensure_ascii=False) + "\n")
        log.info("speaking: lang=%s voice=%s, %d characters", lang, voice, len(text))
        if self._command is None:
            return
        try:
            # The text goes through stdin, not argv: it stays out of the
            # process list, and a text starting with "-" is no option.
            process = subprocess.Popen(
                [self._command, *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            self._warn(f"espeak-ng could not be started: {exc}")
            return
        self._process = process
        threading.Thread(
            target=self._watch, args=(process, text.encode("utf-8")),
            name="speech", daemon=True,
        ).start()

    def _watch(self, process: subprocess.Popen[bytes], text: bytes) -> None:
        """Feeds the text and reports a failed playback once."""
        try:
            _, stderr = process.communicate(text)
        except (BrokenPipeError, ValueError, OSError):
            return  # killed before it read its input: interrupted, not failed
        if process.returncode < 0:
            return  # we killed it
        # espeak-ng exits 0 even when no sound device opens; it prints
        # "error: ..." instead (ALSA's own chatter comes before it).
        errors = [line for line in stderr.decode("utf-8", "replace").splitlines()
                  if line.lower().startswith("error")]
        if process.returncode != 0 or errors:
            reason = errors[-1] if errors else f"exit status {process.returncode}"
            self._warn(f"espeak-ng could not play speech ({reason}); "
                       "check the sound device. The kiosk goes on without sound.")

    def _stop_locked(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(_TERMINATE_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def health(self) -> list:
        """The speech output as a device on the staff's device-status page:
        failed without espeak-ng, degraded after a playback failed (no sound
        device), working otherwise."""
        from hardware.interfaces import DeviceHealth, HealthStatus

        if self._command is None:
            return [DeviceHealth(SPEECH_DEVICE, HealthStatus.FAILED, "espeak-ng not installed")]
        if self._problem:
            return [DeviceHealth(SPEECH_DEVICE, HealthStatus.DEGRADED, self._problem)]
        return [DeviceHealth(SPEECH_DEVICE, HealthStatus.OK)]

    def _warn(self, message: str) -> None:
        self._problem = message
        # One warning, not one per prompt: a broken speaker would otherwise
        # flood the log every few seconds.
        with self._warn_lock:
            first, self._warned = not self._warned, True
        log.log(logging.WARNING if first else logging.DEBUG, "%s", message)

    def _count_captured(self) -> int:
        """Number of utterances already in the capture log, so file names
        stay unique when a second Speaker captures into the same folder."""
        if self._capture_dir is None:
            return 0
        try:
            with open(self._capture_dir / CAPTURE_LOG, encoding="utf-8") as f:
                return sum(1 for _ in f)
        except FileNotFoundError:
            return 0
