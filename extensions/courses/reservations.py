"""Lab-session reservations as the courses service makes them: who may (an instructor of
the course, or an admin), what a request must say, and the ledger's answer. No web here:
handlers.py turns a Refused into JSON in the caller's language.

A reservation is for a course that is also a team of kind ``course`` in the site file
(the same name): its members are the people the hub charges to that team, so the slices
they take count against the course's limits and GPU-hours, and only then."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from tornado.log import app_log

from extensions.bootstrap import Service
from spawners.core.allocator import PlacementStrategy, offered_slices
from spawners.core.model import Inventory
from spawners.core.policy import Teams
from spawners.core.policy.teams import TeamKind, parse_duration
from spawners.core.reservations import Infeasible
from spawners.i18n import N_
from spawners.inventory.select import inventory_for_site
from spawners.ledger.ledger import Ledger
from spawners.ledger.reservation_book import Reservations
from spawners.ledger.reservations import ReservationRecord

from .roles import Role, valid_name
from .store import parse_due

MAX_COUNT = 1000
MAX_WINDOW_S = 7 * 24 * 3600.0
"""The longest window one reservation may have (a lab session, not a semester)."""


class Refused(Exception):
    """A refused reservation request: an HTTP status and a catalogue message."""

    def __init__(self, status: int, text: str, **params: Any) -> None:
        super().__init__(text % params)
        self.status = status
        self.text = text
        self.params = params


@dataclass(frozen=True)
class Caller:
    name: str
    admin: bool
    roles: Mapping[str, Role]

    def may_reserve(self, course: str) -> bool:
        return self.admin or self.roles.get(course) is Role.INSTRUCTOR


@dataclass
class ReservationDesk:
    ledger: Ledger
    inventory: Inventory
    teams: Teams
    grace_s: float
    """courses.reservations.grace: how long unclaimed slices stay kept."""
    strategy: PlacementStrategy = PlacementStrategy.FRAGMENTATION_AWARE

    def _course(self, caller: Caller, course: str) -> None:
        if not valid_name(course) or not caller.may_reserve(course):
            raise Refused(
                403,
                N_("Only instructors of %(course)s and admins can do this."),
                course=course[:64],
            )

    def listing(self, caller: Caller, course: str) -> list[dict[str, Any]]:
        self._course(caller, course)
        now = self.ledger.clock()
        return [shown(r, now) for r in Reservations(self.ledger).upcoming(now, course)]

    def for_members(self, roles: Mapping[str, Role]) -> dict[str, list[dict[str, Any]]]:
        """Per course of the caller: its reservations ahead or open (what api/me and the
        JupyterLab panel show every member)."""
        now = self.ledger.clock()
        out: dict[str, list[dict[str, Any]]] = {course: [] for course in roles}
        try:
            upcoming = Reservations(self.ledger).upcoming(now)
        except SQLAlchemyError as e:
            # A ledger the service cannot read costs the members' view its reservations,
            # not their labs.
            app_log.error("courses: could not read the reservations: %s", e)
            return out
        for record in upcoming:
            if record.course in out:
                out[record.course].append(shown(record, now))
        return out

    def make(self, caller: Caller, course: str, body: Mapping[str, Any]) -> dict[str, Any]:
        self._course(caller, course)
        team = self.teams.get(course)
        if team is None or team.kind is not TeamKind.COURSE:
            raise Refused(
                400,
                N_(
                    "%(course)s is not a course team of this site, so nobody could claim its slices."
                ),
                course=course,
            )
        slice_name = body.get("slice")
        gpu_slices = offered_slices(self.inventory)[1:]
        if not isinstance(slice_name, str) or slice_name not in gpu_slices:
            raise Refused(
                400, N_("Choose a slice of this site: %(slices)s."), slices=", ".join(gpu_slices)
            )
        count = body.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
            raise Refused(
                400,
                N_("The number of slices must be a whole number from 1 to %(most)s."),
                most=MAX_COUNT,
            )
        starts_at, ends_at = _time(body, "start"), _time(body, "end")
        now = self.ledger.clock()
        if not starts_at < ends_at:
            raise Refused(400, N_("The window must end after it starts."))
        if ends_at <= now:
            raise Refused(400, N_("The window is over already."))
        if ends_at - starts_at > MAX_WINDOW_S:
            raise Refused(400, N_("A window is at most 7 days long."))
        made = Reservations(self.ledger).make(
            course=course,
            slice_name=slice_name,
            count=count,
            starts_at=max(starts_at, now),
            ends_at=ends_at,
            grace_s=self.grace_s,
            actor=caller.name,
            inventory=self.inventory,
            strategy=self.strategy,
        )
        if isinstance(made, Infeasible):
            if made.most == 0:
                raise Refused(
                    409,
                    N_("This window can hold no %(slice)s beside the other reservations."),
                    slice=slice_name,
                )
            raise Refused(
                409,
                N_(
                    "This window can hold at most %(most)s x %(slice)s beside the other reservations."
                ),
                most=made.most,
                slice=slice_name,
            )
        return shown(made, now)

    def cancel(self, caller: Caller, course: str, reservation_id: str) -> None:
        self._course(caller, course)
        reservations = Reservations(self.ledger)
        found = reservations.get(int(reservation_id)) if reservation_id.isdigit() else None
        if found is None or found.course != course:
            raise Refused(404, N_("No such reservation."))
        reservations.cancel(found.id, caller.name)


def _time(body: Mapping[str, Any], key: str) -> float:
    value = body.get(key)
    try:
        when = parse_due(value) if isinstance(value, str) and value else None
    except ValueError:
        when = None
    if when is None:
        raise Refused(400, N_("Give the window's start and end as ISO 8601 times."))
    return when


def shown(record: ReservationRecord, now: float) -> dict[str, Any]:
    """A reservation as the API and the pages show it: its window also in ISO 8601 UTC."""
    out = record.as_dict(now)
    out["start"] = datetime.fromtimestamp(record.starts_at, UTC).isoformat()
    out["end"] = datetime.fromtimestamp(record.ends_at, UTC).isoformat()
    return out


def reservation_desk(start: Service) -> ReservationDesk:
    """The service's desk: the hub's ledger, the site's inventory and teams, and its
    grace period (courses.reservations.grace)."""
    site = start.site
    return ReservationDesk(
        ledger=start.ledger(),
        inventory=inventory_for_site(site["gpus"]),
        teams=start.teams,
        grace_s=float(parse_duration(site["courses"]["reservations"]["grace"])),
    )
