"""Prosody: how something is said (pitch, loudness, tempo), the classic cues of emotion.

``STYLES`` are four speaking styles that espeak-ng can act by pitch, speed and loudness
(neutral, happy, angry, sad): a stand-in for recorded emotional speech, which no
package ships. ``features`` summarises a clip's pitch track and energy into the
numbers a speech-emotion classifier starts from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Style:
    speed: int  # words per minute
    pitch: int  # espeak-ng 0-99
    gain: float  # loudness


STYLES: dict[str, Style] = {
    "neutral": Style(160, 45, 1.0),
    "happy": Style(180, 75, 1.2),
    "angry": Style(200, 55, 2.0),
    "sad": Style(125, 25, 0.5),
}


def pitch_track(wave: np.ndarray, frame: int = 640, hop: int = 160) -> np.ndarray:
    """Fundamental frequency (Hz) per voiced frame, by autocorrelation over 60-400 Hz."""
    lo, hi = SAMPLE_RATE // 400, SAMPLE_RATE // 60
    pitches = []
    for start in range(0, len(wave) - frame, hop):
        x = wave[start : start + frame] - wave[start : start + frame].mean()
        energy = float(x @ x)
        if energy < 1e-4:
            continue
        ac = np.correlate(x, x, mode="full")[frame - 1 :]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] / energy > 0.5:  # periodic enough to be voiced
            pitches.append(SAMPLE_RATE / lag)
    return np.array(pitches)


def features(wave: np.ndarray, characters: int) -> np.ndarray:
    """Pitch level and range, loudness level and variation, tempo and voicing."""
    frames = wave[: len(wave) // 160 * 160].reshape(-1, 160)
    energy = np.log10((frames**2).mean(axis=1) + 1e-8)
    pitch = pitch_track(wave)
    if len(pitch) == 0:
        pitch = np.array([0.0])
    return np.array(
        [
            np.median(pitch),
            np.percentile(pitch, 90) - np.percentile(pitch, 10),
            np.percentile(energy, 90),
            energy.std(),
            len(wave) / SAMPLE_RATE / max(1, characters),  # seconds per character
            len(pitch) * 160 / max(1, len(wave)),  # voiced share
        ]
    )
