"""What every slice spawner of one hub shares: the inventory, the ledger, the hub's
incarnation (epoch) and the policy that says what each user may choose."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spawners.core.allocator import PlacementStrategy, free_counts, offered_slices
from spawners.core.model import Inventory
from spawners.core.options import IMAGE_NAMES, Choices
from spawners.ledger.ledger import Ledger

ChoicesFor = Callable[[str, frozenset[str]], Choices]
"""(user name, the user's group names) -> what that user may pick."""


@dataclass
class SliceContext:
    inventory: Inventory
    ledger: Ledger
    choices_for: ChoicesFor
    strategy: PlacementStrategy = PlacementStrategy.FRAGMENTATION_AWARE
    site_name: str = "AI Sandbox Hub"
    image_descriptions: dict[str, str] = field(default_factory=dict)
    epoch: str = field(default_factory=lambda: uuid.uuid4().hex)
    instances: Any = None
    """An NvmlInstanceManager when the hub creates MIG instances itself (dynamic
    strategy on real GPUs); None when the instances exist already or are simulated."""

    def __deepcopy__(self, memo: dict) -> SliceContext:
        # traitlets deep-copies config values; the hub's machinery must stay one object.
        return self

    def free_now(self) -> dict[str, int]:
        return free_counts(self.inventory, self.ledger.holdings())


def site_wide_choices(
    inventory: Inventory,
    images: tuple[str, ...] = IMAGE_NAMES,
    slices: tuple[str, ...] = (),
    default_image: str = "base",
    default_slice: str = "cpu",
) -> ChoicesFor:
    """Every user may pick every offered image and slice (the embedded default)."""
    offered = offered_slices(inventory)
    allowed = tuple(s for s in offered if not slices or s in slices)
    choices = Choices(
        images=images, slices=allowed, default_image=default_image, default_slice=default_slice
    )
    return lambda _user, _groups: choices
