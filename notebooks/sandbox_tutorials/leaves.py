"""Generated photographs of crop leaves with disease lesions, with the true severity.

Each image is a leaf (green, veined, with uneven shading) on soil, photographed under
varying light; a diseased leaf carries brown lesions with yellow halos, like leaf spot
or blight. The true severity is the share of the leaf's area that is lesion, which is
what a field survey scores by eye and a phone app should measure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Leaf:
    image: np.ndarray  # (h, w, 3) uint8 RGB
    leaf: np.ndarray  # (h, w) bool: the leaf, lesions included
    lesion: np.ndarray  # (h, w) bool

    @property
    def severity(self) -> float:
        return float(self.lesion.sum() / max(1, self.leaf.sum()))


def make_leaf(size: int, rng: np.random.Generator, lesions: int) -> Leaf:
    yy, xx = np.mgrid[0:size, 0:size] / size
    angle = rng.uniform(0, np.pi)
    u = (xx - 0.5) * np.cos(angle) + (yy - 0.5) * np.sin(angle)
    v = -(xx - 0.5) * np.sin(angle) + (yy - 0.5) * np.cos(angle)
    length, width = rng.uniform(0.36, 0.44), rng.uniform(0.16, 0.22)
    leaf = (u / length) ** 2 + (v / (width * (1 - 0.6 * (u / length) ** 2))) ** 2 <= 1
    soil = np.stack([0.36, 0.27, 0.18]) + rng.normal(0, 0.04, (size, size, 3))
    green = np.array([0.22, 0.50, 0.16]) * rng.uniform(0.85, 1.15)
    shading = 1 + 0.25 * u + rng.normal(0, 0.03, (size, size))
    veins = (np.abs(v) < 0.006) | (np.abs(np.sin(u * 40) * 0.03 - np.abs(v)) < 0.004)
    image = soil.copy()
    image[leaf] = (green * shading[..., None])[leaf]
    image[leaf & veins] *= 1.25
    lesion = np.zeros_like(leaf)
    inside = np.argwhere(leaf)
    for _ in range(lesions):
        cy, cx = inside[rng.integers(len(inside))] / size
        r = rng.uniform(0.02, 0.06)
        ring = ((yy - cy) ** 2 + (xx - cx) ** 2) <= (r * 1.5) ** 2
        spot = ((yy - cy) ** 2 + (xx - cx) ** 2) <= r**2
        image[ring & leaf & ~lesion] = [0.62, 0.60, 0.18]  # the yellow halo (still leaf)
        lesion |= spot & leaf
    brown = np.array([0.36, 0.22, 0.10]) * rng.uniform(0.8, 1.2)
    image[lesion] = brown + rng.normal(0, 0.03, (int(lesion.sum()), 3))
    image = image * rng.uniform(0.75, 1.25)  # the light of the day
    image = image + rng.normal(0, 0.02, image.shape)
    return Leaf((np.clip(image, 0, 1) * 255).astype(np.uint8), leaf, lesion)


def make_survey(count: int, size: int, seed: int = 0) -> list[Leaf]:
    """A field survey: a third healthy leaves, the rest with 1 to 12 lesions."""
    rng = np.random.default_rng(seed)
    return [
        make_leaf(size, rng, 0 if i % 3 == 0 else int(rng.integers(1, 13))) for i in range(count)
    ]
