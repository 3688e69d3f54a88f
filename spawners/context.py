"""What every slice spawner of one hub shares: the inventory, the ledger, the hub's
incarnation (epoch) and the policy that says what each user may choose (the site's teams,
or, on a hub without teams, every offered image and slice for everyone)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cachetools import TTLCache

from spawners.core.allocator import PlacementStrategy, free_counts, offered_slices
from spawners.core.images import ImageTable
from spawners.core.model import Inventory
from spawners.core.options import Choices
from spawners.core.policy import Admission, BudgetStatus, Membership, Teams, budget_status
from spawners.core.usage import period_bounds
from spawners.ledger.ledger import Ledger

ChoicesFor = Callable[[str, frozenset[str]], Choices]
"""(user name, the user's group names) -> what that user may pick."""

FORM_FIGURES_TTL_S = 1.0
"""How long the spawn form's figures (free counts, a team's usage) are reused: every
open spawn page polls, and a class opening it at once must not read the ledger for each
poll. Admission at reserve time always reads the ledger itself."""


class FormFigures:
    """The ledger reads behind the spawn form, each kept for FORM_FIGURES_TTL_S (read
    from the hub's worker threads, so behind a lock)."""

    def __init__(self, timer: Callable[[], float] = time.monotonic) -> None:
        self._cache: TTLCache = TTLCache(maxsize=1024, ttl=FORM_FIGURES_TTL_S, timer=timer)
        self._lock = threading.Lock()

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        value = compute()
        with self._lock:
            self._cache[key] = value
        return value


@dataclass
class SliceContext:
    inventory: Inventory
    ledger: Ledger
    choices_for: ChoicesFor
    images: ImageTable
    """The site's images (its ``images`` table): what user_options may name and the
    form lists."""
    strategy: PlacementStrategy = PlacementStrategy.FRAGMENTATION_AWARE
    site_name: str = "AI Sandbox Hub"
    site_description: str = ""
    """The site file's site.description, shown under its name on the spawn form."""
    epoch: str = field(default_factory=lambda: uuid.uuid4().hex)
    instances: Any = None
    """An NvmlInstanceManager when the hub creates MIG instances itself (dynamic
    strategy on real GPUs); None when the instances exist already or are simulated."""
    teams: Teams = field(default_factory=Teams)
    """The site's teams; empty: no team policy (nobody is charged)."""
    max_gpu_slices_per_user: int | None = None
    """GPU slices a user in no team may hold at once (the site's
    hub.max_gpu_slices_per_user); None: no cap. A team's own policy limits its members."""
    device_processes: Callable[[str], list[int]] | None = None
    """pids still computing on a device (by UUID): NVML's view on real GPUs, None where
    the GPUs are simulated or declared. A stopped server's slice stays quarantined while
    this finds anything."""
    usage_url: str = ""
    """Where a server (or its user) reads its usage and warnings: the slices service's
    ``api/me``. Given to servers as SANDBOX_USAGE_URL."""

    form_figures: FormFigures = field(default_factory=FormFigures, repr=False)

    def __deepcopy__(self, memo: dict) -> SliceContext:
        # traitlets deep-copies config values; the hub's machinery must stay one object.
        return self

    def free_now(self) -> dict[str, int]:
        return free_counts(self.inventory, self.ledger.holdings())

    def membership(self, groups: frozenset[str]) -> Membership | None:
        return self.teams.membership(groups)

    def admission(
        self, user: str, membership: Membership | None, slice_name: str
    ) -> Admission | None:
        """The limits the ledger checks when it reserves: the team's policy, else the
        hub's cap per user (None when there is no cap)."""
        if membership is None and self.max_gpu_slices_per_user is None:
            return None
        return Admission(
            user=user,
            slice_name=slice_name,
            membership=membership,
            max_gpu_slices_per_user=self.max_gpu_slices_per_user,
        )

    def budget(self, user: str, membership: Membership) -> BudgetStatus:
        now = self.ledger.clock()
        since = period_bounds(now, membership.team.policy.period)[0]
        return budget_status(membership, user, self.ledger.overlapping(since, now), now)

    def form_free_now(self) -> dict[str, int]:
        """free_now() as the spawn form shows it: at most FORM_FIGURES_TTL_S old."""
        return self.form_figures.get("free", self.free_now)

    def form_budget(self, user: str, membership: Membership) -> BudgetStatus:
        """budget() as the spawn form shows it: the team's usage rows are read at most
        once per FORM_FIGURES_TTL_S for all its members."""
        now = self.ledger.clock()
        since = period_bounds(now, membership.team.policy.period)[0]
        rows = self.form_figures.get(
            ("usage", membership.team.name, since), lambda: self.ledger.overlapping(since, now)
        )
        return budget_status(membership, user, rows, now)


def team_choices(
    inventory: Inventory,
    teams: Teams,
    images: tuple[str, ...],
    slices: tuple[str, ...] = (),
    default_image: str = "base",
    default_slice: str = "cpu",
) -> ChoicesFor:
    """What the user's team allows of what the site offers; nothing for a user in no team."""
    offered = tuple(s for s in offered_slices(inventory) if not slices or s in slices)
    nothing = Choices(images=(), slices=(), default_image="", default_slice="")

    def choices(_user: str, groups: frozenset[str]) -> Choices:
        membership = teams.membership(groups)
        if membership is None:
            return nothing
        return membership.policy.choices(offered, images, default_image, default_slice)

    return choices


def site_wide_choices(
    inventory: Inventory,
    images: tuple[str, ...],
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
