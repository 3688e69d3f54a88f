"""What the courses service does, without the web: who may do what, and the store.

Every method takes the caller's name and their course roles (from their JupyterHub
groups) and raises CourseError with an HTTP status and a safe message when refused."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bundle import BundleError, decode, read_folder
from .limits import Limits, OverLimit, check_hand_in, check_lab, hand_in_usage
from .roles import Role, valid_name
from .store import CourseStore, NotFound, parse_due
from .stream import Outgoing

Roles = dict[str, Role]


class CourseError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _role(roles: Roles, course: str) -> Role:
    if not valid_name(course) or course not in roles:
        raise CourseError(403, f"You are not a member of course {course[:64]!r}.")
    return roles[course]


def _instructor(roles: Roles, course: str) -> None:
    if _role(roles, course) is not Role.INSTRUCTOR:
        raise CourseError(403, f"Only instructors of {course} can do this.")


def _student(roles: Roles, course: str) -> None:
    if _role(roles, course) is not Role.STUDENT:
        raise CourseError(403, f"Only students of {course} hand in labs.")


def _lab_name(lab: str) -> str:
    if not isinstance(lab, str) or not valid_name(lab):
        raise CourseError(400, "A lab name is 1-63 lowercase letters, digits, '-', '_' or '.'.")
    return lab


@contextmanager
def _quota() -> Iterator[None]:
    try:
        yield
    except OverLimit as e:
        raise CourseError(e.status, e.message) from None


def public_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """A lab's metadata without the file hashes (for listings)."""
    return {k: v for k, v in meta.items() if k != "files"} | {"files": sorted(meta["files"])}


@dataclass
class CourseService:
    store: CourseStore
    notebooks: Path
    """Folders under here can be published as labs (the repo's notebooks/)."""
    limits: Limits = field(default_factory=Limits.site_defaults)

    # --- reading -----------------------------------------------------------------

    def me(self, user: str, roles: Roles) -> dict[str, Any]:
        courses = []
        for course, role in roles.items():
            labs = []
            for meta in self.store.labs(course):
                entry = public_meta(meta)
                if role is Role.INSTRUCTOR:
                    subs = self.store.submissions(course, meta["name"])
                    entry["submissions"] = len(subs)
                    entry["students_handed_in"] = len({s["student"] for s in subs})
                else:
                    mine = self.store.submissions(course, meta["name"], user)
                    entry["my_submissions"] = mine
                labs.append(entry)
            courses.append({"name": course, "role": role.value, "labs": labs})
        return {"user": user, "courses": courses}

    def labs(self, roles: Roles, course: str) -> list[dict[str, Any]]:
        _role(roles, course)
        return [public_meta(m) for m in self.store.labs(course)]

    def bundle(self, roles: Roles, course: str, lab: str) -> Outgoing:
        """One lab with its files (read when sent, see stream.py)."""
        _role(roles, course)
        try:
            meta, files = self.store.lab_paths(course, _lab_name(lab))
        except NotFound:
            raise CourseError(404, f"No lab {lab!r} in {course}.") from None
        return Outgoing({k: v for k, v in meta.items() if k != "files"}, files)

    def sync(self, roles: Roles, known: dict[str, int] | None = None) -> list[Outgoing]:
        """Every lab of every course the user is in, with contents (for a pull); a lab
        whose version the caller already has (``known``: "course/lab" -> version) comes
        without contents, marked ``unchanged``, so a server start moves no data."""
        known = known or {}
        labs = []
        for course in roles:
            for meta in self.store.labs(course):
                if known.get(f"{course}/{meta['name']}") == meta["version"]:
                    labs.append(Outgoing(public_meta(meta) | {"unchanged": True}))
                else:
                    labs.append(self.bundle(roles, course, meta["name"]))
        return labs

    def repo_labs(self, roles: Roles) -> list[str]:
        if Role.INSTRUCTOR not in roles.values():
            raise CourseError(403, "Only instructors can publish labs.")
        return self._repo_folders()

    def _repo_folders(self) -> list[str]:
        if not self.notebooks.is_dir():
            return []
        found = set()
        for nb in self.notebooks.rglob("*.ipynb"):
            rel = nb.parent.relative_to(self.notebooks)
            # The top folder itself is the whole tutorial tree, not a lab.
            if (
                not rel.parts
                or any(p.startswith(".") for p in rel.parts)
                or ".ipynb_checkpoints" in rel.parts
            ):
                continue
            found.add(rel.as_posix())
        return sorted(found)

    # --- instructors ---------------------------------------------------------------

    def publish(self, user: str, roles: Roles, course: str, body: dict[str, Any]) -> dict:
        _instructor(roles, course)
        lab = _lab_name(body.get("name", ""))
        try:
            due = parse_due(body.get("due"))
        except ValueError as e:
            raise CourseError(400, str(e)) from None
        title = str(body.get("title") or lab)[:200]
        try:
            if "repo_path" in body:
                files, source = (
                    self._repo_files(str(body["repo_path"])),
                    f"repo:{body['repo_path']}",
                )
            elif "files" in body:
                files, source = decode(body["files"]), str(body.get("source") or "upload")[:300]
            else:
                raise CourseError(400, "Give 'repo_path' (a folder of notebooks/) or 'files'.")
        except BundleError as e:
            raise CourseError(400, str(e)) from None
        labs = [m["name"] for m in self.store.labs(course)]
        with _quota():
            check_lab(self.limits, files, labs, course, lab)
        meta = self.store.publish(course, lab, files, by=user, title=title, due=due, source=source)
        return public_meta(meta)

    def _repo_files(self, repo_path: str) -> dict[str, bytes]:
        # Only folders from the listing: a path is never joined from raw input.
        if repo_path not in self._repo_folders():
            raise CourseError(400, "Not a folder of notebooks in the repository.")
        return read_folder(self.notebooks / repo_path)

    def submissions(self, roles: Roles, course: str, lab: str) -> list[dict[str, Any]]:
        _instructor(roles, course)
        return self.store.submissions(course, _lab_name(lab))

    def submission_zip(self, roles: Roles, course: str, lab: str, student: str, sid: str) -> bytes:
        _instructor(roles, course)
        try:
            return self.store.submission_zip(course, _lab_name(lab), student, sid)
        except NotFound:
            raise CourseError(404, "No such submission.") from None

    # --- students ------------------------------------------------------------------

    def hand_in(
        self, user: str, roles: Roles, course: str, lab: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        _student(roles, course)
        try:
            self.store.lab(course, _lab_name(lab))
        except NotFound:
            raise CourseError(404, f"No lab {lab!r} in {course}.") from None
        try:
            files = decode(body.get("files"))
        except BundleError as e:
            raise CourseError(400, str(e)) from None
        usage = hand_in_usage(self.store.course_submissions(course), lab, user)
        with _quota():
            check_hand_in(self.limits, files, usage, course, lab)
        return self.store.submit(course, lab, user, files)

    def my_submissions(self, user: str, roles: Roles, course: str, lab: str) -> list[dict]:
        _role(roles, course)
        return self.store.submissions(course, _lab_name(lab), user)
