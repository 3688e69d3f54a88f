"""A generated fixed-camera (CCTV) clip with a known intruder, for motion detection.

The scene is a real photograph (scikit-image's ``rocket``: a launch pad, outdoors, in
grey); over it a person-shaped figure walks through on some frames, while what fools
naive motion detectors happens on every frame: sensor noise, a slow change of light
(clouds) and a swaying bush. Every frame comes with the intruder's true box, or None.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Clip:
    frames: np.ndarray  # (n, h, w) uint8
    boxes: list[tuple[int, int, int, int] | None]  # the intruder's (x, y, w, h) per frame


def _scene(height: int, width: int) -> np.ndarray:
    import cv2
    from skimage import data

    grey = cv2.cvtColor(data.rocket(), cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)


def _person(height: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(alpha mask, intensity) of a standing figure ``height`` pixels tall."""
    width = max(4, height // 3)
    yy, xx = np.mgrid[0:height, 0:width]
    cx = (width - 1) / 2
    head = ((xx - cx) / (width * 0.28)) ** 2 + ((yy - height * 0.1) / (height * 0.1)) ** 2 <= 1
    body = (np.abs(xx - cx) <= width * 0.45) & (yy > height * 0.2) & (yy < height * 0.62)
    legs = (np.abs(np.abs(xx - cx) - width * 0.22) <= width * 0.14) & (yy >= height * 0.62)
    mask = (head | body | legs).astype(np.float32)
    shade = rng.uniform(20, 70) if rng.random() < 0.5 else rng.uniform(190, 240)
    return mask, shade + rng.normal(0, 8, mask.shape).astype(np.float32)


def make_clip(frames: int, height: int, width: int, seed: int = 0) -> Clip:
    """``frames`` frames: the first quarter empty (the detector learns the background),
    then one intruder walking across the middle half, then empty again."""
    rng = np.random.default_rng(seed)
    scene = _scene(height, width)
    bush_y, bush_x, bush_r = int(height * 0.8), int(width * 0.12), max(3, height // 12)
    yy, xx = np.mgrid[0:height, 0:width]
    person_h = int(height * 0.35)
    mask, shade = _person(person_h, rng)
    walk = range(frames // 4, 3 * frames // 4)
    ground = int(height * 0.92) - person_h
    out, boxes = [], []
    for t in range(frames):
        light = 1 + 0.12 * np.sin(2 * np.pi * t / frames)  # clouds: slow, global
        frame = scene * light
        sway = 2 * np.sin(t * 0.9)  # the bush moves a few pixels, on every frame
        bush = ((yy - bush_y) ** 2 + (xx - bush_x - sway) ** 2) <= bush_r**2
        frame[bush] = 60 + 25 * np.sin(xx[bush] * 0.8 + t)
        box = None
        if t in walk:
            progress = (t - walk.start) / max(1, len(walk) - 1)
            x = int(width * 0.2 + progress * width * 0.6)
            y = ground + int(2 * np.sin(t * 1.3))  # a walking gait
            h, w = mask.shape
            region = frame[y : y + h, x : x + w]
            m = mask[: region.shape[0], : region.shape[1]]
            region[:] = region * (1 - m) + shade[: m.shape[0], : m.shape[1]] * m
            box = (x, y, w, h)
        frame = frame + rng.normal(0, 4, frame.shape)  # sensor noise
        out.append(np.clip(frame, 0, 255).astype(np.uint8))
        boxes.append(box)
    return Clip(np.stack(out), boxes)


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)
