"""Speech synthesised with espeak-ng, and spectrograms computed with torch.stft.

espeak-ng (a Debian package in the speech image) speaks English and Korean with many
voice variants, speeds and pitches: enough to build keyword-spotting and separation
data sets on the spot, with no download. It is a formant synthesiser, so models
trained here learn its voices; the held-out voices show how well they generalise.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from xml.sax.saxutils import escape

import numpy as np

SAMPLE_RATE = 16_000
ESPEAK_RATE = 22_050

# Keywords: English words and Korean words with the same meanings.
KEYWORDS_EN = ["yes", "no", "up", "down", "left", "right", "stop", "go"]
KEYWORDS_KO = ["네", "아니요", "위", "아래", "왼쪽", "오른쪽", "멈춰", "가"]
KEYWORDS = KEYWORDS_EN + KEYWORDS_KO

# A voice is a language voice plus a variant (timbre, formants). Held-out voices use
# variants never heard in training.
TRAIN_VARIANTS = ["m1", "m2", "m3", "f1", "f2", "f4"]
HELD_OUT_VARIANTS = ["m4", "f3"]
EN_VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-029"]
KO_VOICES = ["ko"]
SPEEDS = [130, 165, 200]  # words per minute
PITCHES = [30, 50, 70]  # 0-99


@dataclass(frozen=True)
class Utterance:
    text: str
    voice: str
    speed: int
    pitch: int


def require_espeak() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise RuntimeError(
            "espeak-ng is not installed: it is part of the speech image "
            "(on Debian: apt-get install espeak-ng)"
        )
    return path


def _wav_to_float(data: bytes) -> np.ndarray:
    # espeak-ng --stdout streams a WAV whose header sizes are placeholders: take every
    # byte after the data chunk header.
    start = data.find(b"data")
    pcm = np.frombuffer(data[start + 8 :], dtype="<i2", count=(len(data) - start - 8) // 2)
    return pcm.astype(np.float32) / 32768.0


def _espeak(text: str, voice: str, speed: int, pitch: int, ssml: bool = False) -> np.ndarray:
    from scipy.signal import resample_poly

    raw = subprocess.run(
        [require_espeak(), "-v", voice, "-s", str(speed), "-p", str(pitch),
         *(["-m"] if ssml else []), "--stdout", text],
        check=True, capture_output=True, timeout=60,
    ).stdout  # fmt: skip
    return resample_poly(_wav_to_float(raw), 320, 441).astype(np.float32)


def synthesize(utt: Utterance) -> np.ndarray:
    """One utterance as float32 at 16 kHz, silence trimmed."""
    return trim(_espeak(utt.text, utt.voice, utt.speed, utt.pitch))


def split_on_silence(wave: np.ndarray, min_gap_s: float = 0.3) -> list[np.ndarray]:
    """Cut a recording at every pause of at least min_gap_s (10 ms energy frames)."""
    frame = SAMPLE_RATE // 100
    n = len(wave) // frame
    energy = np.abs(wave[: n * frame]).reshape(n, frame).max(axis=1)
    loud = energy > 0.02 * max(energy.max(), 1e-6)
    segments, start, quiet = [], None, 0
    for i, is_loud in enumerate(loud):
        if is_loud:
            start = i if start is None else start
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet >= min_gap_s * 100:
                segments.append(trim(wave[start * frame : (i - quiet + 1) * frame]))
                start, quiet = None, 0
    if start is not None:
        segments.append(trim(wave[start * frame :]))
    return segments


def _synthesize_group(utts: list[Utterance]) -> list[np.ndarray]:
    """Utterances sharing voice, speed and pitch: one espeak-ng process, long SSML breaks
    between them, cut apart at the pauses (one process per word would spend most of
    its time starting up). Falls back to one call each if the cut is ambiguous."""
    first = utts[0]
    breaks = "".join(f'{escape(u.text)}<break time="800ms"/>' for u in utts)
    wave = _espeak(f"<speak>{breaks}</speak>", first.voice, first.speed, first.pitch, ssml=True)
    pieces = split_on_silence(wave)
    if len(pieces) == len(utts):
        return pieces
    return [synthesize(u) for u in utts]


def synthesize_many(utts: Sequence[Utterance], workers: int = 4) -> list[np.ndarray]:
    """Many utterances, in order; espeak-ng runs as separate processes, so threads
    synthesise the groups in parallel."""
    groups: dict[tuple[str, int, int], list[int]] = {}
    for i, u in enumerate(utts):
        groups.setdefault((u.voice, u.speed, u.pitch), []).append(i)
    out: list[np.ndarray | None] = [None] * len(utts)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        jobs = {
            pool.submit(_synthesize_group, [utts[i] for i in idx]): idx for idx in groups.values()
        }
        for job, idx in jobs.items():
            for i, wave in zip(idx, job.result(), strict=True):
                out[i] = wave
    return out  # type: ignore[return-value]


def trim(wave: np.ndarray, threshold: float = 0.02) -> np.ndarray:
    loud = np.flatnonzero(np.abs(wave) > threshold * max(np.abs(wave).max(), 1e-6))
    return wave[loud[0] : loud[-1] + 1] if loud.size else wave


def fit_length(wave: np.ndarray, length: int, offset: int | None = None) -> np.ndarray:
    """Place a clip in a window of `length` samples (centred unless offset is given)."""
    out = np.zeros(length, dtype=np.float32)
    clip = wave[:length]
    start = (length - clip.size) // 2 if offset is None else min(offset, length - clip.size)
    out[start : start + clip.size] = clip
    return out


def voices(language: str, variants: Iterable[str]) -> list[str]:
    bases = KO_VOICES if language == "ko" else EN_VOICES
    return [f"{base}+{variant}" for base in bases for variant in variants]


def keyword_utterances(variants: Iterable[str], speeds: Sequence[int], pitches: Sequence[int]):
    """(utterance, label) for every keyword x voice x speed x pitch."""
    variants = list(variants)
    items = []
    for label, word in enumerate(KEYWORDS):
        language = "ko" if word in KEYWORDS_KO else "en"
        for voice in voices(language, variants):
            for speed in speeds:
                for pitch in pitches:
                    items.append((Utterance(word, voice, speed, pitch), label))
    return items


def stft(wave, n_fft: int = 512, hop: int = 160, win: int = 400):
    """Complex STFT with torch.stft (Hann window), shape (..., freq, frames)."""
    import torch

    x = torch.as_tensor(wave, dtype=torch.float32)
    window = torch.hann_window(win, device=x.device)
    flat = x.reshape(-1, x.shape[-1])  # torch.stft takes 1-D or 2-D input
    spec = torch.stft(
        flat, n_fft=n_fft, hop_length=hop, win_length=win, window=window, return_complex=True
    )
    return spec.reshape(*x.shape[:-1], *spec.shape[-2:])


def istft(spec, length: int, n_fft: int = 512, hop: int = 160, win: int = 400):
    """Inverse of ``stft`` (any leading dimensions)."""
    import torch

    window = torch.hann_window(win, device=spec.device)
    flat = spec.reshape(-1, *spec.shape[-2:])
    wave = torch.istft(
        flat, n_fft=n_fft, hop_length=hop, win_length=win, window=window, length=length
    )
    return wave.reshape(*spec.shape[:-2], length)


def mel_filterbank(n_mels: int, n_fft: int, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Triangular mel filters (HTK mel scale), shape (n_mels, n_fft // 2 + 1)."""

    def hz_to_mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    def mel_to_hz(mel):
        return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)

    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(20.0), hz_to_mel(sample_rate / 2), n_mels + 2))
    bank = np.zeros((n_mels, freqs.size), dtype=np.float32)
    for m in range(n_mels):
        lo, mid, hi = edges[m : m + 3]
        rising = (freqs - lo) / (mid - lo)
        falling = (hi - freqs) / (hi - mid)
        bank[m] = np.clip(np.minimum(rising, falling), 0, None)
    return bank


def log_mel(waves, n_mels: int = 40, n_fft: int = 512, hop: int = 160):
    """Log-mel features, shape (batch, n_mels, frames), from a (batch, samples) array."""
    import torch

    power = stft(waves, n_fft=n_fft, hop=hop).abs() ** 2
    bank = torch.as_tensor(mel_filterbank(n_mels, n_fft), device=power.device)
    return torch.log(torch.einsum("mf,...ft->...mt", bank, power) + 1e-6)


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB."""
    estimate = estimate - estimate.mean()
    reference = reference - reference.mean()
    scale = np.dot(estimate, reference) / (np.dot(reference, reference) + 1e-9)
    target = scale * reference
    noise = estimate - target
    return float(10 * np.log10((target @ target + 1e-9) / (noise @ noise + 1e-9)))
