"""Speech through the real espeak-ng: audible WAVs in every language, say / stop / repeat.

The test machine has no sound card, so for say() the synthesiser's audio goes to ALSA's null
device (a private ``.asoundrc`` in a temporary HOME): espeak-ng still runs and synthesises in
real time order, which is what interrupting has to cope with.
"""

from __future__ import annotations

import shutil
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from devices.base import DeviceNotFound
from kiosk.terminal.speech import VOICES, Speaker, load_engine

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                reason="espeak-ng is not installed (deploy/setup.sh installs it)")

TEXTS = {
    "zh_CN": "请将身份证放在感应区，然后选择要办理的事项。",
    "zh_TW": "請將身分證放在感應區，然後選擇要辦理的事項。",
    "en": "Please place your ID card on the reader, then choose a service.",
}
LONG = "社保参保缴费证明打印，请核对您的信息。" * 200  # seconds of synthesis: still running when stopped


def wait_until(condition, timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def null_audio(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text("pcm.!default { type null }\nctl.!default { type hw card 0 }\n")
    return {"HOME": str(home), "PULSE_SERVER": "unix:/nonexistent"}


def samples(path: Path) -> tuple[np.ndarray, float]:
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2
        frames = w.readframes(w.getnframes())
        return np.frombuffer(frames, dtype=np.int16), w.getnframes() / w.getframerate()


@pytest.mark.parametrize("language", sorted(TEXTS))
def test_to_wav_speaks_every_language(tmp_path, language):
    path = Speaker().to_wav(TEXTS[language], language, tmp_path / f"{language}.wav")
    audio, seconds = samples(path)
    assert seconds > 0.3
    loud = np.abs(audio.astype(np.int32)) > 1000
    assert loud.mean() > 0.1, "the WAV is (nearly) silent"


def test_chinese_is_read_as_mandarin_not_spelled_out(tmp_path):
    # The broken 1.51 'cmn' voice reads 社会保险 as English letter sounds; cmn-latn-pinyin reads it
    # as four syllables, far shorter. Traditional characters must sound the same as simplified.
    sp = Speaker()
    _simplified, s_len = samples(sp.to_wav("社会保险", "zh_CN", tmp_path / "s.wav"))
    _traditional, t_len = samples(sp.to_wav("社會保險", "zh_TW", tmp_path / "t.wav"))
    _broken, b_len = samples(Speaker(voices={**VOICES, "zh_CN": "cmn"}).to_wav("社会保险", "zh_CN", tmp_path / "b.wav"))
    assert abs(s_len - t_len) < 0.05
    assert s_len < b_len


def test_say_returns_at_once_and_stop_kills_the_process(null_audio):
    sp = Speaker(env=null_audio)
    assert sp.say(LONG, "zh_CN")
    proc = sp._proc
    assert proc is not None and sp.speaking
    sp.stop()
    assert wait_until(lambda: proc.poll() is not None, 5)
    assert proc.returncode < 0, "espeak-ng finished instead of being interrupted"
    assert not sp.speaking


def test_a_new_say_interrupts_the_previous_one(null_audio):
    sp = Speaker(env=null_audio)
    sp.say(LONG, "zh_CN")
    first = sp._proc
    sp.say(TEXTS["en"], "en")
    assert first is not None and first.poll() is not None and first.returncode < 0
    assert sp._proc is not first
    sp.close()


def test_repeat_replays_the_last_text(null_audio):
    sp = Speaker(env=null_audio)
    assert sp.repeat() is False  # nothing said yet
    sp.say(LONG, "zh_TW")
    first = sp._proc
    assert sp.repeat()
    assert first.returncode < 0 and sp.speaking
    assert sp._proc.args[2] == VOICES["zh_TW"] and sp._proc.args[-1].strip() == " ".join(LONG.split())
    sp.forget()
    assert not sp.speaking and sp.repeat() is False


def test_disabled_speaker_says_nothing_but_remembers(null_audio):
    sp = Speaker(env=null_audio, enabled=False)
    assert sp.say(TEXTS["zh_CN"], "zh_CN") is False and not sp.speaking and sp._proc is None
    sp.enabled = True
    assert sp.repeat() and sp.speaking
    sp.enabled = False  # turning speech off silences it at once
    assert not sp.speaking


def test_missing_espeak_turns_speech_off_with_a_reason(tmp_path, caplog):
    sp = Speaker(executable="espeak-ng-not-installed")
    assert sp.enabled is False and "apt-get install espeak-ng" in sp.reason
    assert "speech off" in caplog.text
    sp.enabled = True
    assert sp.enabled is False and sp.say("你好") is False
    with pytest.raises(DeviceNotFound):
        sp.to_wav("你好", "zh_CN", tmp_path / "x.wav")


def test_a_finished_utterance_is_reaped(null_audio):
    sp = Speaker(env=null_audio)
    sp.say("好", "zh_CN")
    assert wait_until(lambda: not sp.speaking)
    assert sp.last_error == ""


# -- engines (issue 23): another synthesiser without code changes, the headphones' output, the transcript --

def test_a_command_engine_speaks_through_its_template_on_the_routed_output(tmp_path):
    """``[speech] engine = "command"``: the template gets the voice, language, rate, volume and text, and
    the output audio mode routes to (the headphones) reaches the synthesiser's environment."""
    out = tmp_path / "said.txt"
    engine = load_engine("command", ["sh", "-c", f'printf "%s|%s" "$PULSE_SINK" "$*" > {out}', "tts",
                                     "{voice}", "{language}", "{rate}", "{volume}", "{text}"])
    sp = Speaker(engine=engine, keep_transcript=True)
    sp.route_to("headphones-sink")
    sp.volume = 140
    assert sp.say("第 2 个，共 3 个", "zh_TW", rate=150)
    assert wait_until(lambda: not sp.speaking) and wait_until(out.exists)
    assert out.read_text(encoding="utf-8") == "headphones-sink|cmn-latn-pinyin zh_TW 150 140 第 2 个，共 3 个"
    assert [s.text for s in sp.transcript] == ["第 2 个，共 3 个"]
    sp.route_to("")
    sp.say("好", "zh_CN")
    assert wait_until(lambda: not sp.speaking) and out.read_text(encoding="utf-8").startswith("|")


def test_an_engine_that_is_not_installed_is_named():
    with pytest.raises(ValueError, match="kiosk.speech_engines"):
        load_engine("a-voice-nobody-installed")
    sp = Speaker(engine=load_engine("command", ["no-such-tts-program", "{text}"]))
    assert not sp.enabled and "no-such-tts-program" in sp.reason


def test_an_installed_package_provides_an_engine_by_its_entry_point(tmp_path, monkeypatch):
    """A voice installed from a package registry registers itself in ``kiosk.speech_engines``; naming it in
    ``[speech] engine`` is all it takes (here the package is a dist-info folder on sys.path, as pip leaves it)."""
    out = tmp_path / "said.txt"
    (tmp_path / "better_voice.py").write_text(
        "from kiosk.terminal.speech import CommandEngine\n"
        "def engine():\n"
        f"    return CommandEngine(['sh', '-c', 'printf %s \"$1\" > {out}', 'tts', '{{text}}'], name='better')\n",
        encoding="utf-8")
    info = tmp_path / "better_voice-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: better-voice\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[kiosk.speech_engines]\nbetter = better_voice:engine\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    sp = Speaker(engine=load_engine("better"))
    assert sp.engine.name == "better" and sp.say("社保卡", "zh_CN")
    assert wait_until(lambda: not sp.speaking) and wait_until(out.exists)
    assert out.read_text(encoding="utf-8") == "社保卡"
