"""Speech of each screen's main text with offline TTS (espeak-ng), repeatable and interruptible.

Closed kiosks speak what they show (EN 301 549 §5.1.3; TARGETS.md A3). :class:`Speaker` runs one
``espeak-ng`` process at a time and never waits for it: :meth:`Speaker.say` starts speaking and
returns, a new ``say`` or :meth:`Speaker.stop` kills the one speaking. No thread is started: a
finished process is reaped the next time the speaker is used (or by :meth:`Speaker.close`).

Voices (espeak-ng 1.51 as Debian 12 ships it; ``espeak-ng --voices``):

- ``zh_CN`` → ``cmn-latn-pinyin``, not ``cmn``: in 1.51 the ``cmn`` voice ("latin as English")
  turns many characters into pinyin and then reads that pinyin with English rules, so 社会保险
  comes out as English letter sounds (espeak-ng issue #1236). ``cmn-latn-pinyin`` reads the
  same characters as Mandarin. The cost: Latin words inside Chinese text (App, QR) are read as
  pinyin.
- ``zh_TW`` → ``cmn-latn-pinyin`` too, not ``yue``: 繁體 here serves Taiwan compatriots, whose
  spoken language is Mandarin (國語); Cantonese would be foreign to them (Hong Kong and Macao
  residents understand Mandarin announcements as well). The voice reads traditional characters
  directly — every character of the zh_TW screen texts was checked — so no conversion is needed.
- ``en`` → ``en`` (``en-gb``; ``en-us`` is a setting away through ``voices``).

Why not pyttsx3: it drives the same espeak-ng through libespeak in-process, where interrupting
means cooperating with its event loop; a child process can simply be killed, and a crash of the
synthesiser never takes the kiosk app down.

Engines: the synthesiser is a :class:`SpeechEngine` — what command speaks a text in a voice at a rate and
volume. espeak-ng (:class:`EspeakEngine`) is the default; ``[speech] engine`` names another without code
changes: the name of an installed package's entry point in the ``kiosk.speech_engines`` group (a
callable returning a :class:`SpeechEngine`), or ``command`` with ``[speech] command``, an argument
list with ``{voice}``, ``{language}``, ``{rate}``, ``{volume}`` and ``{text}`` in it (e.g. a better
Chinese voice installed from a package registry). ``[speech] output`` names the audio output
(the headphones in audio mode): it is handed to the engine as ``PULSE_SINK`` and ``ALSA_CARD``.

The transcript (``keep_transcript``): what was announced, in order, with when it started; the demo writes
it beside its screenshots and the audio-mode tests assert on it. Off on a terminal (it could hold what a
resident typed).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from devices.base import DeviceNotFound, DeviceProtocolError, DeviceTimeout

log = logging.getLogger(__name__)

VOICES: Mapping[str, str] = {"zh_CN": "cmn-latn-pinyin", "zh_TW": "cmn-latn-pinyin", "en": "en"}
NORMAL_RATE = 165   # words a minute; espeak-ng's default (175) is brisk for a public terminal
ELDER_RATE = 130    # 适老化: slower speech in elder mode
MAX_CHARS = 4000    # a screen's main text is a few sentences; this only bounds a runaway caller
NORMAL_VOLUME = 100  # espeak-ng's amplitude scale: 0 … 200
MIN_RATE, MAX_RATE = 80, 400
ENGINE_GROUP = "kiosk.speech_engines"


class SpeechEngine(Protocol):
    """A synthesiser run as a child process (so it can be killed at once to interrupt it)."""

    name: str
    executable: str
    """The program's path; "" when it is not installed (then ``reason`` says how to get it)."""
    reason: str

    def command(self, text: str, voice: str, language: str, rate: int, volume: int,
                wav: str | None = None) -> list[str]:
        """The argument list that speaks ``text`` (or writes it to ``wav``)."""
        ...


class EspeakEngine:
    """espeak-ng, the default: offline, the three languages (see the voices above)."""

    name = "espeak-ng"

    def __init__(self, executable: str = "espeak-ng") -> None:
        self.executable = shutil.which(executable) or ""
        self.reason = "" if self.executable else (
            f"{executable} is not installed, so nothing is spoken; "
            "install it with: apt-get install espeak-ng (deploy/setup.sh does)")

    def command(self, text: str, voice: str, language: str, rate: int, volume: int,
                wav: str | None = None) -> list[str]:
        out = ["-w", wav] if wav else []
        # A leading space keeps a text that starts with "-" from being read as an option.
        return [self.executable, "-v", voice, "-s", str(rate), "-a", str(volume), *out, " " + text]


