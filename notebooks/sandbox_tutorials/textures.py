"""Generated surface textures with manufacturing defects: scratches, dents, stains.

Two surface families (brushed metal, woven fabric) with random orientation, lighting
and grain; defects vary in size, contrast and position, some barely visible, so the
task is not trivially separable. Images are float32 RGB in [0, 1], shape (H, W, 3).
"""

from __future__ import annotations

import numpy as np

CLASSES = ["ok", "scratch", "dent", "stain"]


def _blur(img: np.ndarray, passes: int = 1) -> np.ndarray:
    for _ in range(passes):
        img = (
            img
            + np.roll(img, 1, 0)
            + np.roll(img, -1, 0)
            + np.roll(img, 1, 1)
            + np.roll(img, -1, 1)
        ) / 5
    return img


def surface(rng: np.random.Generator, size: int) -> np.ndarray:
    """A defect-free surface: brushed metal or woven fabric."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    angle = rng.uniform(0, np.pi)
    along = np.cos(angle) * xx + np.sin(angle) * yy
    across = -np.sin(angle) * xx + np.cos(angle) * yy
    if rng.random() < 0.5:  # brushed metal: fine streaks along one direction
        streaks = rng.normal(0, 1, size)[(across * (size - 1)).astype(int) % size]
        base = 0.55 + 0.06 * streaks + 0.03 * rng.normal(0, 1, (size, size))
        tint = np.array([1.0, 1.0, 1.02]) * rng.uniform(0.8, 1.1)
    else:  # woven fabric: two crossing sinusoids
        period = rng.uniform(5, 9) / size
        weave = np.sin(2 * np.pi * along / period) * np.sin(2 * np.pi * across / period)
        base = 0.5 + 0.08 * weave + 0.04 * rng.normal(0, 1, (size, size))
        tint = rng.uniform(0.7, 1.1, 3)
    light = 1 + rng.uniform(-0.15, 0.15) * (xx - 0.5) + rng.uniform(-0.15, 0.15) * (yy - 0.5)
    img = _blur(base.astype(np.float32) * light, 1)[..., None] * tint[None, None, :]
    return np.clip(img, 0, 1).astype(np.float32)


def add_scratch(
    img: np.ndarray, rng: np.random.Generator, strength: float | None = None
) -> np.ndarray:
    size = img.shape[0]
    strength = rng.uniform(0.08, 0.3) if strength is None else strength
    length = rng.uniform(0.3, 0.8) * size
    angle = rng.uniform(0, np.pi)
    cx, cy = rng.uniform(0.25, 0.75, 2) * size
    bend = rng.uniform(-0.3, 0.3)
    t = np.linspace(-0.5, 0.5, int(length * 3))
    xs = cx + t * length * np.cos(angle) - bend * (t**2) * length * np.sin(angle)
    ys = cy + t * length * np.sin(angle) + bend * (t**2) * length * np.cos(angle)
    mask = np.zeros(img.shape[:2], np.float32)
    ok = (xs >= 0) & (xs < size) & (ys >= 0) & (ys < size)
    mask[ys[ok].astype(int), xs[ok].astype(int)] = 1.0
    mask = np.clip(_blur(mask, 1) * 2.5, 0, 1)
    sign = 1 if rng.random() < 0.6 else -1  # scratches catch the light, or show dark
    return np.clip(img + sign * strength * mask[..., None], 0, 1)


def add_dent(
    img: np.ndarray, rng: np.random.Generator, strength: float | None = None
) -> np.ndarray:
    size = img.shape[0]
    strength = rng.uniform(0.1, 0.35) if strength is None else strength
    radius = rng.uniform(0.06, 0.15) * size
    cx, cy = rng.uniform(0.2, 0.8, 2) * size
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    light = rng.uniform(0, 2 * np.pi)
    dx, dy = (xx - cx) / radius, (yy - cy) / radius
    bump = np.exp(-(dx**2 + dy**2))
    # Shading of a depression under directional light: a derivative of the bump.
    shade = -(np.cos(light) * dx + np.sin(light) * dy) * bump
    return np.clip(img + strength * shade[..., None], 0, 1)


def add_stain(
    img: np.ndarray, rng: np.random.Generator, strength: float | None = None
) -> np.ndarray:
    size = img.shape[0]
    strength = rng.uniform(0.15, 0.45) if strength is None else strength
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    cx, cy = rng.uniform(0.2, 0.8, 2) * size
    blob = np.zeros((size, size), np.float32)
    for _ in range(rng.integers(3, 7)):
        ox, oy = rng.normal(0, 0.06 * size, 2)
        r = rng.uniform(0.04, 0.1) * size
        blob += np.exp(-(((xx - cx - ox) ** 2 + (yy - cy - oy) ** 2) / (2 * r**2)))
    alpha = np.clip((blob - 0.5) * 3, 0, 1) * strength
    colour = np.array(rng.choice([[0.35, 0.25, 0.1], [0.2, 0.2, 0.2], [0.5, 0.45, 0.15]]))
    return np.clip(img * (1 - alpha[..., None]) + colour * alpha[..., None], 0, 1).astype(
        np.float32
    )


DEFECTS = {"scratch": add_scratch, "dent": add_dent, "stain": add_stain}


def make_dataset(n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n images (balanced over CLASSES) and their labels."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(CLASSES)
    rng.shuffle(labels)
    images = np.empty((n, size, size, 3), np.float32)
    for i, label in enumerate(labels):
        img = surface(rng, size)
        if CLASSES[label] != "ok":
            img = DEFECTS[CLASSES[label]](img, rng)
        images[i] = img
    return images, labels


def draw_strokes(
    img: np.ndarray, cells: list[tuple[int, int]], grid: int, darkness: float = 0.35
) -> np.ndarray:
    """Damage painted by hand: darken the grid cells the user switched on, softly."""
    size = img.shape[0]
    mask = np.zeros((size, size), np.float32)
    step = size / grid
    for row, col in cells:
        r0, c0 = int(row * step), int(col * step)
        mask[r0 : int(r0 + step), c0 : int(c0 + step)] = 1
    mask = _blur(mask, 2)
    return np.clip(img - darkness * mask[..., None], 0, 1).astype(np.float32)