class CommandEngine:
    """Any synthesiser with a command line: ``template`` is its argument list with ``{voice}``,
    ``{language}``, ``{rate}``, ``{volume}`` and ``{text}`` (and ``{wav}`` for :meth:`Speaker.to_wav`)."""

    def __init__(self, template: Sequence[str], name: str = "command") -> None:
        if not template:
            raise ValueError("[speech] command is empty: give the synthesiser's argument list, "
                             "e.g. [\"my-tts\", \"--lang\", \"{language}\", \"{text}\"]")
        self.name = name
        self.template = list(template)
        self.executable = shutil.which(self.template[0]) or ""
        self.reason = "" if self.executable else f"{self.template[0]} (speech.command) is not installed"

    def command(self, text: str, voice: str, language: str, rate: int, volume: int,
                wav: str | None = None) -> list[str]:
        values = {"voice": voice, "language": language, "rate": str(rate), "volume": str(volume),
                  "text": text, "wav": wav or ""}
        return [self.executable, *(part.format(**values) for part in self.template[1:])]


def load_engine(name: str = "espeak-ng", command: Sequence[str] = ()) -> SpeechEngine:
    """The engine ``[speech] engine`` names: ``espeak-ng``, ``command`` (with ``[speech] command``) or an
    installed package's entry point in the ``kiosk.speech_engines`` group."""
    if name in ("", "espeak-ng"):
        return EspeakEngine()
    if name == "command":
        return CommandEngine(command)
    found = [ep for ep in entry_points(group=ENGINE_GROUP) if ep.name == name]
    if not found:
        raise ValueError(f"no speech engine {name!r}: install a package that provides it in the "
                         f"{ENGINE_GROUP!r} entry point group, or use engine = \"espeak-ng\" or \"command\"")
    engine: SpeechEngine = found[0].load()()
    return engine


@dataclass(frozen=True)
class Said:
    """One announcement: what, in which language, and when it started (monotonic seconds)."""

    text: str
    language: str
    at: float


class Speaker:
    """Speaks texts in the resident's language, one at a time.

    ``enabled`` is the setting a resident or operator turns off; it is also False (with
    ``reason`` saying why, logged once) when espeak-ng is not installed. ``env`` is added to the
    synthesiser's environment, e.g. to choose the audio output (``PULSE_SINK``, an ALSA config).
    """

    def __init__(self, *, enabled: bool = True, executable: str = "espeak-ng",
                 voices: Mapping[str, str] = VOICES, rate: int = NORMAL_RATE,
                 env: Mapping[str, str] | None = None, engine: SpeechEngine | None = None,
                 keep_transcript: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        self.voices = dict(voices)
        self.rate = rate
        self.volume = NORMAL_VOLUME
        self.reason = ""
        self.last_error = ""
        self._env = {**os.environ, **(env or {})}
        self._proc: subprocess.Popen[bytes] | None = None
        self._last: tuple[str, str, int | None] | None = None
        self.engine: SpeechEngine = engine or EspeakEngine(executable)
        self.executable = self.engine.executable
        self.clock = clock
        self.transcript: list[Said] | None = [] if keep_transcript else None
        self._enabled = enabled
        if not self.executable:
            self.reason = self.engine.reason
            self._enabled = False
            log.warning("speech off: %s", self.reason)

    def route_to(self, output: str) -> None:
        """Speak on the audio output named ``output`` (a PulseAudio sink, an ALSA card: the headphones in
        audio mode); "" for the default output."""
        for name in ("PULSE_SINK", "ALSA_CARD"):
            if output:
                self._env[name] = output
            else:
                self._env.pop(name, None)

    @property
    def enabled(self) -> bool:
        """Whether :meth:`say` speaks."""
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        if value and not self.executable:
            return  # cannot be switched on without a synthesiser; ``reason`` says why
        self._enabled = value
        if not value:
            self.stop()

    @property
    def speaking(self) -> bool:
        """True while an utterance is being spoken."""
        self._reap()
        return self._proc is not None

    @property
    def last_text(self) -> str:
        """What was last given to :meth:`say` (what :meth:`repeat` would speak); "" after :meth:`forget`.
        Screens speak their main text on a new screen, and a message when one appears
        (``screens/app.py``: ``KioskApp.speak``)."""
        return self._last[0] if self._last is not None else ""

    def voice_for(self, language: str) -> str:
        """The espeak-ng voice for a screen language (zh_CN when the language is unknown)."""
        return self.voices.get(language) or self.voices["zh_CN"]

    def say(self, text: str, language: str = "zh_CN", *, rate: int | None = None) -> bool:
        """Start speaking ``text`` (interrupting whatever is being spoken); returns at once.

        Returns False when nothing was started (speech off, empty text, synthesiser failed to
        start). The text is remembered for :meth:`repeat` even when speech is off, so turning
        it on and pressing repeat speaks the current screen.
        """
        text = " ".join(text.split())[:MAX_CHARS]
        self.stop()
        if not text:
            return False
        self._last = (text, language, rate)
        if not self._enabled:
            self._note_said(text, language)
            return False
        args = self.engine.command(text, self.voice_for(language), language, rate or self.rate, self.volume)
        try:
            self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, env=self._env)
        except OSError as exc:
            self._note_error(f"could not start {self.executable}: {exc.strerror or exc}")
            return False
        self._note_said(text, language)
        return True

    def _note_said(self, text: str, language: str) -> None:
        if self.transcript is not None:
            self.transcript.append(Said(text, language, self.clock()))
            del self.transcript[:-2000]  # a soak must not grow it without bound

    def repeat(self) -> bool:
        """Speak the last text again (the 'repeat' button); False if there is none or speech is off."""
        if self._last is None:
            return False
        text, language, rate = self._last
        return self.say(text, language, rate=rate)

    def stop(self) -> None:
        """Interrupt: kill the utterance being spoken, if any. Takes milliseconds."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:  # a process that outlives SIGKILL is the kernel's problem
            log.warning("speech: espeak-ng (pid %s) did not exit after SIGKILL", proc.pid)
        self._close_pipe(proc)

    def forget(self) -> None:
        """Stop and forget the last text (end of a session: it may have named the resident)."""
        self.stop()
        self._last = None

    def close(self) -> None:
        """Stop speaking and release the process (the owner calls this at shutdown)."""
        self.forget()

    def to_wav(self, text: str, language: str, path: str | Path, *, rate: int | None = None,
               timeout: float = 60.0) -> Path:
        """Synthesise ``text`` into a WAV file (for tests and for checking a voice); blocks.

        Raises :class:`DeviceNotFound` without espeak-ng, :class:`DeviceTimeout` when synthesis
        takes longer than ``timeout``, :class:`DeviceProtocolError` when espeak-ng fails.
        """
        if not self.executable:
            raise DeviceNotFound(self.reason)
        out = Path(path)
        args = self.engine.command(" ".join(text.split())[:MAX_CHARS], self.voice_for(language), language,
                                   rate or self.rate, self.volume, str(out))
        try:
            done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False,
                                  env=self._env)
        except subprocess.TimeoutExpired as exc:
            raise DeviceTimeout(f"espeak-ng took more than {timeout:g} s to synthesise; "
                                "try a shorter text or check the machine's load") from exc
        if done.returncode != 0 or not out.exists():
            detail = done.stderr.decode(errors="replace").strip().splitlines()[:1]
            raise DeviceProtocolError(f"espeak-ng failed (exit {done.returncode}): "
                                      f"{detail[0] if detail else 'no message'}; check the voice "
                                      f"{self.voice_for(language)!r} with: espeak-ng --voices")
        return out

    # -- internals --

    def _reap(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is None:
            return
        self._proc = None
        err = b""
        if proc.stderr is not None:
            try:
                err = proc.stderr.read() or b""
            except OSError:
                err = b""
        self._close_pipe(proc)
        # espeak-ng exits 0 even when it could not open the sound device; its stderr tells.
        lines = [ln for ln in err.decode(errors="replace").splitlines() if ln.strip()]
        if proc.returncode not in (0, None) or any(ln.startswith("error") for ln in lines):
            self._note_error(f"espeak-ng could not speak (exit {proc.returncode}): "
                             f"{lines[-1] if lines else 'no message'}; check the speaker and sound card")
        else:
            self.last_error = ""

    def _note_error(self, message: str) -> None:
        if message != self.last_error:  # log the change, not every utterance
            log.warning("speech: %s", message)
        self.last_error = message

    @staticmethod
    def _close_pipe(proc: subprocess.Popen[bytes]) -> None:
        if proc.stderr is not None:
            proc.stderr.close()
